package sts_test

import (
	"testing"

	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestGetCallerIdentityUser(t *testing.T) {
	f := newFixture(t)
	creds := f.user("alice", nil)
	out, err := f.client(creds).GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *out.Arn, "arn:aws:iam::123456789012:user/alice"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if *out.Account != testAccount || len(*out.UserId) != 21 || (*out.UserId)[:4] != "AIDA" {
		t.Errorf("Account %s UserId %s", *out.Account, *out.UserId)
	}
	t.Log(f.logs.String())
}
