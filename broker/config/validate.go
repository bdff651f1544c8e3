package config

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

var (
	reName            = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	reKeyName         = regexp.MustCompile(`^[A-Za-z0-9._@+=-]{1,64}$`)
	reSAMLProviderARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:saml-provider/[\w.-]{1,128}$`)
	reRoleARN         = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)
	rePolicyARN       = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy/[\x21-\x7e]+$`)
	// Long bounded repetitions ({1,512}) make Go's regexp compiler unroll
	// its program: reTagKey alone cost 5 MB and 4 ms at the start of every
	// command (credential-process included). Those lengths are checked
	// apart (validMFASerial, validTagKey, validUnixName).
	reMFASerialARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:mfa/([\w+=,.@/-]+)$`)
	reMFASerialHW  = regexp.MustCompile(`^[\w+=/:,.@-]+$`)
	reExternalID   = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	reSessionChars = regexp.MustCompile(`^[\w+=,.@-]*$`)
	reTagKey       = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	reAccountID    = regexp.MustCompile(`^\d{12}$`)
	reHostName     = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	reRegion       = regexp.MustCompile(`^[a-z]{2,}(?:-[a-z0-9]+)+$`)
	reEnvName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	reUnixName     = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._@-]*\$?$`)
)

var keyctlScopes = []string{"user", "session", "process", "thread"}

var backends = []Backend{BackendAuto, BackendKeyctl, BackendSecretService, BackendPass, BackendFile, BackendSystemdCredentials}

// Validate reports every problem of c: each with its place in the file and
// the fix. It never changes c. It returns nil or an *Error.
func (c *Config) Validate() error {
	v := validator{c: c}
	v.listen()
	v.imds()
	v.upstream()
	v.keyring()
	v.sources()
	v.roles()
	v.clients()
	if c.DefaultRole != "" && c.Role(c.DefaultRole) == nil {
		v.errorf(c.Pos.Of("default_role"), "Unknown role", "default_role = %q names no role. Define role %q or use one of: %s.", c.DefaultRole, c.DefaultRole, v.roleNames())
	}
	if c.Region == "" || !reRegion.MatchString(c.Region) {
		v.errorf(c.Pos.Of("region"), "Invalid region", "region = %q is not an AWS region name such as \"eu-west-1\".", c.Region)
	}
	if len(v.diags) == 0 {
		return nil
	}
	return &Error{Diags: v.diags}
}

type validator struct {
	c     *Config
	diags hcl.Diagnostics
	seen  map[string]bool // "block-type/name" of every named block checked so far
}

func (v *validator) errorf(rng *hcl.Range, summary, detail string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: rng,
	})
}

// once reports the error when a block of this type and name was seen before:
// the HCL decoder accepts two blocks with the same labels, the broker cannot.
func (v *validator) once(block, name string, rng *hcl.Range, summary, detail string, args ...any) {
	key := block + "/" + name
	if v.seen[key] {
		v.errorf(rng, summary, detail, args...)
	}
	if v.seen == nil {
		v.seen = map[string]bool{}
	}
	v.seen[key] = true
}

func (v *validator) roleNames() string {
	names := make([]string, 0, len(v.c.Roles))
	for _, r := range v.c.Roles {
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		return "(none defined yet)"
	}
	return strings.Join(names, ", ")
}

func (v *validator) sourceNames() string {
	names := make([]string, 0, len(v.c.Sources))
	for _, s := range v.c.Sources {
		if !s.Implicit {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "(none defined yet)"
	}
	return strings.Join(names, ", ")
}

// localAddr reports whether a may be listened on: loopback, link-local
// (169.254.169.254, 169.254.170.2) or AWS's IPv6 IMDS/container addresses.
func localAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a == netip.MustParseAddr("fd00:ec2::254") || a == netip.MustParseAddr("fd00:ec2::23")
}

func (v *validator) listen() {
	l := &v.c.Listen
	seen := map[netip.AddrPort]string{}
	for _, x := range []struct {
		name string
		ap   netip.AddrPort
	}{{"imds", l.IMDS}, {"container", l.Container}, {"core", l.Core}, {"metrics", l.Metrics}} {
		if !x.ap.IsValid() {
			continue
		}
		ok := localAddr(x.ap.Addr())
		if x.name == "metrics" || x.name == "core" {
			ok = x.ap.Addr().Unmap().IsLoopback()
		}
		if x.name == "core" && l.CoreTLSCertFile != "" {
			ok = true // other hosts reach the core over TLS only
		}
		if !ok {
			v.errorf(l.Pos.Of(x.name), "Listener not local", "%s = %q: credbroker serves local processes only, so it listens on loopback (or, for imds and container, the link-local addresses 169.254.169.254 and 169.254.170.2). Use 127.0.0.1 or [::1].", x.name, x.ap)
		}
		if x.ap.Port() != 0 {
			if other, dup := seen[x.ap]; dup {
				v.errorf(l.Pos.Of(x.name), "Address in use twice", "%s and %s both listen on %s; give each its own port.", other, x.name, x.ap)
			}
			seen[x.ap] = x.name
		}
	}
	if !l.IMDS.IsValid() && !l.Container.IsValid() {
		v.errorf(&l.Pos.Block, "No endpoint", "both imds and container are off: no process could get credentials. Turn one on, e.g. imds = %q.", DefaultIMDSAddr)
	}
	if (l.CoreTLSCertFile == "") != (l.CoreTLSKeyFile == "") {
		v.errorf(&l.Pos.Block, "Half a TLS setting", "core_tls_cert_file and core_tls_key_file go together: give both (PEM files) or neither.")
	}
	for _, f := range [][2]string{{"core_tls_cert_file", l.CoreTLSCertFile}, {"core_tls_key_file", l.CoreTLSKeyFile}} {
		if f[1] != "" && !path.IsAbs(f[1]) {
			v.errorf(l.Pos.Of(f[0]), "Relative path", "%s = %q must be an absolute path.", f[0], f[1])
		}
	}
	if l.ControlSocket != "" && !path.IsAbs(l.ControlSocket) {
		v.errorf(l.Pos.Of("control_socket"), "Relative path", "control_socket = %q must be an absolute path (or left out for <runtime-dir>/control.sock).", l.ControlSocket)
	}
}

func (v *validator) imds() {
	m := &v.c.IMDS
	if m.HopLimit < 1 || m.HopLimit > 64 {
		v.errorf(m.Pos.Of("hop_limit"), "Invalid hop limit", "hop_limit = %d: use 1 (the token stays on this host, as on EC2) up to 64.", m.HopLimit)
	}
	if len(m.AllowedRemote) == 0 && m.Pos.Has("allowed_remote") {
		v.errorf(m.Pos.Of("allowed_remote"), "No caller allowed", "allowed_remote is empty, so every caller would be refused; leave it out for loopback only.")
	}
}

func (v *validator) misplaced(pos Position, where string, names ...string) {
	for _, n := range names {
		if pos.Has(n) {
			v.errorf(pos.Of(n), "Setting not for this block", "%s does not belong in %s; remove it.", n, where)
		}
	}
}

// coreStore checks store: a postgres:// URL without a password, or an absolute path.
func (v *validator) coreStore(u *Upstream) {
	switch {
	case u.Store == "":
	case strings.HasPrefix(u.Store, "postgres://") || strings.HasPrefix(u.Store, "postgresql://"):
		if pu, err := url.Parse(u.Store); err != nil {
			v.errorf(u.Pos.Of("store"), "Invalid store URL", "store is not a URL: use postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full.")
		} else if _, has := pu.User.Password(); has || pu.Query().Has("password") {
			v.errorf(u.Pos.Of("store"), "Password in the store URL", "store carries a password: remove it from the URL and give it in store_password_file (or the systemd credential core-store-password).")
		}
	case !path.IsAbs(u.Store):
		v.errorf(u.Pos.Of("store"), "Relative path", "store = %q must be an absolute path to a bbolt file or a postgres:// URL.", u.Store)
	}
	if u.StorePasswordFile != "" && !path.IsAbs(u.StorePasswordFile) {
		v.errorf(u.Pos.Of("store_password_file"), "Relative path", "store_password_file = %q must be an absolute path.", u.StorePasswordFile)
	}
}

func (v *validator) upstream() {
	u := &v.c.Upstream
	switch u.Kind {
	case UpstreamCore:
		where := `upstream "core"`
		v.misplaced(u.Pos, where, "endpoint", "region")
		if !reAccountID.MatchString(u.AccountID) {
			v.errorf(u.Pos.Of("account_id"), "Invalid account id", "account_id = %q: an AWS account id is 12 digits, such as %q.", u.AccountID, DefaultAccountID)
		}
		if !path.IsAbs(u.StateDir) {
			v.errorf(u.Pos.Of("state_dir"), "Relative path", "state_dir = %q must be an absolute path.", u.StateDir)
		}
		v.masterKey(&u.MasterKey)
		v.coreStore(u)
		for _, h := range u.ConsoleHosts {
			if !reHostName.MatchString(h) {
				v.errorf(u.Pos.Of("console_hosts"), "Invalid host name", "console_hosts entry %q is not a host name such as \"iam.example.internal\" (no scheme, port or path; addresses and localhost are always accepted).", h)
			}
		}
		if u.STSRateLimit < 0 {
			v.errorf(u.Pos.Of("sts_rate_limit"), "Invalid rate", "sts_rate_limit = %d: give the AssumeRole calls per second this core admits (AWS's default is %d), or 0 for no limit.", u.STSRateLimit, DefaultSTSRateLimit)
		}
	case UpstreamSTS:
		v.misplaced(u.Pos, `upstream "sts"`, "state_dir", "account_id", "store", "store_password_file", "console_hosts", "sts_rate_limit")
		if u.Endpoint != "" {
			e, err := url.Parse(u.Endpoint)
			switch {
			case err != nil || e.Host == "" || (e.Scheme != "https" && e.Scheme != "http"):
				v.errorf(u.Pos.Of("endpoint"), "Invalid endpoint", "endpoint = %q is not an https URL such as \"https://sts.eu-west-1.amazonaws.com\".", u.Endpoint)
			case e.Scheme == "http" && !loopbackHost(e.Hostname()):
				v.errorf(u.Pos.Of("endpoint"), "Plain-text endpoint", "endpoint = %q would send signed requests and receive credentials in clear; use https (http is accepted for loopback only).", u.Endpoint)
			}
		}
		if !reRegion.MatchString(u.Region) {
			v.errorf(u.Pos.Of("region"), "Invalid region", "region = %q is not an AWS region name such as \"eu-west-1\".", u.Region)
		}
	default:
		v.errorf(&u.Pos.Block, "Unknown upstream", "upstream %q: write upstream \"core\" (the embedded IAM/STS core) or upstream \"sts\" (a remote STS such as AWS's).", u.Kind)
	}
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

func (v *validator) masterKey(m *MasterKey) {
	switch m.Source {
	case MasterKeyKeyring, MasterKeyCredential:
		if !reKeyName.MatchString(m.Name) {
			v.errorf(m.Pos.Of("name"), "Invalid name", "master_key name = %q: use letters, digits and ._@+=- (at most 64).", m.Name)
		}
		v.misplaced(m.Pos, fmt.Sprintf("master_key with source %q", m.Source), "path")
	case MasterKeyFile:
		if !path.IsAbs(m.Path) {
			v.errorf(m.Pos.Of("path"), "Master key file", "source \"file\" needs path = an absolute path to a file of 32 bytes (raw, hex or base64), mode 0600 or stricter.")
		}
		v.misplaced(m.Pos, `master_key with source "file"`, "name")
	default:
		v.errorf(m.Pos.Of("source"), "Unknown master key source", "source = %q: use \"keyring\", \"file\" or \"credential\" (a systemd credential).", m.Source)
	}
}

func (v *validator) keyring() {
	k := &v.c.Keyring
	if !slices.Contains(backends, k.Backend) {
		v.errorf(k.Pos.Of("backend"), "Unknown keyring backend", "backend = %q: use one of auto, keyctl, secret-service, pass, file, systemd-credentials.", k.Backend)
	}
	if !slices.Contains(keyctlScopes, k.KeyctlScope) {
		v.errorf(k.Pos.Of("keyctl_scope"), "Unknown keyctl scope", "keyctl_scope = %q: use user (survives logouts, not reboots), session, process or thread.", k.KeyctlScope)
	}
	if !reKeyName.MatchString(k.Name) {
		v.errorf(k.Pos.Of("name"), "Invalid keyring name", "name = %q: use letters, digits and ._@+=- (at most 64).", k.Name)
	}
	if k.PassphraseFile != "" && !path.IsAbs(k.PassphraseFile) {
		v.errorf(k.Pos.Of("passphrase_file"), "Relative path", "passphrase_file = %q must be an absolute path.", k.PassphraseFile)
	}
	if k.PassphraseFile != "" && k.PassphraseCredential != "" {
		v.errorf(k.Pos.Of("passphrase_credential"), "Two passphrases", "set passphrase_file or passphrase_credential, not both.")
	}
	if k.PassphraseCredential != "" && !reKeyName.MatchString(k.PassphraseCredential) {
		v.errorf(k.Pos.Of("passphrase_credential"), "Invalid credential name", "passphrase_credential = %q is not a systemd credential name.", k.PassphraseCredential)
	}
}

func (v *validator) sources() {
	for i := range v.c.Sources {
		s := &v.c.Sources[i]
		where := fmt.Sprintf("source %q %q", s.Kind, s.Name)
		v.once("source", s.Name, &s.Pos.Block, "Duplicate source", "a source named %q is defined twice; names are shared by all source kinds.", s.Name)
		if !s.Implicit && !reName.MatchString(s.Name) {
			v.errorf(&s.Pos.Block, "Invalid source name", "%s: use letters, digits and +=,.@_- (at most 64).", where)
		}
		switch s.Kind {
		case SourceKeyring:
			v.misplaced(s.Pos, where, "provider", "token_file", "audience", "token_env", "role", "idp_url", "provider_arn", "callback", "sp_initiated")
			if !reKeyName.MatchString(s.Key) {
				v.errorf(s.Pos.Of("key"), "Invalid key name", "key = %q: keyring names use letters, digits and ._@+=- (at most 64), as in `credbroker keys add NAME`.", s.Key)
			}
		case SourceWebIdentity:
			v.misplaced(s.Pos, where, "key", "role", "idp_url", "provider_arn", "callback", "sp_initiated")
			v.webIdentity(s, where)
		case SourceRole:
			v.misplaced(s.Pos, where, "key", "provider", "token_file", "audience", "token_env", "idp_url", "provider_arn", "callback", "sp_initiated")
			if s.Role == "" {
				v.errorf(&s.Pos.Block, "Missing role", "%s needs role = the name of the role whose session assumes the next one.", where)
			} else if v.c.Role(s.Role) == nil {
				v.errorf(s.Pos.Of("role"), "Unknown role", "%s: role = %q names no role. Use one of: %s.", where, s.Role, v.roleNames())
			}
		case SourceX509:
			v.misplaced(s.Pos, where, "key", "provider", "token_file", "audience", "token_env", "role", "idp_url", "provider_arn", "callback", "sp_initiated")
			v.x509(s, where)
		case SourceSAML:
			v.misplaced(s.Pos, where, "key", "provider", "token_file", "audience", "token_env", "role",
				"certificate", "intermediates", "private_key", "pkcs11_module", "pkcs11_token", "pkcs11_key", "pin_file", "tpm_device", "tpm_key_handle", "trust_anchor_arn", "profile_arn", "endpoint", "region")
			v.saml(s, where)
		default:
			v.errorf(&s.Pos.Block, "Unknown source kind", "source %q: the kinds are \"keyring\" (an IAM user's key in the keyring), \"web_identity\" (an OIDC token), \"role\" (another role's session), \"x509\" (a certificate, through Roles Anywhere) and \"saml\" (a person's SAML sign-in).", s.Kind)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// persistentHandle reports whether h is a TPM persistent handle in hex, "0x81000100".
func persistentHandle(h string) bool {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(h), "0x"), 16, 32)
	return err == nil && strings.HasPrefix(strings.ToLower(h), "0x") && n>>24 == 0x81
}

// x509 checks an x509 source: a certificate, one key (a file or a PKCS #11 token),
// the trust anchor and profile.
func (v *validator) x509(s *Source, where string) {
	abs := func(name, val, what string) {
		if val != "" && !path.IsAbs(val) {
			v.errorf(s.Pos.Of(name), "Relative path", "%s: %s = %q must be an absolute path (%s).", where, name, val, what)
		}
	}
	if s.Certificate == "" {
		v.errorf(&s.Pos.Block, "Missing certificate", "%s needs certificate = the absolute path of its PEM certificate.", where)
	}
	abs("certificate", s.Certificate, "the PEM certificate")
	abs("intermediates", s.Intermediates, "PEM intermediate CA certificates")
	abs("private_key", s.PrivateKey, "the PEM private key, readable by the daemon only")
	abs("pin_file", s.PINFile, "the token's user PIN")
	token := s.PKCS11Module != "" || s.PKCS11Token != "" || s.PKCS11Key != "" || s.PINFile != ""
	tpm := s.TPMDevice != "" || s.TPMKeyHandle != ""
	const keys = "private_key (a key file), pkcs11_module, pkcs11_token, pkcs11_key and pin_file (a key in a PKCS #11 token), or tpm_device and tpm_key_handle (a key in a TPM 2.0)"
	switch n := btoi(s.PrivateKey != "") + btoi(token) + btoi(tpm); {
	case n > 1:
		v.errorf(&s.Pos.Block, "Two keys", "%s: give one key: %s.", where, keys)
	case n == 0:
		v.errorf(&s.Pos.Block, "Missing key", "%s needs a key: %s.", where, keys)
	case token && (s.PKCS11Module == "" || s.PKCS11Token == "" || s.PKCS11Key == "" || s.PINFile == ""):
		v.errorf(&s.Pos.Block, "Incomplete token", "%s: a key in a token needs pkcs11_module (the module's .so), pkcs11_token (the token label), pkcs11_key (the key label) and pin_file.", where)
	case tpm && (s.TPMDevice == "" || !persistentHandle(s.TPMKeyHandle)):
		v.errorf(&s.Pos.Block, "Incomplete TPM key", "%s: a key in a TPM needs tpm_device (/dev/tpmrm0) and tpm_key_handle, its persistent handle (\"0x81000100\": 0x81000000 to 0x81FFFFFF).", where)
	}
	abs("pkcs11_module", s.PKCS11Module, "the token's PKCS #11 library")
	abs("tpm_device", s.TPMDevice, "the TPM's resource manager, /dev/tpmrm0")
	for _, a := range []struct{ name, val, kind string }{{"trust_anchor_arn", s.TrustAnchorARN, "trust-anchor"}, {"profile_arn", s.ProfileARN, "profile"}} {
		parts := strings.SplitN(a.val, ":", 6)
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "rolesanywhere" || !strings.HasPrefix(parts[5], a.kind+"/") {
			v.errorf(s.Pos.Of(a.name), "Roles Anywhere ARN", "%s needs %s = arn:aws:rolesanywhere:REGION:ACCOUNT:%s/ID.", where, a.name, a.kind)
		}
	}
	if s.Region == "" {
		v.errorf(s.Pos.Of("region"), "Missing region", "%s: region is the trust anchor's region (read from trust_anchor_arn when it is set).", where)
	}
}

// saml checks a saml source: an http(s) IdP URL, a SAML provider ARN, and a
// loopback callback (a local user is an attacker: the assertion must not
// reach another host, nor a listener on all interfaces).
func (v *validator) saml(s *Source, where string) {
	if u, err := url.Parse(s.IdPURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.errorf(s.Pos.Of("idp_url"), "IdP URL", "%s needs idp_url = the IdP's sign-in URL for AWS (such as https://adfs.example.com/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices).", where)
	}
	if !reSAMLProviderARN.MatchString(s.ProviderARN) {
		v.errorf(s.Pos.Of("provider_arn"), "SAML provider ARN", "%s needs provider_arn = the IAM SAML provider, such as \"arn:aws:iam::123456789012:saml-provider/corp\".", where)
	}
	host, port, err := net.SplitHostPort(s.Callback)
	ip, perr := netip.ParseAddr(host)
	if err != nil || perr != nil || !ip.IsLoopback() || port == "" || port == "0" {
		v.errorf(s.Pos.Of("callback"), "SAML callback", "%s: callback = %q; use a loopback HOST:PORT with a fixed port (the IdP lists http://HOST:PORT/saml), such as %q.", where, s.Callback, DefaultSAMLCallback)
	}
}

func (v *validator) webIdentity(s *Source, where string) {
	switch s.Provider {
	case ProviderFile:
		v.misplaced(s.Pos, where+` with provider "file"`, "audience", "token_env")
		if !path.IsAbs(s.TokenFile) {
			v.errorf(s.Pos.Of("token_file"), "Token file", "%s needs token_file = the absolute path of the OIDC token (re-read at every refresh).", where)
		}
	case ProviderGitHub:
		v.misplaced(s.Pos, where+` with provider "github"`, "token_file", "token_env")
		if s.Audience == "" {
			v.errorf(s.Pos.Of("audience"), "Empty audience", "%s: audience is the aud claim asked of GitHub, such as \"sts.amazonaws.com\".", where)
		}
	case ProviderGitLab:
		v.misplaced(s.Pos, where+` with provider "gitlab"`, "token_file", "audience")
		if !reEnvName.MatchString(s.TokenEnv) {
			v.errorf(s.Pos.Of("token_env"), "Token variable", "%s needs token_env = the variable the job's id_tokens defines (e.g. id_tokens: { AWS_ID_TOKEN: { aud: sts.amazonaws.com } } → token_env = \"AWS_ID_TOKEN\").", where)
		}
	default:
		v.errorf(s.Pos.Of("provider"), "Unknown provider", "%s: provider = %q; use \"file\", \"github\" or \"gitlab\".", where, s.Provider)
	}
}

func (v *validator) roles() {
	for i := range v.c.Roles {
		r := &v.c.Roles[i]
		where := fmt.Sprintf("role %q", r.Name)
		v.once("role", r.Name, &r.Pos.Block, "Duplicate role", "%s is defined twice.", where)
		if !reName.MatchString(r.Name) {
			v.errorf(&r.Pos.Block, "Invalid role name", "%s: the name IMDS lists uses letters, digits and +=,.@_- (at most 64).", where)
		}
		if r.ARN == "" {
			v.errorf(&r.Pos.Block, "Missing ARN", "%s needs arn = \"arn:aws:iam::ACCOUNT:role/NAME\" (or a profile with role_arn).", where)
		} else if !reRoleARN.MatchString(r.ARN) {
			v.errorf(r.Pos.Of("arn"), "Invalid role ARN", "%s: %q is not a role ARN such as \"arn:aws:iam::123456789012:role/deploy\".", where, r.ARN)
		}
		src := v.roleSource(r, where)
		v.duration(r, where, src)
		v.sessionFields(r, where)
		if src != nil && src.Kind == SourceWebIdentity {
			for _, n := range []string{"external_id", "mfa_serial", "tags", "transitive_tag_keys", "source_identity"} {
				if r.Pos.Has(n) {
					v.errorf(r.Pos.Of(n), "Not available with web identity", "%s: AssumeRoleWithWebIdentity takes no %s (tags and source identity come from the token's claims); remove it.", where, n)
				}
			}
		}
		if src != nil && src.Kind == SourceSAML {
			for _, n := range []string{"external_id", "mfa_serial", "tags", "transitive_tag_keys", "source_identity", "session_name"} {
				if r.Pos.Has(n) {
					v.errorf(r.Pos.Of(n), "Not available with SAML", "%s: AssumeRoleWithSAML takes no %s (the session name, tags and source identity come from the assertion's attributes); remove it.", where, n)
				}
			}
		}
	}
	v.chainCycles()
}

func (v *validator) roleSource(r *Role, where string) *Source {
	if r.Source == "" {
		v.errorf(&r.Pos.Block, "Missing source", "%s needs source = the name of a source block (an IAM user's key, a web identity or another role). Defined: %s.", where, v.sourceNames())
		return nil
	}
	s := v.c.Source(r.Source)
	if s == nil {
		at := r.Pos.Of("source")
		if !r.Pos.Has("source") && r.Profile != "" {
			at = r.Pos.Of("profile")
			v.errorf(at, "Unknown source", "%s: profile %q has source_profile = %q, which must name a credbroker source (the broker never reads ~/.aws/credentials). Add source \"keyring\" %q {} or set source. Defined: %s.", where, r.Profile, r.Source, r.Source, v.sourceNames())
			return nil
		}
		v.errorf(at, "Unknown source", "%s: source = %q names no source. Add source \"keyring\" %q {} (for a key stored with `credbroker keys add %s`), or use one of: %s.", where, r.Source, r.Source, r.Source, v.sourceNames())
	}
	return s
}

func (v *validator) duration(r *Role, where string, src *Source) {
	at := r.Pos.Of("duration")
	if !r.Pos.Has("duration") && r.Pos.Has("profile") {
		at = r.Pos.Of("profile")
	}
	switch {
	case r.Duration < MinDuration:
		v.errorf(at, "Duration too short", "%s: duration %s is under %s; credentials handed out keep at least 15 minutes, so shorter sessions would be refreshed constantly.", where, r.Duration, MinDuration)
	case r.Duration > MaxDuration:
		v.errorf(at, "Duration too long", "%s: duration %s is over AWS's %s ceiling.", where, r.Duration, MaxDuration)
	case src != nil && src.Kind == SourceRole && r.Duration > MaxChainedDuration:
		v.errorf(at, "Duration too long for chaining", "%s is assumed with another role's session (role chaining), which AWS caps at 1h; set duration = \"1h\" or less.", where)
	}
}

func (v *validator) sessionFields(r *Role, where string) {
	if lit := r.SessionName.Literal(); !reSessionChars.MatchString(lit) {
		v.errorf(r.Pos.Of("session_name"), "Invalid session name", "%s: session_name %q has characters STS refuses; use letters, digits, +=,.@_- and the placeholders {user}, {uid}, {host}, {role}.", where, r.SessionName.String())
	}
	if r.ExternalID != "" && (!reExternalID.MatchString(r.ExternalID) || len(r.ExternalID) < 2 || len(r.ExternalID) > 1224) {
		v.errorf(r.Pos.Of("external_id"), "Invalid external id", "%s: external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-.", where)
	}
	if r.MFASerial != "" && !validMFASerial(r.MFASerial) {
		v.errorf(r.Pos.Of("mfa_serial"), "Invalid MFA serial", "%s: mfa_serial %q is neither an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME) nor a hardware serial.", where, r.MFASerial)
	}
	if r.Policy != "" {
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.Policy), &doc); err != nil {
			v.errorf(r.Pos.Of("policy"), "Invalid session policy", "%s: policy is not a JSON object (%v); write it with jsonencode({ Version = \"2012-10-17\", Statement = [...] }).", where, err)
		} else if compact, _ := json.Marshal(doc); len(compact) > 2048 {
			v.errorf(r.Pos.Of("policy"), "Session policy too long", "%s: the policy is %d characters without spaces; STS accepts at most 2048.", where, len(compact))
		}
	}
	if len(r.PolicyARNs) > 10 {
		v.errorf(r.Pos.Of("policy_arns"), "Too many policy ARNs", "%s: STS accepts at most 10 managed session policies.", where)
	}
	for _, a := range r.PolicyARNs {
		if !rePolicyARN.MatchString(a) {
			v.errorf(r.Pos.Of("policy_arns"), "Invalid policy ARN", "%s: %q is not a managed policy ARN such as \"arn:aws:iam::aws:policy/ReadOnlyAccess\".", where, a)
		}
	}
	if len(r.Tags) > 50 {
		v.errorf(r.Pos.Of("tags"), "Too many tags", "%s: STS accepts at most 50 session tags.", where)
	}
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case !validTagKey(k):
			v.errorf(r.Pos.Of("tags"), "Invalid tag key", "%s: tag key %q must be 1 to 128 letters, digits, spaces or _.:/=+-@.", where, k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.errorf(r.Pos.Of("tags"), "Reserved tag key", "%s: tag key %q: the aws: prefix is reserved by AWS.", where, k)
		}
		if lit := r.Tags[k].Literal(); !reTagValue.MatchString(lit) || len(lit) > 256 {
			v.errorf(r.Pos.Of("tags"), "Invalid tag value", "%s: tag %q's value must be at most 256 letters, digits, spaces or _.:/=+-@.", where, k)
		}
	}
	for _, k := range r.TransitiveTagKeys {
		found := false
		for tk := range r.Tags {
			found = found || strings.EqualFold(tk, k)
		}
		if !found {
			v.errorf(r.Pos.Of("transitive_tag_keys"), "Unknown tag key", "%s: transitive tag key %q is not one of the role's tags.", where, k)
		}
	}
	if lit := r.SourceIdentity.Literal(); !reSessionChars.MatchString(lit) {
		v.errorf(r.Pos.Of("source_identity"), "Invalid source identity", "%s: source_identity uses letters, digits, +=,.@_- and the placeholders.", where)
	}
}

// chainCycles reports roles whose chain of role sources loops back.
func (v *validator) chainCycles() {
	reported := map[string]bool{}
	for i := range v.c.Roles {
		start := &v.c.Roles[i]
		visited := map[string]bool{}
		r := start
		for r != nil {
			if visited[r.Name] {
				if !reported[start.Name] && r.Name == start.Name {
					reported[start.Name] = true
					v.errorf(start.Pos.Of("source"), "Role chain loops", "role %q is, through role sources, assumed with its own session; break the chain with a keyring or web_identity source.", start.Name)
				}
				break
			}
			visited[r.Name] = true
			s := v.c.Source(r.Source)
			if s == nil || s.Kind != SourceRole {
				break
			}
			r = v.c.Role(s.Role)
		}
	}
}

func (v *validator) clients() {
	for i := range v.c.Clients {
		c := &v.c.Clients[i]
		where := fmt.Sprintf("client %q", c.Name)
		v.once("client", c.Name, &c.Pos.Block, "Duplicate client rule", "%s is defined twice.", where)
		if len(c.UIDs)+len(c.Users)+len(c.GIDs)+len(c.Groups)+len(c.Units)+len(c.Exes) == 0 {
			v.errorf(&c.Pos.Block, "Rule matches nothing", "%s has no criterion (uids, users, gids, groups, units, exes); to give every caller a role, set default_role instead.", where)
		}
		if v.c.Role(c.Role) == nil {
			v.errorf(c.Pos.Of("role"), "Unknown role", "%s: role = %q names no role. Use one of: %s.", where, c.Role, v.roleNames())
		}
		for _, r := range c.AllowRoles {
			if v.c.Role(r) == nil {
				v.errorf(c.Pos.Of("allow_roles"), "Unknown role", "%s: allow_roles has %q, which names no role. Use one of: %s.", where, r, v.roleNames())
			}
		}
		for _, u := range c.Users {
			if !validUnixName(u) {
				v.errorf(c.Pos.Of("users"), "Invalid user name", "%s: %q is not a Unix user name.", where, u)
			}
		}
		for _, g := range c.Groups {
			if !validUnixName(g) {
				v.errorf(c.Pos.Of("groups"), "Invalid group name", "%s: %q is not a Unix group name.", where, g)
			}
		}
		for _, p := range c.Units {
			if _, err := path.Match(p, ""); err != nil || p == "" || strings.Contains(p, "/") {
				v.errorf(c.Pos.Of("units"), "Invalid unit pattern", "%s: %q is not a unit name or pattern such as \"ci-runner.service\" or \"ci-*.service\".", where, p)
			}
		}
		for _, p := range c.Exes {
			if _, err := path.Match(p, ""); err != nil || !path.IsAbs(p) {
				v.errorf(c.Pos.Of("exes"), "Invalid executable", "%s: %q must be an absolute path or pattern, such as \"/usr/bin/terraform\" or \"/opt/app/bin/*\" (as /proc/PID/exe shows it: symlinks resolved).", where, p)
			}
		}
	}
}

// warnings are problems that let the broker run but deserve a log line.
func warnings(c *Config) hcl.Diagnostics {
	var w hcl.Diagnostics
	warn := func(rng *hcl.Range, summary, detail string) {
		w = append(w, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: rng})
	}
	k := &c.Keyring
	if c.Upstream.Kind == UpstreamCore && c.Upstream.MasterKey.Source == MasterKeyKeyring &&
		(k.Backend == BackendKeyctl || k.Backend == BackendAuto) {
		warn(&c.Upstream.Pos.Block, "Master key may not survive a reboot",
			"the embedded core's master key is kept in the keyring, and the kernel keyring (keyctl, the default on a host without a desktop session) is emptied at every reboot: the core's state would then be unreadable. Use master_key { source = \"credential\" } (systemd LoadCredentialEncrypted=) or source = \"file\", or a persistent keyring backend.")
	}
	if (k.Backend == BackendKeyctl || k.Backend == BackendAuto) && (k.KeyctlScope == "process" || k.KeyctlScope == "thread") {
		warn(k.Pos.Of("keyctl_scope"), "Keys visible to one process only",
			fmt.Sprintf("keyctl_scope = %q: keys stored there vanish when the process exits, so `credbroker keys add` cannot hand them to the daemon; and these kernel keyrings belong to a thread's credentials, which the Go runtime's threads do not reliably share. Use \"user\" (or \"session\").", k.KeyctlScope))
	}
	if k.Backend == BackendFile && k.PassphraseFile == "" && k.PassphraseCredential == "" {
		warn(&k.Pos.Block, "Passphrase needs a prompt",
			"the file backend's passphrase is asked on a terminal, which a daemon does not have; set passphrase_file or passphrase_credential for the service.")
	}
	used := map[string]bool{}
	for _, r := range c.Roles {
		used[r.Source] = true
	}
	for _, s := range c.Sources {
		if !used[s.Name] && !s.Implicit {
			rng := s.Pos.Block
			warn(&rng, "Unused source", fmt.Sprintf("source %q is not the source of any role.", s.Name))
		}
	}
	return w
}

// validMFASerial: an MFA device ARN (name of 1 to 512 characters) or a
// hardware serial of 9 to 256.
func validMFASerial(s string) bool {
	if m := reMFASerialARN.FindStringSubmatch(s); m != nil && len(m[1]) <= 512 {
		return true
	}
	return len(s) >= 9 && len(s) <= 256 && reMFASerialHW.MatchString(s)
}

// validTagKey: 1 to 128 letters, digits, spaces or _.:/=+-@.
func validTagKey(k string) bool {
	return utf8.RuneCountInString(k) <= 128 && reTagKey.MatchString(k)
}

// validUnixName: a user or group name of at most 256 characters (and an
// optional trailing $).
func validUnixName(s string) bool {
	return len(strings.TrimSuffix(s, "$")) <= 256 && reUnixName.MatchString(s)
}
