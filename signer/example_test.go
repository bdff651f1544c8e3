package signer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/signer"
)

// A Verifier in front of an STS handler: the handler reads the body, verifies, and
// answers AWS's error code on failure.
func ExampleVerifier() {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := map[string]string{"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	v := signer.New(signer.KeyLookupFunc(func(_ context.Context, id, token string) (string, error) {
		secret, ok := keys[id]
		if !ok || token != "" {
			return "", signer.InvalidToken()
		}
		return secret, nil
	}), func(o *signer.Options) {
		o.Now = func() time.Time { return now }
		o.Services = []string{"sts", "iam"}
	})

	handler := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading the body failed", http.StatusBadRequest)
			return
		}
		res, err := v.Verify(r.Context(), r, body)
		if err != nil {
			fmt.Println("refused:", signer.CodeOf(err))
			http.Error(w, signer.CodeOf(err), http.StatusForbidden)
			return
		}
		fmt.Println("signed by", res.AccessKeyID, "for", res.Scope.Service, "in", res.Scope.Region)
	}

	// A client signs GetCallerIdentity with aws-sdk-go-v2's signer.
	const form = "Action=GetCallerIdentity&Version=2011-06-15"
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: keys["AKIAIOSFODNN7EXAMPLE"]}
	send := func(secret string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8913/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		c := creds
		c.SecretAccessKey = secret
		sum := sha256.Sum256([]byte(form))
		if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", now); err != nil {
			panic(err)
		}
		handler(httptest.NewRecorder(), req)
	}
	send(creds.SecretAccessKey)
	send("not the secret")
	// Output:
	// signed by AKIAIOSFODNN7EXAMPLE for sts in us-east-1
	// refused: SignatureDoesNotMatch
}
