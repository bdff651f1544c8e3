package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/internal/testtool"
)

// TestWriteEnv: the export lines survive eval in a POSIX shell, whatever
// the paths hold; lines for what is off are left out.
func TestWriteEnv(t *testing.T) {
	sh := testtool.Path(t, "sh=dash")
	for name, tc := range map[string]struct {
		eps   control.Endpoints
		token string
		want  []string
	}{
		"all": {
			eps: control.Endpoints{IMDS: "127.0.0.1:8911", Container: "[::1]:8912", Core: "127.0.0.1:8913",
				TokenFile: "/run/it's $HOME `here`/container.token", Region: "eu-west-1"},
			token: "cbu1.1000.it's-$HOME",
			want: []string{
				"AWS_CONTAINER_AUTHORIZATION_TOKEN=cbu1.1000.it's-$HOME",
				"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/it's $HOME `here`/container.token",
				"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://[::1]:8912/v1/credentials",
				"AWS_DEFAULT_REGION=eu-west-1",
				"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:8911/",
				"AWS_ENDPOINT_URL_IAM=http://127.0.0.1:8913",
				"AWS_ENDPOINT_URL_ROLESANYWHERE=http://127.0.0.1:8913",
				"AWS_ENDPOINT_URL_STS=http://127.0.0.1:8913",
				"AWS_REGION=eu-west-1",
			},
		},
		"imds only": {
			eps:   control.Endpoints{IMDS: "127.0.0.1:8911", TokenFile: "/run/credbroker/container.token", Region: "us-east-1"},
			token: "cbu1.1000.abcdefabcdefabcdef",
			want:  []string{"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:8911/", "AWS_REGION=us-east-1"},
		},
	} {
		var buf bytes.Buffer
		writeEnv(&buf, tc.eps, tc.token)
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if !strings.HasPrefix(line, "export AWS_") {
				t.Errorf("%s: line %q", name, line)
			}
		}
		cmd := exec.Command(sh, "-c", buf.String()+"\nenv")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nowhere"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, buf.String())
		}
		var got []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "AWS_") {
				got = append(got, l)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: eval sets\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

func TestExecEnv(t *testing.T) {
	in := []string{"PATH=/bin", "AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=s", "AWS_PROFILE=p", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://x/",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=old", "AWS_REGION=ap-south-1", "HOME=/h"}
	got := execEnv(in, "http://127.0.0.1:1/v1/credentials", "/tmp/t/token", "eu-west-1", "deploy")
	want := []string{"PATH=/bin", "AWS_REGION=ap-south-1", "HOME=/h", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:1/v1/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/tmp/t/token", "CREDBROKER_ROLE=deploy"}
	if !slices.Equal(got, want) {
		t.Errorf("execEnv =\n%q\nwant\n%q", got, want)
	}
	got = execEnv([]string{"PATH=/bin"}, "u", "f", "eu-west-1", "r")
	if !slices.Contains(got, "AWS_REGION=eu-west-1") || !slices.Contains(got, "AWS_DEFAULT_REGION=eu-west-1") {
		t.Errorf("no region set: %q", got)
	}
}

func TestWriteStatus(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	st := broker.Status{Upstream: "sts https://sts.eu-west-1.amazonaws.com (AWS)", Started: now.Add(-time.Hour), Roles: []broker.RoleStatus{
		{Role: "admin", Source: "keyring alice (key alice)", Sessions: []broker.SessionStatus{{State: "failed", NeedsHuman: true, Failures: 1,
			LastErrorCode: "MFARequired", LastError: "role admin needs an MFA session: run `credbroker mfa admin`"}}},
		{Role: "deploy", Source: "keyring alice (key alice)", Sessions: []broker.SessionStatus{{State: "below-floor", BelowFloor: true,
			AccessKeyID: "ASIAEXAMPLE", Expires: at(10 * time.Minute), LastRefresh: at(-50 * time.Minute)}}},
		{Role: "mine", Source: "keyring alice (key alice)", PerCaller: true, Sessions: []broker.SessionStatus{}},
	}}
	var buf bytes.Buffer
	writeStatus(&buf, st, now)
	// Columns are separated by two spaces or more.
	cols := regexp.MustCompile(`\s{2,}`)
	var rows []string
	for _, line := range strings.Split(buf.String(), "\n") {
		rows = append(rows, cols.ReplaceAllString(strings.TrimSpace(line), " | "))
	}
	want := []string{
		"upstream: sts https://sts.eu-west-1.amazonaws.com (AWS)",
		"started: | 2025-06-01T11:00:00Z",
		"",
		"ROLE | SOURCE | CALLER | STATE | EXPIRES | LAST REFRESH | FLAGS | LAST ERROR",
		"admin | keyring alice (key alice) | (shared) | failed | - | - | needs-human | MFARequired: role admin needs an MFA session: run `credbroker mfa admin`",
		"deploy | keyring alice (key alice) | (shared) | below-floor | in 10m0s | 50m0s ago | below-floor | -",
		"mine | keyring alice (key alice) | - | per caller, none yet | - | - | - | -",
		"",
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
}

// TestExecArgs: flags between ROLE and -- are exec's; after it, or from
// the first word without it, everything is the command's.
func TestExecArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		runtime string
		err     string
	}{
		{args: []string{"deploy", "--", "aws", "s3", "ls"}, want: []string{"aws", "s3", "ls"}},
		{args: []string{"deploy", "aws", "--debug"}, want: []string{"aws", "--debug"}},
		{args: []string{"deploy", "--runtime-dir", "/tmp/cb", "--", "aws", "--runtime-dir", "x"}, want: []string{"aws", "--runtime-dir", "x"}, runtime: "/tmp/cb"},
		{args: []string{"deploy", "--runtime-dir=/r", "--", "sh", "-c", "-- x"}, want: []string{"sh", "-c", "-- x"}, runtime: "/r"},
		{args: []string{"deploy", "--"}, err: "no command after --"},
		{args: []string{"deploy", "--nope", "--", "true"}, err: "unknown flag: --nope"},
		{args: []string{"deploy", "--runtime-dir", "/r", "stray", "--", "true"}, err: `"stray" before --`},
	} {
		cmd := newExecCmd(&app{})
		got, err := execArgs(cmd, tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("execArgs(%q) = %q, %v; want error %q", tc.args, got, err, tc.err)
			}
			continue
		}
		rd, _ := cmd.Flags().GetString("runtime-dir")
		if err != nil || !slices.Equal(got, tc.want) || rd != tc.runtime {
			t.Errorf("execArgs(%q) = %q (runtime-dir %q), %v; want %q (%q)", tc.args, got, rd, err, tc.want, tc.runtime)
		}
	}
}

func TestWithCore(t *testing.T) {
	got := withCore([]string{"PATH=/bin", "AWS_ENDPOINT_URL_IAM=http://mine"}, "http://127.0.0.1:9")
	want := []string{"PATH=/bin", "AWS_ENDPOINT_URL_IAM=http://mine", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:9"}
	if !slices.Equal(got, want) {
		t.Errorf("withCore = %q, want %q", got, want)
	}
	if got := withCore([]string{"PATH=/bin"}, ""); !slices.Equal(got, []string{"PATH=/bin"}) {
		t.Errorf("withCore without a core = %q", got)
	}
}

// TestUserTokenPath: env's token file goes to a directory of the caller's
// own, 0700, one file per daemon; never into a directory of someone else.
func TestUserTokenPath(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	a, err := userTokenPath("/run/credbroker")
	b, _ := userTokenPath("/tmp/other")
	if err != nil || filepath.Dir(a) != filepath.Join(xdg, "credbroker-env") || a == b {
		t.Fatalf("userTokenPath = %q, %q, %v", a, b, err)
	}
	if fi, err := os.Stat(filepath.Dir(a)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory %v %v", fi, err)
	}
	// XDG_RUNTIME_DIR not a directory: the cache directory instead.
	cache := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(xdg, "missing"))
	t.Setenv("XDG_CACHE_HOME", cache)
	if c, err := userTokenPath("/run/credbroker"); err != nil || filepath.Dir(c) != filepath.Join(cache, "credbroker-env") {
		t.Errorf("without XDG_RUNTIME_DIR: %q %v", c, err)
	}
	// A symlink in the way (planted by another user in a shared HOME) is refused.
	os.RemoveAll(filepath.Join(cache, "credbroker-env"))
	os.Symlink(t.TempDir(), filepath.Join(cache, "credbroker-env"))
	if c, err := userTokenPath("/run/credbroker"); err == nil {
		t.Errorf("a symlinked directory was used: %q", c)
	}
}
