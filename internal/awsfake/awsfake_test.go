package awsfake_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/internal/awserr"
	"github.com/credbroker/credbroker/internal/awsfake"
)

const (
	keyID  = "AKIAALICE0000EXAMPLE"
	secret = "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func config(url string, creds aws.Credentials) aws.Config {
	return aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(url), Retryer: func() aws.Retryer { return aws.NopRetryer{} },
		Credentials: credentials.StaticCredentialsProvider{Value: creds},
	}
}

// The SDK's STS client is answered when it signs with the key's secret, and
// refused with AWS's codes otherwise; issued session keys work only with their
// token and until they expire.
func TestSTSVerifiesSignatures(t *testing.T) {
	fake := awsfake.New()
	fake.AddUser("alice", keyID, secret)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	alice := sts.NewFromConfig(config(srv.URL, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}))

	id, err := alice.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/alice" {
		t.Fatalf("GetCallerIdentity: %v, %v", id, err)
	}
	out, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	if arn, ok := fake.Issued(aws.ToString(out.Credentials.AccessKeyId)); !ok || arn != "arn:aws:sts::123456789012:assumed-role/deploy/s1" {
		t.Errorf("Issued = %q, %v", arn, ok)
	}
	session := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	cases := map[string]struct {
		creds aws.Credentials
		code  string
	}{
		"session key":           {session, ""},
		"wrong secret":          {aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret + "x"}, "SignatureDoesNotMatch"},
		"unknown key":           {aws.Credentials{AccessKeyID: "AKIANOBODY0000000000", SecretAccessKey: secret}, "InvalidClientTokenId"},
		"session key, no token": {aws.Credentials{AccessKeyID: session.AccessKeyID, SecretAccessKey: session.SecretAccessKey}, "InvalidClientTokenId"},
	}
	for name, c := range cases {
		_, err := sts.NewFromConfig(config(srv.URL, c.creds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if got := awserr.Code(err); got != c.code {
			t.Errorf("%s: code %q (%v), want %q", name, got, err, c.code)
		}
	}
	fake.SetNow(func() time.Time { return time.Now().Add(2 * time.Hour) })
	_, err = sts.NewFromConfig(config(srv.URL, session)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if awserr.Code(err) != "ExpiredToken" {
		t.Errorf("expired session key: %v, want ExpiredToken", err)
	}
	if n := fake.Calls("AssumeRole"); n != 1 {
		t.Errorf("Calls(AssumeRole) = %d, want 1", n)
	}
}

// IAM's key actions, as key rotation uses them, with the quota of two keys,
// a new key's delay and injected failures.
func TestIAMAccessKeys(t *testing.T) {
	fake := awsfake.New()
	fake.AddUser("alice", keyID, secret)
	fake.SetNewKeyDelay(1)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	alice := iam.NewFromConfig(config(srv.URL, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}))

	created, err := alice.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	newID, newSecret := aws.ToString(created.AccessKey.AccessKeyId), aws.ToString(created.AccessKey.SecretAccessKey)
	if fake.Secret(newID) != newSecret || len(fake.Keys("alice")) != 2 {
		t.Fatalf("after CreateAccessKey: keys %v", fake.Keys("alice"))
	}
	if _, err := alice.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{}); awserr.Code(err) != "LimitExceeded" {
		t.Errorf("third key: %v, want LimitExceeded", err)
	}
	fresh := iam.NewFromConfig(config(srv.URL, aws.Credentials{AccessKeyID: newID, SecretAccessKey: newSecret}))
	if _, err := fresh.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); awserr.Code(err) != "InvalidClientTokenId" {
		t.Errorf("new key at once: %v, want InvalidClientTokenId", err)
	}
	list, err := fresh.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil || len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("ListAccessKeys: %v, %v", list, err)
	}
	fake.FailAction("DeleteAccessKey", "AccessDenied")
	if _, err := fresh.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(keyID)}); awserr.Code(err) != "AccessDenied" {
		t.Errorf("injected failure: %v", err)
	}
	fake.FailAction("DeleteAccessKey", "")
	if _, err := fresh.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(keyID)}); awserr.Code(err) != "NoSuchEntity" {
		t.Errorf("second delete: %v, want NoSuchEntity", err)
	}
	if k := fake.Keys("alice"); len(k) != 1 || k[0] != newID {
		t.Errorf("keys %v, want [%s]", k, newID)
	}
}
