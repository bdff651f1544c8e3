package sts_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/sts"
)

// The core of `credbroker serve --dev`: the demo account in memory, served to an SDK
// client that assumes dev-admin with the user dev's key.
func Example() {
	ctx := context.Background()
	st, dev, err := sts.OpenDev(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	core, err := sts.New(ctx, st) // sts.Options: Logger (audit lines), OIDC, Regions, …
	if err != nil {
		log.Fatal(err)
	}
	defer core.Close()
	srv := httptest.NewServer(core.Handler()) // serve binds 127.0.0.1:8913
	defer srv.Close()

	client := awssts.New(awssts.Options{
		BaseEndpoint: aws.String(srv.URL), // AWS_ENDPOINT_URL_STS for the CLI and boto3
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(dev.AccessKeyID, dev.SecretAccessKey, ""),
	})
	out, err := client.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn:         aws.String(dev.RoleARN),
		RoleSessionName: aws.String("example"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*out.AssumedRoleUser.Arn)
	// Output: arn:aws:sts::123456789012:assumed-role/dev-admin/example
}
