package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/session"
)

// CodeSAMLLogin is the failure of a role of a saml source whose sign-in
// session is missing or nearly over: a person runs `credbroker login`.
const CodeSAMLLogin = "SAMLLoginRequired"

// SAML session timing: a role's sign-in session is needs-human in status
// (and metrics) once it has less than samlWarn left, time to sign in again
// before it ends; it is no longer handed out with less than samlFloor left
// (a credential handed out always has 15 minutes: botocore's refresh).
const (
	samlWarn  = 30 * time.Minute
	samlFloor = 15 * time.Minute
)

// MaxSAMLResponse bounds the SAML response `credbroker login` hands over
// (base64, as AssumeRoleWithSAML takes it; AWS's limit is 100,000
// characters).
const MaxSAMLResponse = 100000

// A SAML sign-in gives one role session per assertion (an assertion is
// redeemed once); it is held in memory only, by the broker's role name.
type samlSession struct {
	creds aws.Credentials
}

// samlSessionFor returns role's sign-in session if it is still worth
// handing out.
func (b *Broker) samlSessionFor(role string) (aws.Credentials, bool) {
	b.samlMu.Lock()
	defer b.samlMu.Unlock()
	s, ok := b.saml[role]
	if !ok || !b.o.Now().Add(samlFloor).Before(s.creds.Expires) {
		return aws.Credentials{}, false
	}
	return s.creds, true
}

// samlNeedsHuman reports whether role, of a saml source, needs a person to
// sign in: it has no sign-in session, or one with less than samlWarn left.
func (b *Broker) samlNeedsHuman(role string) bool {
	b.samlMu.Lock()
	defer b.samlMu.Unlock()
	s, ok := b.saml[role]
	return !ok || !b.o.Now().Add(samlWarn).Before(s.creds.Expires)
}

func (b *Broker) fetchWithSAML(r *roleState) (aws.Credentials, error) {
	if creds, ok := b.samlSessionFor(r.cfg.Name); ok {
		return creds, nil
	}
	return aws.Credentials{}, session.NeedsHuman(CodeSAMLLogin,
		fmt.Sprintf("role %s needs a SAML sign-in: run `credbroker login %s` (the daemon never prompts)", r.cfg.Name, r.src.Name), nil)
}

// SAMLLogin redeems response, a base64 SAML response the IdP posted to
// `credbroker login`, for role (AssumeRoleWithSAML with the source's
// provider), holds the session in memory, and starts serving it. The
// response is neither logged nor kept. It returns when the session ends.
func (b *Broker) SAMLLogin(ctx context.Context, c Caller, role, response string) (time.Time, error) {
	st := b.state.Load()
	r, err := b.allowed(st, c, role)
	if err != nil {
		return time.Time{}, err
	}
	if r.src.Kind != config.SourceSAML {
		return time.Time{}, fmt.Errorf("role %s is assumed with source %s (%s), not with a SAML sign-in", role, r.src.Name, r.src.Kind)
	}
	if response == "" || len(response) > MaxSAMLResponse {
		return time.Time{}, fmt.Errorf("a SAML response is 1 to %d characters of base64; got %d", MaxSAMLResponse, len(response))
	}
	in := &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(r.cfg.ARN), PrincipalArn: aws.String(r.src.ProviderARN), SAMLAssertion: aws.String(response),
	}
	if r.cfg.Pos.Has("duration") {
		// Otherwise the IdP's SessionDuration attribute decides.
		in.DurationSeconds = aws.Int32(int32(r.cfg.Duration / time.Second))
	}
	if r.cfg.Policy != "" {
		in.Policy = aws.String(r.cfg.Policy)
	}
	start := b.o.Now()
	out, err := st.up.Client.AssumeRoleWithSAML(ctx, in)
	b.metrics.observeUpstream(b.o.Now().Sub(start), err)
	if err != nil {
		return time.Time{}, samlErr(err)
	}
	creds, err := fromSTS(out.Credentials, r.accountID)
	if err != nil {
		return time.Time{}, err
	}
	b.samlMu.Lock()
	b.saml[role] = samlSession{creds: creds}
	b.samlMu.Unlock()
	b.log.Info("SAML sign-in", "role", role, "source", r.src.Name, "uid", c.UID(),
		"arn", aws.ToString(out.AssumedRoleUser.Arn), "access_key_id", creds.AccessKeyID, "expires", creds.Expires)
	// A session still cached from an earlier sign-in is served until its
	// refresh, which picks this one up; Warm fetches it when there is none.
	if err := b.binding(st, r, c).sess.Warm(ctx); err != nil {
		return creds.Expires, fmt.Errorf("signed in, but serving role %s failed: %w", role, err)
	}
	return creds.Expires, nil
}

// samlErr says what STS's refusal of a SAML response means, and what to do;
// other failures are classified as any STS call's.
func samlErr(err error) error {
	ce := session.Classify(err)
	msg := ce.Message
	var api smithy.APIError
	if errors.As(err, &api) {
		msg = api.ErrorMessage()
	}
	var hint string
	switch ce.Code {
	case "InvalidIdentityToken", "IDPRejectedClaim":
		hint = "STS refused the SAML response: " + msg + " Check the IAM SAML provider (the IdP's current metadata and signing certificate) and what the IdP sends (audience, Recipient, the Role attribute)."
	case "ExpiredTokenException":
		hint = "the SAML response has expired: " + msg + " Run `credbroker login` again (and check this host's clock)."
	case "AccessDenied", "AccessDeniedException":
		hint = "STS refused the role for this sign-in: " + msg + " The role's trust policy must allow sts:AssumeRoleWithSAML to the SAML provider (Principal Federated), with conditions your assertion meets."
	default:
		return ce
	}
	return &session.Error{Kind: session.NonRecoverable, Code: ce.Code, Message: hint, Err: err}
}

// SAMLSourceInfo is what `credbroker login` needs of a saml source: where
// to send the person, where the IdP posts back, and the roles of the
// source that the caller may have (the broker's name and the role ARN,
// matched against the assertion's Role attribute).
type SAMLSourceInfo struct {
	Source      string `json:"source"`
	IdPURL      string `json:"idp_url"`
	ProviderARN string `json:"provider_arn"`
	Callback    string `json:"callback"`
	// SPInitiated: login sends an AuthnRequest to IdPURL (the IdP's SSO
	// service) and takes only the response to it.
	SPInitiated bool       `json:"sp_initiated,omitempty"`
	Roles       []SAMLRole `json:"roles"`
}

// SAMLRole is a role a saml source signs in to.
type SAMLRole struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

// SAMLSource describes the saml source name ("" when there is one only)
// for caller c.
func (b *Broker) SAMLSource(c Caller, name string) (SAMLSourceInfo, error) {
	st := b.state.Load()
	var src *config.Source
	var names []string
	for i := range st.cfg.Sources {
		s := &st.cfg.Sources[i]
		if s.Kind != config.SourceSAML {
			continue
		}
		names = append(names, s.Name)
		if s.Name == name || (name == "" && src == nil) {
			src = s
		}
	}
	switch {
	case len(names) == 0:
		return SAMLSourceInfo{}, fmt.Errorf("%w: no saml source is configured (add a source \"saml\" block to the config)", ErrUnknownRole)
	case name == "" && len(names) > 1:
		return SAMLSourceInfo{}, fmt.Errorf("%w: several saml sources are configured; name one of %v", ErrUnknownRole, names)
	case src == nil:
		return SAMLSourceInfo{}, fmt.Errorf("%w: no saml source %q; configured: %v", ErrUnknownRole, name, names)
	}
	info := SAMLSourceInfo{Source: src.Name, IdPURL: src.IdPURL, ProviderARN: src.ProviderARN, Callback: src.Callback,
		SPInitiated: src.SPInitiated, Roles: []SAMLRole{}}
	for _, n := range st.names {
		r := st.roles[n]
		if r.src.Name != src.Name {
			continue
		}
		if _, err := b.allowed(st, c, n); err == nil {
			info.Roles = append(info.Roles, SAMLRole{Name: n, ARN: r.cfg.ARN})
		}
	}
	if len(info.Roles) == 0 {
		return SAMLSourceInfo{}, fmt.Errorf("%w: uid %d may have none of the roles of saml source %s", ErrNotAllowed, c.UID(), src.Name)
	}
	return info, nil
}
