package signer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/signer"
)

type botoCase struct {
	Name    string            `json:"-"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	AKID    string            `json:"akid"`
	Secret  string            `json:"secret"`
	Token   string            `json:"token,omitempty"`
	Service string            `json:"service"`
	Region  string            `json:"region"`
	Presign bool              `json:"presign"`
	Expires int               `json:"expires"`
	Time    string            `json:"time"`
}

type botoSigned struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// TestBotocoreSignedRequestsVerify: requests signed by botocore (the AWS CLI's and
// boto3's signer) verify. botocore differs from the SDK for Go where AWS's rules leave
// room: it normalizes the path, folds every kind of white space in header values, and
// signs with the Date header when a request has one.
func TestBotocoreSignedRequestsVerify(t *testing.T) {
	if err := exec.Command("python3", "-c", "import botocore").Run(); err != nil {
		t.Skipf("python3 with botocore not available: %v", err)
	}
	base := botoCase{
		AKID: testKey.AccessKeyID, Secret: testKey.SecretAccessKey, Token: testKey.SessionToken,
		Service: "sts", Region: "us-east-1", Expires: 900, Time: "20240101T000000Z",
	}
	var cases []botoCase
	add := func(name string, edit func(*botoCase)) {
		c := base
		c.Name = name
		edit(&c)
		cases = append(cases, c)
	}
	add("STS form POST", func(c *botoCase) {
		c.Method, c.URL, c.Body = "POST", "http://127.0.0.1:8913/", stsBody
		c.Headers = map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	})
	add("long-term key, no token", func(c *botoCase) {
		c.Method, c.URL, c.Body, c.Token, c.Service = "POST", "http://127.0.0.1:8913/", "Action=ListUsers&Version=2010-05-08", "", "iam"
		c.AKID = "AKIAQNZGKIQY56JQ7WML"
	})
	// botocore sorts the query as written, without re-encoding it; it writes canonical
	// URLs itself, so only a hand-made URL such as ?a=%7E tells the two apart.
	add("dot segments and tabs", func(c *botoCase) {
		c.Method, c.URL = "GET", "http://127.0.0.1:8913/a/./b/../c//d/?b=x%20y&a=~&a=1"
		c.Headers = map[string]string{"X-Custom": "a\t\tb  c", "X-Other": " padded\tvalue "}
	})
	add("Date header", func(c *botoCase) {
		c.Method, c.URL = "GET", "http://127.0.0.1:8913/?Action=GetCallerIdentity&Version=2011-06-15"
		c.Headers = map[string]string{"Date": "replaced by botocore"}
	})
	add("presigned GET", func(c *botoCase) {
		c.Method, c.URL, c.Presign = "GET", "http://127.0.0.1:8913/x/../?Action=GetCallerIdentity&Version=2011-06-15", true
	})
	add("presigned POST (botocore moves the form into the query)", func(c *botoCase) {
		c.Method, c.URL, c.Body, c.Presign = "POST", "http://127.0.0.1:8913/", stsBody, true
		c.Headers = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	})

	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "testdata/botocore/sign.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore signer: %v\n%s", err, stderr.String())
	}
	var signed []botoSigned
	if err := json.Unmarshal(out, &signed); err != nil || len(signed) != len(cases) {
		t.Fatalf("botocore signer output (%v): %s", err, out)
	}
	now, _ := time.Parse("20060102T150405Z", base.Time)
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			s := signed[i]
			req, err := http.NewRequest(s.Method, s.URL, strings.NewReader(s.Body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range s.Headers {
				req.Header.Set(k, v)
			}
			r, body := toServer(t, req)
			creds := testKey
			creds.AccessKeyID, creds.SessionToken = c.AKID, c.Token
			res, err := signer.New(staticLookup(creds), at(now)).Verify(context.Background(), r, body)
			if err != nil {
				t.Fatalf("botocore-signed request does not verify: %v\n%s %s\n%v\n%s", err, s.Method, s.URL, s.Headers, debugOf(err))
			}
			if res.Presigned != c.Presign || res.Scope.Service != c.Service || res.AccessKeyID != c.AKID {
				t.Errorf("result %+v", res)
			}
			// And it is the signature that made it pass: one more query parameter fails.
			sep := "?"
			if r.URL.RawQuery != "" {
				sep = "&"
			}
			r.URL.RawQuery = strings.TrimPrefix(r.URL.RawQuery+"&extra=1", "&")
			r.RequestURI += sep + "extra=1"
			if _, err := signer.New(staticLookup(creds), at(now)).Verify(context.Background(), r, body); err == nil {
				t.Error("verified with a parameter added to the query")
			}
		})
	}
}
