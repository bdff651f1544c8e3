package iamapi_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/store"
)

// Serve the IAM API on a core and manage its account with the Go SDK, as root.
func Example() {
	ctx := context.Background()
	st, err := store.OpenMemory(ctx, "123456789012")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	core, err := sts.New(ctx, st)
	if err != nil {
		log.Fatal(err)
	}
	defer core.Close()
	if _, err := iamapi.Register(core); err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(core.Handler())
	defer srv.Close()

	// The account's root key, as `credbroker core init` makes it.
	var root account.AccessKey
	if err := st.Update(ctx, func(tx *store.Tx) error {
		root, err = tx.CreateAccessKey(account.RootUserName)
		return err
	}); err != nil {
		log.Fatal(err)
	}

	client := iam.New(iam.Options{
		BaseEndpoint: aws.String(srv.URL), // AWS_ENDPOINT_URL_IAM, for the CLI
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(root.ID, root.Secret, ""),
	})
	out, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("admin")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(out.User.Arn))
	_, err = client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("admin")})
	fmt.Println(err != nil)
	// Output:
	// arn:aws:iam::123456789012:user/admin
	// true
}
