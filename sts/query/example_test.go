package query_test

import (
	"fmt"
	"log"
	"os"

	"github.com/credbroker/credbroker/sts/query"
)

// Decoding and validating an AssumeRole request as STS does.
func ExampleValidate() {
	raw, err := os.ReadFile("../model_sts.json.gz")
	if err != nil {
		log.Fatal(err)
	}
	model, err := query.LoadModel(raw)
	if err != nil {
		log.Fatal(err)
	}
	form, err := query.ParseForm("", []byte("Action=AssumeRole&Version=2011-06-15&RoleSessionName=x"+
		"&Tags.member.1.Key=team&Tags.member.1.Value=blue"))
	if err != nil {
		log.Fatal(err)
	}
	p := query.NewParams(form)
	fmt.Println(p.List("Tags")[0].String("Value"))

	op, _ := model.Operation("AssumeRole")
	fmt.Println(query.Validate(op.Input, p))
	// Output:
	// blue
	// ValidationError: 2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2
}
