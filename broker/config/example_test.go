package config_test

import (
	"fmt"

	"github.com/credbroker/credbroker/broker/config"
)

func ExampleParse() {
	src := `
source "keyring" "alice" {}

role "deploy" {
  arn      = "arn:aws:iam::123456789012:role/deploy"
  source   = "alice"
  duration = "2h"
}

client "ops" {
  users = ["alice"]
  role  = "deploy"
}
`
	noEnv := func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } }
	cfg, err := config.Parse([]byte(src), "credbroker.hcl", noEnv)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := cfg.Role("deploy")
	fmt.Println(r.ARN, r.Duration, r.RenderedSessionName(config.Vars{Host: "build-7"}))

	// A mistake is reported with its place and the fix; nothing is loaded.
	_, err = config.Parse([]byte(src+`default_role = "admin"`), "credbroker.hcl", noEnv)
	fmt.Println(err)
	// Output:
	// arn:aws:iam::123456789012:role/deploy 2h0m0s credbroker-build-7
	// credbroker.hcl:14:16: Unknown role: default_role = "admin" names no role. Define role "admin" or use one of: deploy.
}
