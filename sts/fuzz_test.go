package sts_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// FuzzDispatch drives the whole handler with arbitrary requests, seeded with requests
// signed by the SDK's signer (at the core's fixed time). Whatever comes in, the answer
// is well-formed AWS XML with a request id and a client status, never a 5xx.
func FuzzDispatch(f *testing.F) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := store.OpenMemory(ctx, testAccount, func(o *store.Options) { o.Now = func() time.Time { return at }; o.UsageFlushInterval = -1 })
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	var key account.AccessKey
	err = st.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: "alice"}); err != nil {
			return err
		}
		if err := tx.PutInlinePolicy(account.UserRef("alice"), "p", allowAssumeAll); err != nil {
			return err
		}
		if _, err := tx.CreateRole(account.Role{Name: "app", AssumeRolePolicy: trustAccount}); err != nil {
			return err
		}
		key, err = tx.CreateAccessKey("alice")
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	core, err := sts.New(ctx, st, func(o *sts.Options) { o.Now = func() time.Time { return at } })
	if err != nil {
		f.Fatal(err)
	}
	defer core.Close()
	h := core.Handler()
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
	seed := func(service, body string) {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8913/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", at); err != nil {
			f.Fatal(err)
		}
		var hdr strings.Builder
		for k, v := range req.Header {
			hdr.WriteString(k + ": " + v[0] + "\n")
		}
		f.Add("POST", "", hdr.String(), body)
	}
	seed("sts", "Action=GetCallerIdentity&Version=2011-06-15")
	seed("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp&RoleSessionName=s1&Tags.member.1.Key=k&Tags.member.1.Value=v&TransitiveTagKeys.member.1=k")
	seed("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp&RoleSessionName=s1&Policy=%7B%7D&PolicyArns.member.1.arn=x")
	seed("sts", "Action=GetFederationToken&Version=2011-06-15&Name=fed&DurationSeconds=900")
	seed("sts", "Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fx&TokenCode=123456")
	seed("iam", "Action=ListUsers&Version=2010-05-08")
	seed("sts", "Action=DecodeAuthorizationMessage&Version=2011-06-15&EncodedMessage=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	seed("sts", "Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=a&SigningAlgorithm=ES384&Tags.member.1.Key=k&Tags.member.1.Value=v")
	seed("sts", "Action=AssumeRoot&Version=2011-06-15&TargetPrincipal=111122223333&TaskPolicyArn.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Froot-task%2FS3UnlockBucketPolicy")
	seed("sts", "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp&PrincipalArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2Fp&SAMLAssertion=PHNhbWxwOlJlc3BvbnNlLz4%3D")
	f.Add("GET", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260102%2Fus-east-1%2Fsts%2Faws4_request", "", "")
	f.Add("POST", "", "Content-Type: application/x-www-form-urlencoded\n", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp&RoleSessionName=ab&WebIdentityToken=eyJ.eyJ.sig")

	f.Fuzz(func(t *testing.T, method, query, headers, body string) {
		target := "/"
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(method, "http://127.0.0.1:8913"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:40000"
		sc := bufio.NewScanner(strings.NewReader(headers))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k != "" {
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Header().Get("X-Amzn-Requestid") == "" {
			t.Fatal("no request id")
		}
		var doc struct {
			XMLName xml.Name
			Code    string `xml:"Error>Code"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("status %d, body is not XML: %v\n%s", rec.Code, err, rec.Body)
		}
		switch {
		case rec.Code == 200 && strings.HasSuffix(doc.XMLName.Local, "Response") && doc.XMLName.Local != "ErrorResponse":
		case rec.Code >= 400 && doc.XMLName.Local == "ErrorResponse" && doc.Code != "":
		default:
			t.Fatalf("status %d with %s: %s", rec.Code, doc.XMLName.Local, rec.Body)
		}
		if strings.Contains(rec.Body.String(), key.Secret) {
			t.Fatal("the response holds the user's secret")
		}
	})
}
