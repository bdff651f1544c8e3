package imds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/credbroker/credbroker/imds"
)

// exampleSource gives every caller one role and holds its credentials, as
// the broker's cache does.
type exampleSource struct{ creds imds.Credentials }

func (s exampleSource) Role(ctx context.Context, c imds.Caller) (imds.RoleInfo, error) {
	return imds.RoleInfo{Name: "dev-admin"}, nil
}

func (s exampleSource) Credentials(ctx context.Context, c imds.Caller, role string) (imds.Credentials, error) {
	if role != "dev-admin" {
		return imds.Credentials{}, imds.ErrNoRole
	}
	return s.creds, nil
}

// Example wires both endpoints as the broker does: listeners it owns, the
// recommended server settings, the hop limit on the IMDS listener, and the
// container token in a 0600 file.
func Example() {
	src := exampleSource{imds.Credentials{
		AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SessionToken: "IQoJb3JpZ2luX2VjEXAMPLE", Expiration: time.Now().Add(time.Hour),
	}}

	// IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT=http://ADDR/
	ec2, err := imds.NewEC2(src, func(o *imds.EC2Options) { o.Instance.Region = "eu-west-1" })
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	imdsSrv := imds.NewServer(ec2, nil)
	go imdsSrv.Serve(imds.HopLimitListener(l, imds.DefaultHopLimit, nil))
	defer imdsSrv.Close()

	// Container endpoint: AWS_CONTAINER_CREDENTIALS_FULL_URI=http://ADDR/v1/credentials
	// and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=the token file.
	tokens := imds.NewTokenSet()
	token, err := imds.NewToken(nil)
	if err != nil {
		log.Fatal(err)
	}
	tokens.Add(token, "")
	dir, _ := os.MkdirTemp("", "credbroker")
	defer os.RemoveAll(dir)
	if err := imds.WriteTokenFile(filepath.Join(dir, "container-token"), token); err != nil {
		log.Fatal(err)
	}
	container, err := imds.NewContainer(src, tokens)
	if err != nil {
		log.Fatal(err)
	}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fullURI := "http://" + cl.Addr().String() + imds.DefaultContainerPath
	if err := imds.CheckContainerURL(fullURI); err != nil {
		log.Fatal(err) // would need TLS
	}
	contSrv := imds.NewServer(container, nil)
	go contSrv.Serve(cl)
	defer contSrv.Close()

	// What an SDK does with IMDSv2: a token, then the role list.
	req, _ := http.NewRequest("PUT", "http://"+l.Addr().String()+imds.TokenPath, nil)
	req.Header.Set(imds.TokenTTLHeader, "21600")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequest("GET", "http://"+l.Addr().String()+"/latest/meta-data/iam/security-credentials/", nil)
	req.Header.Set(imds.TokenHeader, string(tok))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	role, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("IMDS role:", string(role))

	// And with the container endpoint.
	req, _ = http.NewRequest("GET", fullURI, nil)
	req.Header.Set("Authorization", token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var creds struct{ AccessKeyId string }
	json.NewDecoder(resp.Body).Decode(&creds)
	resp.Body.Close()
	fmt.Println("container key:", creds.AccessKeyId)
	// Output:
	// IMDS role: dev-admin
	// container key: ASIAIOSFODNN7EXAMPLE
}
