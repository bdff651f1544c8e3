package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// LoadOptions are the outside facts a configuration is resolved against.
type LoadOptions struct {
	// Getenv reads the environment (HOME, AWS_CONFIG_FILE, AWS_REGION,
	// STATE_DIRECTORY, CREDENTIALS_DIRECTORY, XDG_*). Default os.Getenv.
	Getenv func(string) string
	// ReadFile reads the shared AWS config file. Default os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// UID is the effective uid the daemon runs as (it picks system or
	// user defaults). Default os.Geteuid().
	UID int
}

func (o *LoadOptions) resolve(optFns []func(*LoadOptions)) {
	o.Getenv, o.ReadFile, o.UID = os.Getenv, os.ReadFile, os.Geteuid()
	for _, fn := range optFns {
		fn(o)
	}
}

// Load reads, resolves and validates the file at path. On any error the
// result is nil and the error is an *Error naming each problem's place and
// fix; warnings of a valid file are in Config.Warnings.
func Load(path string, optFns ...func(*LoadOptions)) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(src, path, optFns...)
}

// Parse is Load for a file already read: src is its content and filename
// the name errors cite.
func Parse(src []byte, filename string, optFns ...func(*LoadOptions)) (*Config, error) {
	var o LoadOptions
	o.resolve(optFns)
	cfg, diags := parse(src, filename, &o)
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Default returns the configuration used when there is no file: the
// embedded core, default addresses, no roles.
func Default(optFns ...func(*LoadOptions)) *Config {
	var o LoadOptions
	o.resolve(optFns)
	cfg, diags := parse(nil, "", &o)
	if diags.HasErrors() {
		// The empty file resolves with defaults only; failing here is a bug.
		panic(diags.Error())
	}
	return cfg
}

// raw* are the shapes gohcl decodes; resolve turns them into Config.
type rawFile struct {
	Region        *string        `hcl:"region,optional"`
	AWSConfigFile *string        `hcl:"aws_config_file,optional"`
	DefaultRole   *string        `hcl:"default_role,optional"`
	Listen        *rawListen     `hcl:"listen,block"`
	IMDS          *rawIMDS       `hcl:"imds,block"`
	Upstream      []*rawUpstream `hcl:"upstream,block"`
	Keyring       *rawKeyring    `hcl:"keyring,block"`
	Sources       []*rawSource   `hcl:"source,block"`
	Roles         []*rawRole     `hcl:"role,block"`
	Clients       []*rawClient   `hcl:"client,block"`
	Body          hcl.Body       `hcl:",body"`
}

type rawListen struct {
	IMDS          *string   `hcl:"imds,optional"`
	Container     *string   `hcl:"container,optional"`
	Core          *string   `hcl:"core,optional"`
	Metrics       *string   `hcl:"metrics,optional"`
	CoreTLSCert   *string   `hcl:"core_tls_cert_file,optional"`
	CoreTLSKey    *string   `hcl:"core_tls_key_file,optional"`
	ControlSocket *string   `hcl:"control_socket,optional"`
	Body          hcl.Body  `hcl:",body"`
	DefRange      hcl.Range `hcl:",def_range"`
}

type rawIMDS struct {
	RequireV2     *bool     `hcl:"require_v2,optional"`
	HopLimit      *int      `hcl:"hop_limit,optional"`
	AllowedRemote []string  `hcl:"allowed_remote,optional"`
	Body          hcl.Body  `hcl:",body"`
	DefRange      hcl.Range `hcl:",def_range"`
}

type rawUpstream struct {
	Kind      string        `hcl:"kind,label"`
	StateDir  *string       `hcl:"state_dir,optional"`
	AccountID *string       `hcl:"account_id,optional"`
	MasterKey *rawMasterKey `hcl:"master_key,block"`
	Store     *string       `hcl:"store,optional"`
	StorePW   *string       `hcl:"store_password_file,optional"`
	Hosts     []string      `hcl:"console_hosts,optional"`
	STSRate   *int          `hcl:"sts_rate_limit,optional"`
	Endpoint  *string       `hcl:"endpoint,optional"`
	Region    *string       `hcl:"region,optional"`
	Body      hcl.Body      `hcl:",body"`
	DefRange  hcl.Range     `hcl:",def_range"`
}

type rawMasterKey struct {
	Source   string    `hcl:"source"`
	Name     *string   `hcl:"name,optional"`
	Path     *string   `hcl:"path,optional"`
	Body     hcl.Body  `hcl:",body"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawKeyring struct {
	Backend              *string   `hcl:"backend,optional"`
	Name                 *string   `hcl:"name,optional"`
	Collection           *string   `hcl:"collection,optional"`
	KeyctlScope          *string   `hcl:"keyctl_scope,optional"`
	PassDir              *string   `hcl:"pass_dir,optional"`
	PassCmd              *string   `hcl:"pass_cmd,optional"`
	FileDir              *string   `hcl:"file_dir,optional"`
	PassphraseFile       *string   `hcl:"passphrase_file,optional"`
	PassphraseCredential *string   `hcl:"passphrase_credential,optional"`
	Body                 hcl.Body  `hcl:",body"`
	DefRange             hcl.Range `hcl:",def_range"`
}

type rawSource struct {
	Kind      string  `hcl:"kind,label"`
	Name      string  `hcl:"name,label"`
	Key       *string `hcl:"key,optional"`
	Provider  *string `hcl:"provider,optional"`
	TokenFile *string `hcl:"token_file,optional"`
	Audience  *string `hcl:"audience,optional"`
	TokenEnv  *string `hcl:"token_env,optional"`
	Role      *string `hcl:"role,optional"`

	Certificate    *string `hcl:"certificate,optional"`
	Intermediates  *string `hcl:"intermediates,optional"`
	PrivateKey     *string `hcl:"private_key,optional"`
	PKCS11Module   *string `hcl:"pkcs11_module,optional"`
	PKCS11Token    *string `hcl:"pkcs11_token,optional"`
	PKCS11Key      *string `hcl:"pkcs11_key,optional"`
	PINFile        *string `hcl:"pin_file,optional"`
	TPMDevice      *string `hcl:"tpm_device,optional"`
	TPMKeyHandle   *string `hcl:"tpm_key_handle,optional"`
	TrustAnchorARN *string `hcl:"trust_anchor_arn,optional"`
	ProfileARN     *string `hcl:"profile_arn,optional"`
	Endpoint       *string `hcl:"endpoint,optional"`
	Region         *string `hcl:"region,optional"`

	// saml
	IdPURL      *string `hcl:"idp_url,optional"`
	ProviderARN *string `hcl:"provider_arn,optional"`
	Callback    *string `hcl:"callback,optional"`
	SPInitiated *bool   `hcl:"sp_initiated,optional"`

	Body     hcl.Body  `hcl:",body"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawRole struct {
	Name              string            `hcl:"name,label"`
	ARN               *string           `hcl:"arn,optional"`
	Source            *string           `hcl:"source,optional"`
	Duration          *string           `hcl:"duration,optional"`
	SessionName       *string           `hcl:"session_name,optional"`
	ExternalID        *string           `hcl:"external_id,optional"`
	MFASerial         *string           `hcl:"mfa_serial,optional"`
	Policy            *string           `hcl:"policy,optional"`
	PolicyARNs        []string          `hcl:"policy_arns,optional"`
	Tags              map[string]string `hcl:"tags,optional"`
	TransitiveTagKeys []string          `hcl:"transitive_tag_keys,optional"`
	SourceIdentity    *string           `hcl:"source_identity,optional"`
	Profile           *string           `hcl:"profile,optional"`
	Body              hcl.Body          `hcl:",body"`
	DefRange          hcl.Range         `hcl:",def_range"`
}

type rawClient struct {
	Name       string    `hcl:"name,label"`
	UIDs       []int64   `hcl:"uids,optional"`
	Users      []string  `hcl:"users,optional"`
	GIDs       []int64   `hcl:"gids,optional"`
	Groups     []string  `hcl:"groups,optional"`
	Units      []string  `hcl:"units,optional"`
	Exes       []string  `hcl:"exes,optional"`
	Role       string    `hcl:"role"`
	AllowRoles []string  `hcl:"allow_roles,optional"`
	Body       hcl.Body  `hcl:",body"`
	DefRange   hcl.Range `hcl:",def_range"`
}

// evalContext offers jsonencode() (for session policies) and nothing that
// reaches outside the file.
var evalFuncs = map[string]function.Function{
	"jsonencode": stdlib.JSONEncodeFunc,
}

// parse decodes src and resolves defaults; it reports syntax, type and
// resolution problems (bad durations, addresses, profiles) but leaves
// semantic checks to Validate.
func parse(src []byte, filename string, o *LoadOptions) (*Config, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	var raw rawFile
	ctx := &hcl.EvalContext{Functions: evalFuncs}
	if d := gohcl.DecodeBody(file.Body, ctx, &raw); d.HasErrors() {
		return nil, append(diags, d...)
	}
	r := resolver{o: o, filename: filename}
	cfg := r.resolve(&raw)
	return cfg, append(diags, r.diags...)
}

type resolver struct {
	o        *LoadOptions
	filename string
	diags    hcl.Diagnostics
	profiles map[string]map[string]string // nil until the AWS config is read
	profErr  error
}

func (r *resolver) errorf(rng *hcl.Range, summary, detail string, args ...any) {
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: rng,
	})
}

// positionOf records the ranges of a block's attributes.
func positionOf(body hcl.Body, def hcl.Range) Position {
	p := Position{Block: def}
	if sb, ok := body.(*hclsyntax.Body); ok {
		p.Attrs = make(map[string]hcl.Range, len(sb.Attributes))
		for name, a := range sb.Attributes {
			p.Attrs[name] = a.Expr.Range()
		}
		if def == (hcl.Range{}) {
			p.Block = sb.SrcRange
		}
	}
	return p
}

func str(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func (r *resolver) resolve(raw *rawFile) *Config {
	env := r.o.Getenv
	cfg := &Config{Filename: r.filename}
	cfg.Pos = positionOf(raw.Body, hcl.Range{Filename: r.filename, Start: hcl.InitialPos, End: hcl.InitialPos})

	region := env("AWS_REGION")
	if region == "" {
		region = env("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = DefaultRegion
	}
	cfg.Region = str(raw.Region, region)
	cfg.DefaultRole = str(raw.DefaultRole, "")
	cfg.AWSConfigFile = expandHome(str(raw.AWSConfigFile, ""), env)
	if cfg.AWSConfigFile == "" {
		cfg.AWSConfigFile = env("AWS_CONFIG_FILE")
	}
	if cfg.AWSConfigFile == "" {
		if home := env("HOME"); home != "" {
			cfg.AWSConfigFile = filepath.Join(home, ".aws", "config")
		}
	}

	cfg.Listen = r.listen(raw.Listen)
	cfg.IMDS = r.imds(raw.IMDS)
	cfg.Keyring = r.keyring(raw.Keyring)
	cfg.Upstream = r.upstream(raw.Upstream, cfg)
	for _, s := range raw.Sources {
		cfg.Sources = append(cfg.Sources, r.source(s))
	}
	for _, rr := range raw.Roles {
		cfg.Roles = append(cfg.Roles, r.role(rr, cfg))
	}
	for _, c := range raw.Clients {
		cfg.Clients = append(cfg.Clients, r.client(c))
	}
	cfg.Warnings = warnings(cfg)
	return cfg
}

func (r *resolver) addr(p *string, def string, pos Position, name string) netip.AddrPort {
	s := str(p, def)
	if s == "" || s == "off" {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		r.errorf(pos.Of(name), "Invalid listen address", "%s = %q is not IP:PORT (%v). Write an IP literal and a port, such as \"127.0.0.1:8911\" or \"[::1]:8911\"; port 0 picks a free one; \"off\" turns the listener off.", name, s, err)
	}
	return ap
}

func (r *resolver) listen(raw *rawListen) Listen {
	if raw == nil {
		raw = &rawListen{}
	}
	l := Listen{Pos: positionOf(raw.Body, raw.DefRange)}
	l.IMDS = r.addr(raw.IMDS, DefaultIMDSAddr, l.Pos, "imds")
	l.Container = r.addr(raw.Container, DefaultContainerAddr, l.Pos, "container")
	l.Core = r.addr(raw.Core, "", l.Pos, "core")
	l.Metrics = r.addr(raw.Metrics, "", l.Pos, "metrics")
	l.ControlSocket = str(raw.ControlSocket, "")
	l.CoreTLSCertFile = expandHome(str(raw.CoreTLSCert, ""), r.o.Getenv)
	l.CoreTLSKeyFile = expandHome(str(raw.CoreTLSKey, ""), r.o.Getenv)
	return l
}

func (r *resolver) imds(raw *rawIMDS) IMDS {
	if raw == nil {
		raw = &rawIMDS{}
	}
	m := IMDS{Pos: positionOf(raw.Body, raw.DefRange), RequireV2: true, HopLimit: 1}
	if raw.RequireV2 != nil {
		m.RequireV2 = *raw.RequireV2
	}
	if raw.HopLimit != nil {
		m.HopLimit = *raw.HopLimit
	}
	remotes := raw.AllowedRemote
	if remotes == nil {
		remotes = []string{"127.0.0.0/8", "::1/128"}
	}
	for _, s := range remotes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			r.errorf(m.Pos.Of("allowed_remote"), "Invalid network", "allowed_remote entry %q is neither an address nor a CIDR prefix such as \"127.0.0.0/8\".", s)
			continue
		}
		m.AllowedRemote = append(m.AllowedRemote, p.Masked())
	}
	return m
}

func (r *resolver) keyring(raw *rawKeyring) Keyring {
	if raw == nil {
		raw = &rawKeyring{}
	}
	env := r.o.Getenv
	k := Keyring{Pos: positionOf(raw.Body, raw.DefRange)}
	k.Backend = Backend(str(raw.Backend, string(BackendAuto)))
	k.Name = str(raw.Name, DefaultKeyringName)
	k.Collection = str(raw.Collection, "")
	k.KeyctlScope = str(raw.KeyctlScope, "user")
	k.PassDir = expandHome(str(raw.PassDir, ""), env)
	k.PassCmd = str(raw.PassCmd, "pass")
	k.FileDir = expandHome(str(raw.FileDir, ""), env)
	if k.FileDir == "" {
		k.FileDir = defaultDataDir(env, r.o.UID, "keyring")
	}
	k.PassphraseFile = expandHome(str(raw.PassphraseFile, ""), env)
	k.PassphraseCredential = str(raw.PassphraseCredential, "")
	return k
}

func (r *resolver) upstream(raws []*rawUpstream, cfg *Config) Upstream {
	env := r.o.Getenv
	var raw *rawUpstream
	switch len(raws) {
	case 0:
		raw = &rawUpstream{Kind: string(UpstreamCore)}
	case 1:
		raw = raws[0]
	default:
		rng := raws[1].DefRange
		r.errorf(&rng, "Duplicate upstream", "only one upstream block is allowed (the first is at %s); keep either upstream \"core\" or upstream \"sts\".", raws[0].DefRange)
		raw = raws[0]
	}
	u := Upstream{Kind: UpstreamKind(raw.Kind), Pos: positionOf(raw.Body, raw.DefRange)}
	switch u.Kind {
	case UpstreamCore:
		u.StateDir = expandHome(str(raw.StateDir, ""), env)
		if u.StateDir == "" {
			u.StateDir = defaultStateDir(env, r.o.UID)
		}
		u.AccountID = str(raw.AccountID, DefaultAccountID)
		u.MasterKey = r.masterKey(raw.MasterKey)
		u.Store = expandHome(str(raw.Store, ""), env)
		u.StorePasswordFile = expandHome(str(raw.StorePW, ""), env)
		u.ConsoleHosts = raw.Hosts
		u.STSRateLimit = DefaultSTSRateLimit
		if raw.STSRate != nil {
			u.STSRateLimit = *raw.STSRate
		}
	case UpstreamSTS:
		u.Endpoint = str(raw.Endpoint, "")
		u.Region = str(raw.Region, cfg.Region)
	}
	return u
}

func (r *resolver) masterKey(raw *rawMasterKey) MasterKey {
	env := r.o.Getenv
	if raw == nil {
		// A systemd credential when the service has one, else the keyring.
		if env("CREDENTIALS_DIRECTORY") != "" {
			return MasterKey{Source: MasterKeyCredential, Name: DefaultMasterKeyName}
		}
		return MasterKey{Source: MasterKeyKeyring, Name: DefaultMasterKeyName}
	}
	m := MasterKey{Source: MasterKeySource(raw.Source), Pos: positionOf(raw.Body, raw.DefRange)}
	m.Name = str(raw.Name, "")
	if m.Name == "" && m.Source != MasterKeyFile {
		m.Name = DefaultMasterKeyName
	}
	m.Path = expandHome(str(raw.Path, ""), env)
	return m
}

func (r *resolver) source(raw *rawSource) Source {
	s := Source{Kind: SourceKind(raw.Kind), Name: raw.Name, Pos: positionOf(raw.Body, raw.DefRange)}
	s.Key = str(raw.Key, "")
	if s.Kind == SourceKeyring && s.Key == "" {
		s.Key = raw.Name
	}
	s.Provider = str(raw.Provider, "")
	if s.Kind == SourceWebIdentity && s.Provider == "" {
		s.Provider = ProviderFile
	}
	s.TokenFile = expandHome(str(raw.TokenFile, ""), r.o.Getenv)
	s.Audience = str(raw.Audience, "")
	if s.Provider == ProviderGitHub && s.Audience == "" {
		s.Audience = "sts.amazonaws.com"
	}
	s.TokenEnv = str(raw.TokenEnv, "")
	s.Role = str(raw.Role, "")
	home := func(p *string) string { return expandHome(str(p, ""), r.o.Getenv) }
	s.Certificate, s.Intermediates, s.PrivateKey = home(raw.Certificate), home(raw.Intermediates), home(raw.PrivateKey)
	s.PKCS11Module, s.PKCS11Token, s.PKCS11Key = str(raw.PKCS11Module, ""), str(raw.PKCS11Token, ""), str(raw.PKCS11Key, "")
	s.PINFile = home(raw.PINFile)
	s.TPMDevice, s.TPMKeyHandle = str(raw.TPMDevice, ""), str(raw.TPMKeyHandle, "")
	s.TrustAnchorARN, s.ProfileARN = str(raw.TrustAnchorARN, ""), str(raw.ProfileARN, "")
	s.Endpoint, s.Region = str(raw.Endpoint, ""), str(raw.Region, "")
	if s.Kind == SourceX509 && s.Region == "" {
		if parts := strings.SplitN(s.TrustAnchorARN, ":", 6); len(parts) == 6 {
			s.Region = parts[3]
		}
	}
	s.IdPURL = str(raw.IdPURL, "")
	s.ProviderARN = str(raw.ProviderARN, "")
	s.Callback = str(raw.Callback, "")
	s.SPInitiated = raw.SPInitiated != nil && *raw.SPInitiated
	if s.Kind == SourceSAML && s.Callback == "" {
		s.Callback = DefaultSAMLCallback
	}
	return s
}

func (r *resolver) template(p *string, def string, pos Position, name string) Template {
	t, err := ParseTemplate(str(p, def))
	if err != nil {
		r.errorf(pos.Of(name), "Invalid template", "%s: %v.", name, err)
	}
	return t
}

func (r *resolver) role(raw *rawRole, cfg *Config) Role {
	ro := Role{Name: raw.Name, Pos: positionOf(raw.Body, raw.DefRange)}
	ro.Profile = str(raw.Profile, "")
	var prof map[string]string
	if ro.Profile != "" {
		prof = r.profile(ro.Profile, cfg.AWSConfigFile, ro.Pos)
	}
	// A setting of the role block wins over its profile's.
	pick := func(p *string, key string) *string {
		if p != nil {
			return p
		}
		if v, ok := prof[key]; ok {
			return &v
		}
		return nil
	}
	ro.ARN = str(pick(raw.ARN, "role_arn"), "")
	ro.Source = str(raw.Source, "")
	if ro.Source == "" && prof != nil {
		switch {
		case prof["source_profile"] != "":
			// source_profile names a credbroker source (the broker never
			// reads keys from ~/.aws/credentials).
			ro.Source = prof["source_profile"]
		case prof["web_identity_token_file"] != "":
			name := "profile:" + ro.Profile
			if cfg.Source(name) == nil {
				cfg.Sources = append(cfg.Sources, Source{
					Kind: SourceWebIdentity, Name: name, Provider: ProviderFile,
					TokenFile: expandHome(prof["web_identity_token_file"], r.o.Getenv),
					Implicit:  true, Pos: Position{Block: *ro.Pos.Of("profile")},
				})
			}
			ro.Source = name
		}
	}
	ro.Duration = DefaultDuration
	switch {
	case raw.Duration != nil:
		d, err := time.ParseDuration(*raw.Duration)
		if err != nil {
			r.errorf(ro.Pos.Of("duration"), "Invalid duration", "duration = %q: write a Go duration such as \"1h\" or \"90m\".", *raw.Duration)
		}
		ro.Duration = d
	case prof["duration_seconds"] != "":
		var secs int64
		if _, err := fmt.Sscanf(prof["duration_seconds"], "%d", &secs); err != nil || secs <= 0 {
			r.errorf(ro.Pos.Of("profile"), "Invalid duration_seconds", "profile %q has duration_seconds = %q: write a whole number of seconds in %s, or set duration in the role block.", ro.Profile, prof["duration_seconds"], cfg.AWSConfigFile)
		}
		ro.Duration = time.Duration(secs) * time.Second
	}
	ro.SessionName = r.template(pick(raw.SessionName, "role_session_name"), DefaultSessionName, ro.Pos, "session_name")
	ro.ExternalID = str(pick(raw.ExternalID, "external_id"), "")
	ro.MFASerial = str(pick(raw.MFASerial, "mfa_serial"), "")
	ro.Policy = str(raw.Policy, "")
	ro.PolicyARNs = raw.PolicyARNs
	if len(raw.Tags) > 0 {
		ro.Tags = make(map[string]Template, len(raw.Tags))
		for k, v := range raw.Tags {
			vv := v
			ro.Tags[k] = r.template(&vv, "", ro.Pos, "tags")
		}
	}
	ro.TransitiveTagKeys = raw.TransitiveTagKeys
	ro.SourceIdentity = r.template(raw.SourceIdentity, "", ro.Pos, "source_identity")
	return ro
}

func (r *resolver) client(raw *rawClient) Client {
	c := Client{Name: raw.Name, Role: raw.Role, Pos: positionOf(raw.Body, raw.DefRange)}
	ids := func(in []int64, name string) []uint32 {
		var out []uint32
		for _, v := range in {
			if v < 0 || v > 1<<32-2 {
				r.errorf(c.Pos.Of(name), "Invalid id", "%s entry %d is not a Unix id (0 to 4294967294).", name, v)
				continue
			}
			out = append(out, uint32(v))
		}
		return out
	}
	c.UIDs = ids(raw.UIDs, "uids")
	c.GIDs = ids(raw.GIDs, "gids")
	c.Users, c.Groups, c.Units, c.Exes, c.AllowRoles = raw.Users, raw.Groups, raw.Units, raw.Exes, raw.AllowRoles
	return c
}

// profile returns the settings of profile name of the AWS config file.
func (r *resolver) profile(name, path string, pos Position) map[string]string {
	if r.profiles == nil && r.profErr == nil {
		src, err := r.o.ReadFile(path)
		if err != nil {
			r.profErr = err
		} else {
			r.profiles = ParseAWSConfig(src)
		}
	}
	if r.profErr != nil {
		detail := fmt.Sprintf("reading %s: %v. Set aws_config_file (or AWS_CONFIG_FILE) to the file that has [profile %s], or write the settings in the role block.", path, r.profErr, name)
		if errors.Is(r.profErr, fs.ErrNotExist) {
			detail = fmt.Sprintf("%s does not exist. Set aws_config_file (or AWS_CONFIG_FILE) to the file that has [profile %s], or write the settings in the role block.", path, name)
		}
		r.errorf(pos.Of("profile"), "Profile not readable", "%s", detail)
		return nil
	}
	p, ok := r.profiles[name]
	if !ok {
		r.errorf(pos.Of("profile"), "Profile not found", "%s has no [profile %s]. Fix the name or add the section.", path, name)
		return nil
	}
	return p
}

// expandHome expands a leading "~/" with $HOME.
func expandHome(p string, env func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home := env("HOME"); home != "" {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// defaultStateDir is systemd's $STATE_DIRECTORY, else the XDG state dir of
// a user, else /var/lib/credbroker for root.
func defaultStateDir(env func(string) string, uid int) string {
	if d := env("STATE_DIRECTORY"); d != "" {
		return strings.SplitN(d, ":", 2)[0]
	}
	if uid == 0 {
		return "/var/lib/credbroker"
	}
	if d := env("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "credbroker")
	}
	if home := env("HOME"); home != "" {
		return filepath.Join(home, ".local", "state", "credbroker")
	}
	return "/var/lib/credbroker"
}

// defaultDataDir is where the file keyring backend keeps its files.
func defaultDataDir(env func(string) string, uid int, sub string) string {
	if uid == 0 {
		if d := env("STATE_DIRECTORY"); d != "" {
			return filepath.Join(strings.SplitN(d, ":", 2)[0], sub)
		}
		return filepath.Join("/var/lib/credbroker", sub)
	}
	if d := env("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "credbroker", sub)
	}
	if home := env("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "credbroker", sub)
	}
	return filepath.Join("/var/lib/credbroker", sub)
}
