package config

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Default addresses and limits (README.md, "The endpoints" and "Configuration").
const (
	DefaultIMDSAddr      = "127.0.0.1:8911"
	DefaultContainerAddr = "127.0.0.1:8912"
	DefaultCoreAddr      = "127.0.0.1:8913"
	DefaultRegion        = "us-east-1"
	DefaultAccountID     = "123456789012"
	DefaultKeyringName   = "credbroker"
	DefaultMasterKeyName = "credbroker-master-key"
	// DefaultSTSRateLimit is AWS STS's default request quota per account and
	// region (requests per second), the embedded core's default throttle.
	DefaultSTSRateLimit = 600
	// DefaultSessionName names no caller, so a role's session is shared and
	// can be fetched at start-up; "credbroker-{user}" makes one per caller.
	DefaultSessionName = "credbroker-{host}"
	DefaultDuration    = time.Hour

	// MinDuration is the shortest role session the broker asks for: a
	// credential handed out keeps at least 15 minutes, so a shorter session
	// would be refreshed almost as soon as it arrived.
	MinDuration = 30 * time.Minute
	// MaxDuration is AWS's ceiling for a role's MaxSessionDuration.
	MaxDuration = 12 * time.Hour
	// MaxChainedDuration is AWS's ceiling for a session assumed with
	// another role's session (role chaining).
	MaxChainedDuration = time.Hour
)

// Config is a parsed, resolved configuration. Load returns it only after
// Validate accepted it; a Config must not be modified once in use (a reload
// builds a new one).
type Config struct {
	// Filename is the file the configuration came from ("" for defaults).
	Filename string
	// Region is the AWS region announced to clients (AWS_REGION) and used
	// for a remote STS when its block names none.
	Region string
	// AWSConfigFile is the shared config file roles' profiles are read from.
	AWSConfigFile string

	Listen   Listen
	IMDS     IMDS
	Upstream Upstream
	Keyring  Keyring
	Sources  []Source
	Roles    []Role
	Clients  []Client
	// DefaultRole is the role of a caller no client rule matches; "" means
	// such a caller gets no role at all.
	DefaultRole string

	// Warnings are problems that do not stop the broker; log them.
	Warnings hcl.Diagnostics

	// Pos locates top-level attributes (default_role, region).
	Pos Position
}

// Listen holds the addresses the broker serves on. An invalid (zero)
// netip.AddrPort means the listener is off.
type Listen struct {
	IMDS      netip.AddrPort
	Container netip.AddrPort
	Core      netip.AddrPort
	Metrics   netip.AddrPort
	// CoreTLSCertFile and CoreTLSKeyFile (PEM; both or neither) put TLS on the
	// core's listener: https for the STS/IAM endpoints and the console, whose
	// cookie is then __Host- and Secure, with HSTS. The files are read again
	// when they change (a renewed certificate needs no restart). With TLS the
	// core may listen on a non-loopback address.
	CoreTLSCertFile, CoreTLSKeyFile string
	// ControlSocket is the control socket's path; "" means the contract's
	// default, <runtime-dir>/control.sock.
	ControlSocket string
	Pos           Position
}

// IMDS holds the options of the emulated instance metadata service.
type IMDS struct {
	// RequireV2 refuses IMDSv1 (token-less) requests; true by default.
	RequireV2 bool
	// HopLimit is the IP TTL of responses to token requests (1 by default:
	// the token never leaves the host, as on EC2).
	HopLimit int
	// AllowedRemote lists the networks a caller's address must be in.
	AllowedRemote []netip.Prefix
	Pos           Position
}

// UpstreamKind tells where roles are assumed.
type UpstreamKind string

// Upstream kinds.
const (
	UpstreamCore UpstreamKind = "core" // the embedded IAM/STS core, in-process
	UpstreamSTS  UpstreamKind = "sts"  // a remote STS: real AWS or compatible
)

// Upstream is where the broker assumes roles.
type Upstream struct {
	Kind UpstreamKind

	// Core: the embedded core's state directory, account and master key.
	StateDir  string
	AccountID string
	MasterKey MasterKey
	// Store is where the core keeps its account: "" (core.db in StateDir), a bbolt
	// file's path, or a postgres:// URL (without a password) shared by replicas.
	Store string
	// StorePasswordFile holds the PostgreSQL password ("": the systemd credential
	// core-store-password when $CREDENTIALS_DIRECTORY has it).
	StorePasswordFile string
	// ConsoleHosts are the host names (without port) the console answers to
	// besides IP addresses and localhost: the Host check against DNS rebinding
	// refuses any other.
	ConsoleHosts []string
	// STSRateLimit is how many credential-issuing STS calls (AssumeRole*,
	// GetSessionToken, GetFederationToken) per second this core process admits
	// before it answers AWS's Throttling error; 0 admits all. Default
	// DefaultSTSRateLimit. Replicas each have their own: give each its share.
	STSRateLimit int

	// STS: endpoint URL ("" for AWS's regional endpoint) and region.
	Endpoint string
	Region   string

	Pos Position
}

// MasterKeySource tells where the embedded core's master key comes from.
type MasterKeySource string

// Master key sources.
const (
	// MasterKeyKeyring: an item of the configured keyring, created with 32
	// random bytes on first use.
	MasterKeyKeyring MasterKeySource = "keyring"
	// MasterKeyFile: a file holding 32 bytes (raw, hex or base64).
	MasterKeyFile MasterKeySource = "file"
	// MasterKeyCredential: a systemd credential (LoadCredential= or
	// LoadCredentialEncrypted=), read from $CREDENTIALS_DIRECTORY/NAME.
	MasterKeyCredential MasterKeySource = "credential"
)

// MasterKey locates the embedded core's master key.
type MasterKey struct {
	Source MasterKeySource
	// Name is the keyring item or systemd credential name.
	Name string
	// Path is the file of source "file".
	Path string
	Pos  Position
}

// Backend names a keyring backend.
type Backend string

// Keyring backends.
const (
	// BackendAuto: Secret Service when a D-Bus session bus is there, else the
	// kernel keyring on Linux, else the platform's default.
	BackendAuto          Backend = "auto"
	BackendKeyctl        Backend = "keyctl"
	BackendSecretService Backend = "secret-service"
	BackendPass          Backend = "pass"
	BackendFile          Backend = "file"
	// BackendSystemdCredentials reads keys (read-only) from
	// $CREDENTIALS_DIRECTORY, one credential per key name.
	BackendSystemdCredentials Backend = "systemd-credentials"
)

// Keyring holds the settings of the keyring that keeps long-term keys.
type Keyring struct {
	Backend Backend
	// Name is the named keyring (keyctl), item tag (Secret Service) or
	// prefix (pass) the broker keeps its items in.
	Name string
	// Collection is the Secret Service collection keys are kept in: an
	// alias ("login") or a collection's label. Empty: the default
	// collection, the login keyring that is unlocked at login.
	Collection string
	// KeyctlScope is the kernel keyring the named keyring hangs from:
	// user, session, process or thread.
	KeyctlScope string
	PassDir     string
	PassCmd     string
	FileDir     string
	// PassphraseFile and PassphraseCredential give the file backend's
	// passphrase without a prompt (a daemon never prompts).
	PassphraseFile       string
	PassphraseCredential string
	Pos                  Position
}

// SourceKind is the kind of identity a role is assumed with.
type SourceKind string

// Source kinds.
const (
	SourceKeyring     SourceKind = "keyring"      // an IAM user's key in the keyring
	SourceWebIdentity SourceKind = "web_identity" // an OIDC token (AssumeRoleWithWebIdentity)
	SourceRole        SourceKind = "role"         // another role's session (chaining)
	SourceX509        SourceKind = "x509"         // an X.509 certificate (Roles Anywhere's CreateSession)
	SourceSAML        SourceKind = "saml"         // a person's SAML sign-in (`credbroker login`)
)

// DefaultSAMLCallback is where `credbroker login` receives the IdP's POST
// unless the source says otherwise: the IdP must list
// http://DefaultSAMLCallback/saml as an assertion consumer service.
const DefaultSAMLCallback = "127.0.0.1:8975"

// Web identity token providers.
const (
	ProviderFile   = "file"   // a token file, re-read at every use
	ProviderGitHub = "github" // GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN
	ProviderGitLab = "gitlab" // a GitLab id_tokens variable
)

// Source is an identity roles are assumed with.
type Source struct {
	Kind SourceKind
	Name string

	// Keyring: the item name of the key (the source's name by default).
	Key string

	// WebIdentity: where the token comes from.
	Provider  string // ProviderFile, ProviderGitHub or ProviderGitLab
	TokenFile string // file
	Audience  string // github: the audience requested
	TokenEnv  string // gitlab: the variable the job's id_tokens defines

	// Role: the broker's name of the role whose session signs (chaining).
	Role string

	// X509: the certificate (PEM), its intermediates, and its key: a PEM file
	// (PrivateKey), a key in a PKCS #11 token (PKCS11Module, PKCS11Token,
	// PKCS11Key, the PIN read from PINFile at every use), or a key persisted in a
	// TPM 2.0 (TPMDevice, TPMKeyHandle: "0x81000100").
	Certificate, Intermediates, PrivateKey string
	PKCS11Module, PKCS11Token, PKCS11Key   string
	PINFile                                string
	TPMDevice, TPMKeyHandle                string
	// X509: the Roles Anywhere trust anchor and profile, and where CreateSession
	// is sent: Endpoint ("": the core when the upstream is the core, else AWS's
	// Roles Anywhere of Region); Region ("": the trust anchor's).
	TrustAnchorARN, ProfileARN string
	Endpoint, Region           string

	// SAML: the IdP's sign-in URL `credbroker login` opens (IdP-initiated,
	// or an SP-initiated SSO URL), the IAM SAML provider's ARN
	// (AssumeRoleWithSAML's PrincipalArn), and the loopback HOST:PORT whose
	// /saml receives the IdP's POST.
	IdPURL      string
	ProviderARN string
	Callback    string
	// SPInitiated: `credbroker login` starts at the service provider, sending
	// an AuthnRequest (HTTP-Redirect binding) to IdPURL, the IdP's SSO
	// service, and accepts only the response to it (InResponseTo).
	SPInitiated bool

	// Implicit is set for sources made from a profile's
	// web_identity_token_file rather than a source block.
	Implicit bool
	Pos      Position
}

// Role is a role the broker hands out.
type Role struct {
	// Name is the broker's name for the role, the one IMDS lists.
	Name   string
	ARN    string
	Source string
	// Duration is the session duration asked for.
	Duration    time.Duration
	SessionName Template
	ExternalID  string
	MFASerial   string
	// Policy is an inline session policy (JSON), PolicyARNs managed ones.
	Policy            string
	PolicyARNs        []string
	Tags              map[string]Template
	TransitiveTagKeys []string
	SourceIdentity    Template
	// Profile is the ~/.aws/config profile settings were read from.
	Profile string
	Pos     Position
}

// Client is a rule mapping callers to a role. Within a rule every criterion
// given must match (a criterion matches if any of its values does); the
// first rule that matches decides.
type Client struct {
	Name   string
	UIDs   []uint32
	Users  []string
	GIDs   []uint32
	Groups []string
	// Units are systemd unit names or path.Match patterns ("ci-*.service").
	Units []string
	// Exes are absolute executable paths or path.Match patterns.
	Exes []string
	// Role is the role the caller gets (the one IMDS lists).
	Role string
	// AllowRoles are further roles the caller may ask for by name
	// (exec, credential-process, a container token bound to a role).
	AllowRoles []string
	Pos        Position
}

// Position locates a block and its attributes in the file, for errors.
type Position struct {
	Block hcl.Range
	Attrs map[string]hcl.Range
}

// Of returns the range of attribute name's value, or the block's when the
// attribute is not in the file.
func (p Position) Of(name string) *hcl.Range {
	if r, ok := p.Attrs[name]; ok {
		return &r
	}
	r := p.Block
	return &r
}

// Has reports whether attribute name was written in the file.
func (p Position) Has(name string) bool {
	_, ok := p.Attrs[name]
	return ok
}

// Role returns the role named name, or nil.
func (c *Config) Role(name string) *Role {
	for i := range c.Roles {
		if c.Roles[i].Name == name {
			return &c.Roles[i]
		}
	}
	return nil
}

// Source returns the source named name, or nil.
func (c *Config) Source(name string) *Source {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i]
		}
	}
	return nil
}
