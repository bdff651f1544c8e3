package main

import (
	"context"
	"errors"
	"io"
	"testing"

	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/hashicorp/go-hclog"
)

// TestDevCore: the core serve --dev builds (README.md, "Try it") authenticates the
// user dev with the key it put in the in-memory keystore, and lets dev
// assume dev-admin, through the Go SDK's own STS client and signer; the core
// throttles AssumeRole at the config's sts_rate_limit.
func TestDevCore(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse([]byte(devConfig), "serve --dev")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream.STSRateLimit != config.DefaultSTSRateLimit {
		t.Errorf("sts_rate_limit of serve --dev = %d, want AWS's %d", cfg.Upstream.STSRateLimit, config.DefaultSTSRateLimit)
	}
	cfg.Upstream.STSRateLimit = 1 // a bucket of 1, refilled at 1/s
	keys := keystore.NewMemory()
	core, err := openDevCore(hclog.NewNullLogger())(ctx, cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	srv := httptest.NewServer(core)
	defer srv.Close()

	key, err := keys.Get(devUser)
	if err != nil || !strings.HasPrefix(key.AccessKeyID, "AKIA") {
		t.Fatalf("dev's key in the keystore: %v %v", key.AccessKeyID, err)
	}
	client := awssts.New(awssts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
	})
	id, err := client.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/dev" {
		t.Fatalf("GetCallerIdentity as dev: %v %v", aws.ToString(id.Arn), err)
	}
	out, err := client.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn:         aws.String(cfg.Role(devRole).ARN),
		RoleSessionName: aws.String("test"),
	})
	if err != nil || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/dev-admin/test" {
		t.Fatalf("AssumeRole dev-admin: %v", err)
	}

	// The AssumeRole took the bucket's one token: another within the second
	// is throttled (the SDK's retries turned off: its retryer would wait for
	// the refill).
	noRetry := awssts.New(client.Options(), func(o *awssts.Options) { o.Retryer = aws.NopRetryer{} })
	var ae smithy.APIError
	_, err = noRetry.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(cfg.Role(devRole).ARN), RoleSessionName: aws.String("test")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" || ae.ErrorMessage() != "Rate exceeded" {
		t.Errorf("a second AssumeRole within the second: %v, want Throttling: Rate exceeded", err)
	}

	// The dev config gives every caller dev-admin, from the embedded core.
	if cfg.DefaultRole != devRole || cfg.Role(devRole) == nil || cfg.Upstream.Kind != config.UpstreamCore || !cfg.Listen.Core.IsValid() {
		t.Errorf("dev config %+v", cfg)
	}
}

// TestCoreConfigureSAML: the embedded core takes its own /saml (on the core
// listener's address) and the saml sources' login callbacks as Recipients, and
// a source added later (a reload) at once; the SP metadata names the /saml.
func TestCoreConfigureSAML(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse([]byte(devConfig), "serve --dev")
	if err != nil {
		t.Fatal(err)
	}
	core, err := openDevCore(hclog.NewNullLogger())(ctx, cfg, keystore.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	ec := core.(embeddedCore)
	withSAML, err := config.Parse([]byte(devConfig+`
source "saml" "corp" {
  idp_url      = "https://idp.example.com/sso"
  provider_arn = "arn:aws:iam::123456789012:saml-provider/corp"
  callback     = "127.0.0.1:8976"
}
`), "reloaded")
	if err != nil {
		t.Fatal(err)
	}
	// With TLS and a console host name (the metadata names the host).
	withTLS := *withSAML
	withTLS.Listen.CoreTLSCertFile, withTLS.Upstream.ConsoleHosts = "/etc/credbroker/core.pem", []string{"core.corp.example"}
	for _, c := range []struct {
		cfg  *config.Config
		addr string
		want []string
	}{
		{cfg, "127.0.0.1:8913", []string{"http://127.0.0.1:8913/saml"}},
		{withSAML, "127.0.0.1:8913", []string{"http://127.0.0.1:8976/saml", "http://127.0.0.1:8913/saml"}},
		{&withTLS, "127.0.0.1:8913", []string{"http://127.0.0.1:8976/saml", "https://core.corp.example:8913/saml", "https://127.0.0.1:8913/saml"}},
		{withSAML, "127.0.0.1:8913", []string{"http://127.0.0.1:8976/saml", "http://127.0.0.1:8913/saml"}},
	} {
		ec.Configure(c.cfg, c.addr)
		if got := ec.core.SAMLACS(); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("accepted Recipients %q, want %q", got, c.want)
		}
	}
	srv := httptest.NewServer(core)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/static/saml-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	md, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(md), `Location="http://127.0.0.1:8913/saml"`) {
		t.Errorf("SP metadata:\n%s", md)
	}
}
