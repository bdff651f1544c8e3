package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/tools/txtar"
)

// env returns LoadOptions with a fixed environment and AWS config file.
func env(vars map[string]string, files map[string]string) func(*LoadOptions) {
	return func(o *LoadOptions) {
		o.Getenv = func(k string) string { return vars[k] }
		o.ReadFile = func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
		}
		o.UID = 1000
	}
}

var userEnv = map[string]string{"HOME": "/home/alice"}

// exampleMarker starts the part of the packaged config that is commented out
// as shipped (sources, roles and client rules name a host's own users).
const exampleMarker = "# ---- examples: everything below is commented out as shipped ----\n"

// uncommentedExample is the packaged config with its examples uncommented:
// "# code" lines become code, "## text" lines comments.
func uncommentedExample(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../../packaging/credbroker.hcl")
	if err != nil {
		t.Fatal(err)
	}
	head, tail, ok := strings.Cut(string(src), exampleMarker)
	if !ok {
		t.Fatalf("packaging/credbroker.hcl has no line %q", exampleMarker)
	}
	lines := strings.Split(tail, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "##"):
			lines[i] = l[1:]
		case strings.HasPrefix(l, "# "):
			lines[i] = l[2:]
		case l == "#":
			lines[i] = ""
		}
	}
	return []byte(head + strings.Join(lines, "\n"))
}

func TestExampleFileParses(t *testing.T) {
	shipped, err := Load("../../packaging/credbroker.hcl", env(map[string]string{"HOME": "/home/alice"}, nil))
	if err != nil {
		t.Fatalf("the packaged config does not load:\n%v", err)
	}
	if len(shipped.Roles)+len(shipped.Clients)+len(shipped.Sources) != 0 {
		t.Errorf("the packaged config names roles, rules or sources: it must start on a fresh host")
	}
	cfg, err := Parse(uncommentedExample(t), "credbroker.hcl", env(map[string]string{"HOME": "/home/alice"}, nil))
	if err != nil {
		t.Fatalf("the packaged example does not load:\n%v", err)
	}
	if cfg.Region != "eu-west-1" || cfg.DefaultRole != "readonly" {
		t.Errorf("region %q default_role %q", cfg.Region, cfg.DefaultRole)
	}
	if cfg.Listen.IMDS != netip.MustParseAddrPort(DefaultIMDSAddr) || cfg.Listen.Core.IsValid() {
		t.Errorf("listen = %+v", cfg.Listen)
	}
	if cfg.Upstream.Kind != UpstreamCore || cfg.Upstream.MasterKey.Source != MasterKeyCredential {
		t.Errorf("upstream = %+v", cfg.Upstream)
	}
	deploy := cfg.Role("deploy")
	if deploy == nil || deploy.Duration != time.Hour || !deploy.PerCaller() || !strings.Contains(deploy.Policy, `"s3:*"`) {
		t.Fatalf("deploy = %+v", deploy)
	}
	if got := deploy.RenderedSessionName(Vars{User: "alice"}); got != "credbroker-alice" {
		t.Errorf("session name = %q", got)
	}
	if got := deploy.RenderedTags(Vars{User: "bob"}); !reflect.DeepEqual(got, map[string]string{"team": "platform", "caller": "bob"}) {
		t.Errorf("tags = %v", got)
	}
	if s := cfg.Source("github"); s == nil || s.Provider != ProviderGitHub || s.Audience != "sts.amazonaws.com" {
		t.Errorf("github source = %+v", s)
	}
	if len(cfg.Clients) != 3 || cfg.Clients[0].Users[0] != "alice" || cfg.Clients[0].AllowRoles[0] != "readonly" {
		t.Errorf("clients = %+v", cfg.Clients)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse(nil, "empty.hcl", env(userEnv, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := struct {
		IMDS, Container  netip.AddrPort
		Core, Metrics    bool
		Region, StateDir string
		Backend          Backend
		Scope, FileDir   string
		MasterKey        MasterKeySource
		RequireV2        bool
		HopLimit         int
		Remote           []netip.Prefix
		STSRateLimit     int
	}{
		netip.MustParseAddrPort("127.0.0.1:8911"), netip.MustParseAddrPort("127.0.0.1:8912"),
		false, false, "us-east-1", "/home/alice/.local/state/credbroker",
		BackendAuto, "user", "/home/alice/.local/share/credbroker/keyring",
		MasterKeyKeyring, true, 1,
		[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		600,
	}
	got := want
	got.STSRateLimit = cfg.Upstream.STSRateLimit
	got.IMDS, got.Container = cfg.Listen.IMDS, cfg.Listen.Container
	got.Core, got.Metrics = cfg.Listen.Core.IsValid(), cfg.Listen.Metrics.IsValid()
	got.Region, got.StateDir = cfg.Region, cfg.Upstream.StateDir
	got.Backend, got.Scope, got.FileDir = cfg.Keyring.Backend, cfg.Keyring.KeyctlScope, cfg.Keyring.FileDir
	got.MasterKey, got.RequireV2, got.HopLimit, got.Remote = cfg.Upstream.MasterKey.Source, cfg.IMDS.RequireV2, cfg.IMDS.HopLimit, cfg.IMDS.AllowedRemote
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	// The default master key in the kernel keyring is warned about.
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Summary, "reboot") {
		t.Errorf("warnings = %v", cfg.Warnings)
	}

	// The system service: root, systemd's directories and credentials.
	sys, err := Parse(nil, "", env(map[string]string{"STATE_DIRECTORY": "/var/lib/credbroker", "CREDENTIALS_DIRECTORY": "/run/credentials/credbroker.service", "AWS_REGION": "ap-south-1"}, nil), func(o *LoadOptions) { o.UID = 0 })
	if err != nil {
		t.Fatal(err)
	}
	if sys.Upstream.MasterKey.Source != MasterKeyCredential || sys.Keyring.FileDir != "/var/lib/credbroker/keyring" || sys.Region != "ap-south-1" || len(sys.Warnings) != 0 {
		t.Errorf("system defaults: master key %q, file dir %q, region %q, warnings %v", sys.Upstream.MasterKey.Source, sys.Keyring.FileDir, sys.Region, sys.Warnings)
	}
}

// base is a valid configuration the error cases add to.
const base = `
source "keyring" "alice" {}
role "dev" {
  arn    = "arn:aws:iam::123456789012:role/dev"
  source = "alice"
}
`

// TestErrorsNamePlaceAndFix: each configuration of testdata/errors.txtar is
// refused with an error that names its place and the fix (NAME.want).
func TestErrorsNamePlaceAndFix(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/errors.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(ar.Files) == 0 || len(ar.Files)%2 != 0 {
		t.Fatalf("testdata/errors.txtar holds %d files, want pairs NAME.hcl, NAME.want", len(ar.Files))
	}
	for i := 0; i < len(ar.Files); i += 2 {
		src, want := ar.Files[i], ar.Files[i+1]
		name, ok := strings.CutSuffix(src.Name, ".hcl")
		if !ok || want.Name != name+".want" {
			t.Fatalf("testdata/errors.txtar: %q then %q, want NAME.hcl then NAME.want", src.Name, want.Name)
		}
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse(bytes.TrimSuffix(src.Data, []byte("\n")), "c.hcl", env(userEnv, nil))
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if cfg != nil {
				t.Error("a config came back with the error")
			}
			wants := strings.Split(strings.TrimSuffix(string(want.Data), "\n"), "\n")
			var ce *Error
			if !errors.As(err, &ce) && !strings.HasPrefix(wants[0], "c.hcl") {
				t.Errorf("error %T is not *Error", err)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	awsConfig, err := os.ReadFile("testdata/aws-config")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"/home/alice/.aws/config": string(awsConfig)}
	src := `
source "keyring" "alice" {}
role "prod" { profile = "prod" }
role "prod-short" {
  profile  = "prod"
  duration = "45m"
  source   = "alice"
}
role "web" { profile = "web" }
`
	cfg, err := Parse([]byte(src), "c.hcl", env(userEnv, files))
	if err != nil {
		t.Fatal(err)
	}
	prod := cfg.Role("prod")
	want := []any{"arn:aws:iam::111122223333:role/prod-admin", "alice", "arn:aws:iam::111122223333:mfa/alice", "ext-123", 2 * time.Hour, "alice-prod"}
	got := []any{prod.ARN, prod.Source, prod.MFASerial, prod.ExternalID, prod.Duration, prod.SessionName.String()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prod from profile (-want +got):\n%s", diff)
	}
	if d := cfg.Role("prod-short").Duration; d != 45*time.Minute {
		t.Errorf("the role block's duration should win: %v", d)
	}
	web := cfg.Role("web")
	src2 := cfg.Source(web.Source)
	if src2 == nil || src2.Kind != SourceWebIdentity || src2.TokenFile != "/var/run/secrets/token" || !src2.Implicit {
		t.Errorf("web's source = %+v", src2)
	}

	// AWS_CONFIG_FILE is honoured; errors point at the profile attribute.
	for name, tc := range map[string]struct {
		src, want string
		vars      map[string]string
	}{
		"missing profile":    {`role "r" { profile = "nope" }`, `c.hcl:1:22: Profile not found: /home/alice/.aws/config has no [profile nope]`, userEnv},
		"orphan source":      {`role "r" { profile = "orphan" }`, `c.hcl:1:22: Unknown source: role "r": profile "orphan" has source_profile = "nobody"`, userEnv},
		"no config file":     {`role "r" { profile = "prod" }`, `/elsewhere/config does not exist`, map[string]string{"HOME": "/home/alice", "AWS_CONFIG_FILE": "/elsewhere/config"}},
		"secrets never kept": {`role "r" { profile = "prod" }`, ``, userEnv},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "c.hcl", env(tc.vars, files))
			if tc.want == "" {
				if err == nil || strings.Contains(err.Error(), "never-kept") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAWSConfig(t *testing.T) {
	src, err := os.ReadFile("testdata/aws-config")
	if err != nil {
		t.Fatal(err)
	}
	got := ParseAWSConfig(src)
	want := map[string]map[string]string{
		"default": {},
		"prod": {
			"role_arn": "arn:aws:iam::111122223333:role/prod-admin", "source_profile": "alice",
			"mfa_serial": "arn:aws:iam::111122223333:mfa/alice", "external_id": "ext-123",
			"duration_seconds": "7200", "role_session_name": "alice-prod",
		},
		"web":    {"role_arn": "arn:aws:iam::111122223333:role/web", "web_identity_token_file": "/var/run/secrets/token"},
		"orphan": {"role_arn": "arn:aws:iam::111122223333:role/orphan", "source_profile": "nobody"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}
}

func TestValidateDoesNotMutate(t *testing.T) {
	src, err := os.ReadFile("../../packaging/credbroker.hcl")
	if err != nil {
		t.Fatal(err)
	}
	bad := append(src, []byte("\nclient \"x\" {\n  role = \"nope\"\n}\n")...)
	for _, s := range [][]byte{src, bad} {
		var o LoadOptions
		o.resolve([]func(*LoadOptions){env(userEnv, nil)})
		a, diags := parse(s, "c.hcl", &o)
		b, _ := parse(s, "c.hcl", &o)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		err1, err2 := a.Validate(), a.Validate()
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Errorf("Validate is not repeatable: %v / %v", err1, err2)
		}
		if !reflect.DeepEqual(a, b) {
			t.Error("Validate changed the config")
		}
	}
}

func TestTemplate(t *testing.T) {
	v := Vars{User: "alice", UID: "1000", Host: "box", Role: "dev"}
	for in, want := range map[string]string{
		"":                "",
		"plain":           "plain",
		"{user}":          "alice",
		"x-{user}@{host}": "x-alice@box",
		"{uid}/{role}":    "1000/dev",
		"{{user}}":        "{user}",
		"a}}b{{":          "a}b{",
		"{user}{user}":    "alicealice",
	} {
		tp, err := ParseTemplate(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := tp.Render(v); got != want {
			t.Errorf("%q rendered %q, want %q", in, got, want)
		}
		if tp.String() != in {
			t.Errorf("String() = %q", tp.String())
		}
	}
	for _, bad := range []string{"{", "{user", "}", "{User}", "{ user }"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if !MustTemplate("{host}-{role}").Static() || MustTemplate("x{uid}").Static() {
		t.Error("Static is wrong")
	}
}

func TestSessionNameAndBinding(t *testing.T) {
	r := &Role{Name: "dev", SessionName: MustTemplate("cb-{user}")}
	for user, want := range map[string]string{
		"alice":                 "cb-alice",
		"DOMAIN\\bob smith":     "cb-DOMAIN-bob-smith",
		strings.Repeat("x", 80): "cb-" + strings.Repeat("x", 61),
	} {
		if got := r.RenderedSessionName(Vars{User: user}); got != want {
			t.Errorf("user %q: %q, want %q", user, got, want)
		}
	}
	short := &Role{Name: "dev", SessionName: MustTemplate("{user}")}
	if got := short.RenderedSessionName(Vars{User: "a"}); got != "a-" {
		t.Errorf("padding: %q", got)
	}
	if a, b := r.Binding(Vars{User: "alice", UID: "1"}), r.Binding(Vars{User: "bob", UID: "2"}); a == b {
		t.Error("per-caller role: two callers share a binding")
	}
	shared := &Role{Name: "dev", SessionName: MustTemplate("cb-{host}"), Tags: map[string]Template{"t": MustTemplate("x")}}
	if shared.PerCaller() || shared.Binding(Vars{User: "alice"}) != shared.Binding(Vars{User: "bob"}) {
		t.Error("a caller-independent role must have one binding")
	}
	tagged := &Role{Name: "dev", SessionName: MustTemplate("x"), Tags: map[string]Template{"who": MustTemplate("{user}")}}
	if !tagged.PerCaller() {
		t.Error("a role tagging {user} is per caller")
	}
}

func TestRuntimeDir(t *testing.T) {
	for _, tc := range []struct {
		flag string
		vars map[string]string
		want string
	}{
		{"/x", map[string]string{"CREDBROKER_RUNTIME_DIR": "/y"}, "/x"},
		{"", map[string]string{"CREDBROKER_RUNTIME_DIR": "/y", "XDG_RUNTIME_DIR": "/run/user/1000"}, "/y"},
		{"", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/credbroker"},
		{"", nil, "/run/credbroker"},
	} {
		if got := RuntimeDir(tc.flag, func(k string) string { return tc.vars[k] }); got != tc.want {
			t.Errorf("RuntimeDir(%q, %v) = %q, want %q", tc.flag, tc.vars, got, tc.want)
		}
	}
	if got := (Listen{}).ControlSocketPath("/run/credbroker"); got != "/run/credbroker/control.sock" {
		t.Errorf("control socket = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../packaging/credbroker.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(base))
	f.Add([]byte(`role "r" { profile = "prod" }`))
	f.Add([]byte(`listen { imds = "[::1]:0" }`))
	awsConfig, _ := os.ReadFile("testdata/aws-config")
	opts := env(userEnv, map[string]string{"/home/alice/.aws/config": string(awsConfig)})
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse(src, "f.hcl", opts)
		if err != nil {
			if cfg != nil {
				t.Fatal("config and error")
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("a loaded config fails Validate: %v", err)
		}
		for i := range cfg.Roles {
			r := &cfg.Roles[i]
			if n := r.RenderedSessionName(Vars{User: "u", UID: "1"}); len(n) < 2 || len(n) > 64 || !reSessionChars.MatchString(n) {
				t.Fatalf("role %q renders session name %q", r.Name, n)
			}
		}
	})
}

func FuzzParseAWSConfig(f *testing.F) {
	src, _ := os.ReadFile("testdata/aws-config")
	f.Add(src)
	f.Add([]byte("[profile x]\nrole_arn=\n\t[y]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for name, p := range ParseAWSConfig(src) {
			if name == "" {
				t.Fatal("empty profile name")
			}
			for k := range p {
				found := false
				for _, pk := range ProfileKeys {
					found = found || k == pk
				}
				if !found {
					t.Fatalf("kept key %q", k)
				}
			}
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"credbroker-{user}", "{{x}}", "{uid}@{host}/{role}", "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTemplate(s)
		if err != nil {
			return
		}
		if tp.String() != s {
			t.Fatalf("String() = %q", tp.String())
		}
		// Placeholders never leak into the output with Vars free of braces.
		out := tp.Render(Vars{User: "U", UID: "1", Host: "H", Role: "R"})
		if tp.Static() && out != tp.Render(Vars{User: "V", UID: "2", Host: "H", Role: "R"}) {
			t.Fatalf("static template %q depends on the caller", s)
		}
	})
}

// parseOK parses src as c.hcl for the test user, failing the test on an error.
func parseOK(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), "c.hcl", env(userEnv, nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return cfg
}

func TestProcessScopeWarns(t *testing.T) {
	cfg := parseOK(t, "keyring {\n  keyctl_scope = \"process\"\n}\nupstream \"sts\" {}\n")
	if len(cfg.Warnings) != 1 || !strings.Contains(FormatDiagnostic(cfg.Warnings[0]), "c.hcl:2:18: Keys visible to one process only") {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

// The length limits checked apart from the regexps keep their meaning.
func TestLengthLimits(t *testing.T) {
	arn := func(n int) string { return "arn:aws:iam::123456789012:mfa/" + strings.Repeat("a", n) }
	for _, tc := range []struct {
		name string
		ok   bool
		got  bool
	}{
		{"mfa arn 1", true, validMFASerial(arn(1))},
		{"mfa arn 512", true, validMFASerial(arn(512))},
		{"mfa arn 513", false, validMFASerial(arn(513))},
		{"mfa arn with a space", false, validMFASerial(arn(3) + " x")},
		{"serial 8", false, validMFASerial("GAHT1234")},
		{"serial 9", true, validMFASerial("GAHT12345")},
		{"serial 256", true, validMFASerial(strings.Repeat("9", 256))},
		{"serial 257", false, validMFASerial(strings.Repeat("9", 257))},
		{"serial bad char", false, validMFASerial("GAHT12345!")},
		{"tag key 128 runes", true, validTagKey(strings.Repeat("é", 128))},
		{"tag key 129 runes", false, validTagKey(strings.Repeat("é", 129))},
		{"tag key empty", false, validTagKey("")},
		{"tag key bad char", false, validTagKey("a*b")},
		{"unix name 256", true, validUnixName(strings.Repeat("a", 256))},
		{"unix name 256 and $", true, validUnixName(strings.Repeat("a", 256) + "$")},
		{"unix name 257", false, validUnixName(strings.Repeat("a", 257))},
		{"unix name leading -", false, validUnixName("-a")},
	} {
		if tc.got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.ok)
		}
	}
}

func TestSAMLSource(t *testing.T) {
	src := `source "saml" "corp" {
  idp_url      = "https://idp.example.com/simplesaml/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices"
  provider_arn = "arn:aws:iam::123456789012:saml-provider/corp"
}
role "developers" {
  arn    = "arn:aws:iam::123456789012:role/Developers"
  source = "corp"
}
`
	s := parseOK(t, src).Source("corp")
	want := Source{Kind: SourceSAML, Name: "corp", IdPURL: "https://idp.example.com/simplesaml/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices",
		ProviderARN: "arn:aws:iam::123456789012:saml-provider/corp", Callback: DefaultSAMLCallback}
	if diff := cmp.Diff(want, *s, cmpopts.IgnoreFields(Source{}, "Pos")); diff != "" {
		t.Errorf("saml source (-want +got):\n%s", diff)
	}
}

// TestCoreTLSAndConsoleHosts: with TLS on the core's listener the core may listen
// beyond loopback; the console's extra host names reach the config.
func TestCoreTLSAndConsoleHosts(t *testing.T) {
	cfg := parseOK(t, `listen {
  core               = "192.0.2.10:8913"
  core_tls_cert_file = "~/tls/core.crt"
  core_tls_key_file  = "/etc/credbroker/core.key"
}
upstream "core" { console_hosts = ["iam.example.internal", "IAM-2.example.internal"] }
`)
	l := cfg.Listen
	if l.Core.String() != "192.0.2.10:8913" || l.CoreTLSCertFile != userEnv["HOME"]+"/tls/core.crt" || l.CoreTLSKeyFile != "/etc/credbroker/core.key" {
		t.Errorf("listen = %+v", l)
	}
	if got := cfg.Upstream.ConsoleHosts; len(got) != 2 || got[1] != "IAM-2.example.internal" {
		t.Errorf("console_hosts = %v", got)
	}
}
