package sts

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/saml"
	"github.com/credbroker/credbroker/sts/store"
)

// AWS's SAML attributes and the service provider's names.
const (
	samlRoleAttr            = "https://aws.amazon.com/SAML/Attributes/Role"
	samlSessionNameAttr     = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	samlSessionDurationAttr = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	samlPrincipalTagPrefix  = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	samlTransitiveAttr      = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
	samlSourceIdentityAttr  = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	samlSignIn              = "https://signin.aws.amazon.com/saml"
	samlEntityID            = "urn:amazon:webservices"
	nameIDFormatPrefix      = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
)

// SAML timing: the clock skew allowed on NotBefore/NotOnOrAfter, and how soon after
// its IssueInstant a response must be redeemed (AWS: five minutes).
const (
	samlSkew        = time.Minute
	samlRedeemLimit = 5 * time.Minute
)

// samlNameRE is what RoleSessionName and SourceIdentity attributes must match.
var samlNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// samlCodes are AWS's codes for the SAML refusals that have their own.
var samlCodes = map[saml.Kind]string{saml.Expired: "ExpiredTokenException", saml.Rejected: "IDPRejectedClaim"}

// samlError maps a refused response to STS's error.
func samlError(err error) error {
	return federationError(err, samlCodes, func(se *saml.Error) (saml.Kind, string) { return se.Kind, se.Message })
}

func invalidSAML(msg string) error { return query.NewError("InvalidIdentityToken", msg) }

// samlProvider reads the SAML provider arn, nil when the account has none such.
func (c *Core) samlProvider(ctx context.Context, arn string) (*account.SAMLProvider, error) {
	var p account.SAMLProvider
	err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.SAMLProvider(arn)
		return err
	})
	if errors.Is(err, account.ErrNoSuchEntity) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading SAML provider %s: %w", arn, err)
	}
	return &p, nil
}

// assumeRoleWithSAML is STS AssumeRoleWithSAML: the caller presents a SAML response
// signed by an identity provider the account trusts (PrincipalArn, a SAML provider),
// issued for AWS (audience, recipient) within its time limits and not redeemed
// before; it must name the role with the provider in a Role attribute, and the
// role's trust policy must allow sts:AssumeRoleWithSAML for Principal Federated =
// the provider, with conditions on the saml:* keys.
func (c *Core) assumeRoleWithSAML(ctx context.Context, call *Call) (any, error) {
	p := call.Params
	roleARN, provARN := p.String("RoleArn"), p.String("PrincipalArn")
	prov, err := c.samlProvider(ctx, provARN)
	if err != nil {
		return nil, err
	}
	if prov == nil {
		return nil, invalidSAML("Specified provider doesn't exist")
	}
	now := call.Now.UTC()
	a, err := c.verifySAMLWith(prov, p.String("SAMLAssertion"), now)
	if err != nil {
		return nil, err
	}
	if err := checkSAMLUse(a, now, c.SAMLACS()); err != nil {
		return nil, err
	}
	name, err := samlSessionName(a)
	if err != nil {
		return nil, err
	}
	if !samlNamesRole(a, roleARN, prov.ARN) {
		return nil, call.federationDenied("sts:AssumeRoleWithSAML")
	}

	g := c.genCache()
	target, err := c.targetRole(ctx, g, roleARN)
	if err != nil {
		return nil, err
	}
	if target == nil || target.trust == nil {
		return nil, call.federationDenied("sts:AssumeRoleWithSAML")
	}
	role := &target.role
	var in sessionInput
	sourceIdentity, err := samlSessionTags(a, &in)
	if err != nil {
		return nil, err
	}
	keys := samlKeys(a, prov, c.st.AccountID())
	actions := []string{"sts:AssumeRoleWithSAML"}
	if len(in.tags) > 0 {
		actions = append(actions, "sts:TagSession")
		keys = append(keys, policy.ContextKey{Name: "sts:TransitiveTagKeys", Values: in.transitive})
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
		keys = append(keys, policy.ContextKey{Name: "sts:SourceIdentity", Values: []string{sourceIdentity}})
	}
	set := policy.Set{Resource: []*policy.Policy{target.trust}}
	for _, action := range actions {
		req := policy.Request{Principal: policy.Principal{Type: policy.PrincipalFederated, ARN: prov.ARN, Account: c.st.AccountID()},
			Action: action, Resource: policy.Resource{ARN: role.ARN},
			Context: policy.Context{CurrentTime: call.Now, SourceIP: call.SourceIP, SecureTransport: policy.BoolOf(call.SecureTransport),
				Keys: keys, RequestTags: policyTags(in.tags)}}
		var buf [4]policy.Match
		if d := set.Decide(&req, buf[:0]); d.Result != policy.Allowed {
			return nil, call.federationDenied("sts:AssumeRoleWithSAML")
		}
	}

	dur, err := samlDuration(p, a)
	if err != nil {
		return nil, err
	}
	// The session ends at the AuthnStatement's SessionNotOnOrAfter if that is sooner.
	if end := a.SessionNotOnOrAfter; !end.IsZero() && end.Sub(now.Truncate(time.Second)) < dur {
		if dur = end.Sub(now.Truncate(time.Second)).Truncate(time.Second); dur < 15*time.Minute {
			return nil, query.NewError("ExpiredTokenException", "The SAML session (SessionNotOnOrAfter) ends in less than 15 minutes.")
		}
	}
	if dur > roleMaxSession(role) {
		return nil, query.NewError(query.CodeValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if err := c.readSessionPolicies(ctx, p, &in); err != nil {
		return nil, err
	}
	// Redeemed once, even across restarts: only an assertion that would have given
	// credentials is spent.
	var fresh bool
	if err := c.st.Update(ctx, func(tx *store.Tx) error {
		var err error
		fresh, err = tx.RedeemSAMLAssertion(samlRedeemKey(a), a.NotOnOrAfter.Add(samlSkew), now)
		return err
	}); err != nil {
		return nil, fmt.Errorf("recording SAML assertion %s: %w", a.ID, err)
	}
	if !fresh {
		call.record("sts:AssumeRoleWithSAML", policy.ImplicitlyDenied)
		return nil, invalidSAML(samlReplayed)
	}
	call.record("sts:AssumeRoleWithSAML", policy.Allowed)
	res, err := c.issueRoleSession(call, roleSession{role: role, name: name, issued: now.Truncate(time.Second), dur: dur, in: &in,
		sourceIdentity: sourceIdentity, callerARN: prov.ARN})
	if err != nil {
		return nil, err
	}
	res.saml = &samlIdentityResult{subject: a.Subject, subjectType: subjectType(a.SubjectFormat), issuer: a.Issuer,
		audience: a.Recipient, nameQualifier: nameQualifier(a.Issuer, c.st.AccountID(), prov.Name)}
	return res, nil
}

// verifySAMLWith verifies the base64 SAML response with prov's metadata: the
// provider is valid now, the response is signed with one of its certificates and
// issued by it. What the assertion is for (checkSAMLUse) is the caller's to check.
func (c *Core) verifySAMLWith(prov *account.SAMLProvider, response string, now time.Time) (*saml.Assertion, error) {
	md, err := saml.ParseMetadata([]byte(prov.Metadata))
	if err != nil {
		return nil, fmt.Errorf("stored metadata of %s: %w", prov.ARN, err)
	}
	if !prov.ValidUntil.IsZero() && now.After(prov.ValidUntil) {
		return nil, invalidSAML("The SAML provider's metadata is no longer valid (ValidUntil has passed): update it with UpdateSAMLProvider.")
	}
	a, err := saml.Verify(response, md, now)
	if err != nil {
		return nil, samlError(err)
	}
	return a, nil
}

// samlRedeemKey is what a redeemed assertion is recorded under.
func samlRedeemKey(a *saml.Assertion) string { return a.Issuer + "\x00" + a.ID }

// SAMLACS returns the assertion consumer services the core accepts as a SAML
// response's Destination and Recipient beside AWS's sign-in URLs.
func (c *Core) SAMLACS() []string {
	if p := c.samlACS.Load(); p != nil {
		return *p
	}
	return nil
}

// SetSAMLACS replaces the assertion consumer services the core accepts (Options.
// SAMLACS): a reload that adds a saml source, or the core's own sign-in endpoint
// once its listener's address is known, takes effect at once.
func (c *Core) SetSAMLACS(urls []string) {
	urls = slices.Clone(urls)
	c.samlACS.Store(&urls)
}

// SAMLSignIn is a SAML response verified for a sign-in at the core's own
// endpoint, not redeemed yet.
type SAMLSignIn struct {
	// ProviderARN is the SAML provider whose metadata verified the response.
	ProviderARN string
	// RoleARNs are the roles its Role attribute pairs with that provider, in order.
	RoleARNs []string
	// Subject is the NameID, SessionName the RoleSessionName attribute.
	Subject, SessionName string
	// Recipient is the assertion consumer service it was addressed to.
	Recipient string
	// Expires is when it can no longer be redeemed.
	Expires time.Time
}

// VerifySAMLSignIn checks a base64 SAML response posted to the core's own
// assertion consumer service as AssumeRoleWithSAML does, without redeeming it:
// signed by a SAML provider of the account (each is tried), issuer, audience,
// Destination and Recipient, times, a RoleSessionName, not redeemed before.
// Errors are STS's (*query.Error: InvalidIdentityToken, ExpiredTokenException,
// IDPRejectedClaim).
func (c *Core) VerifySAMLSignIn(ctx context.Context, response string) (*SAMLSignIn, error) {
	var provs []account.SAMLProvider
	if err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		provs, err = tx.SAMLProviders()
		return err
	}); err != nil {
		return nil, fmt.Errorf("listing SAML providers: %w", err)
	}
	now := c.now().UTC()
	var first error
	for i := range provs {
		a, err := c.verifySAMLWith(&provs[i], response, now)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		return c.signInOf(ctx, a, &provs[i], now)
	}
	if first == nil {
		first = invalidSAML("Specified provider doesn't exist")
	}
	return nil, first
}

// signInOf checks what a verified assertion is for and whether it is spent.
func (c *Core) signInOf(ctx context.Context, a *saml.Assertion, prov *account.SAMLProvider, now time.Time) (*SAMLSignIn, error) {
	if err := checkSAMLUse(a, now, c.SAMLACS()); err != nil {
		return nil, err
	}
	name, err := samlSessionName(a)
	if err != nil {
		return nil, err
	}
	var spent bool
	if err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		spent, err = tx.SAMLAssertionRedeemed(samlRedeemKey(a), now)
		return err
	}); err != nil {
		return nil, fmt.Errorf("reading SAML assertion %s: %w", a.ID, err)
	}
	if spent {
		return nil, invalidSAML(samlReplayed)
	}
	s := &SAMLSignIn{ProviderARN: prov.ARN, Subject: a.Subject, SessionName: name, Recipient: a.Recipient, Expires: a.NotOnOrAfter.Add(samlSkew)}
	if limit := a.IssueInstant.Add(samlRedeemLimit + samlSkew); limit.Before(s.Expires) {
		s.Expires = limit
	}
	for _, v := range a.Attributes[samlRoleAttr] {
		if role, ok := samlRolePair(v, prov.ARN); ok && !slices.Contains(s.RoleARNs, role) {
			s.RoleARNs = append(s.RoleARNs, role)
		}
	}
	return s, nil
}

// samlReplayed is the refusal of an assertion redeemed before.
const samlReplayed = "The SAML assertion has already been used (replay refused)."

// isSignIn reports whether u is AWS's sign-in endpoint for SAML (global or regional).
func isSignIn(u string) bool {
	if u == samlSignIn {
		return true
	}
	host, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return false
	}
	region, rest, ok := strings.Cut(host, ".")
	return ok && rest == "signin.aws.amazon.com/saml" && region != "" && !strings.ContainsAny(region, "/:")
}

// checkSAMLUse checks that the assertion is meant for AWS, now: for AWS's
// sign-in, or for one of acs, the core's own assertion consumer services (the
// broker's loopback login callbacks).
func checkSAMLUse(a *saml.Assertion, now time.Time, acs []string) error {
	ours := func(u string) bool { return isSignIn(u) || slices.Contains(acs, u) }
	audienceOK := false
	for _, au := range a.Audiences {
		if au == samlEntityID || isSignIn(au) {
			audienceOK = true
		}
	}
	if !audienceOK {
		return invalidSAML("The SAML assertion's audience does not include AWS (urn:amazon:webservices or " + samlSignIn + ").")
	}
	if a.Destination != "" && !ours(a.Destination) {
		return invalidSAML("The SAML response's Destination must be " + samlSignIn + " (or one of the core's assertion consumer services).")
	}
	if !ours(a.Recipient) {
		return invalidSAML("The SAML assertion's bearer SubjectConfirmationData must name the Recipient " + samlSignIn + " (or one of the core's assertion consumer services).")
	}
	switch {
	case a.IssueInstant.After(now.Add(samlSkew)):
		return invalidSAML("The SAML response was issued in the future.")
	case now.After(a.IssueInstant.Add(samlRedeemLimit + samlSkew)):
		return query.NewError("ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance")
	case !a.NotBefore.IsZero() && a.NotBefore.After(now.Add(samlSkew)):
		return invalidSAML("The SAML assertion is not valid yet (NotBefore).")
	case a.NotOnOrAfter.IsZero():
		return invalidSAML("The SAML assertion has no NotOnOrAfter.")
	case !now.Before(a.NotOnOrAfter.Add(samlSkew)):
		return query.NewError("ExpiredTokenException", "The SAML assertion has expired (NotOnOrAfter).")
	}
	return nil
}

// samlSessionName is the RoleSessionName attribute.
func samlSessionName(a *saml.Assertion) (string, error) {
	vs := a.Attributes[samlSessionNameAttr]
	if len(vs) == 0 {
		return "", invalidSAML("RoleSessionName is required in AuthnResponse")
	}
	if len(vs) > 1 || !samlNameRE.MatchString(vs[0]) {
		return "", invalidSAML("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
	}
	return vs[0], nil
}

// samlNamesRole reports whether a Role attribute value pairs roleARN with provARN,
// in either order.
func samlNamesRole(a *saml.Assertion, roleARN, provARN string) bool {
	for _, v := range a.Attributes[samlRoleAttr] {
		if role, ok := samlRolePair(v, provARN); ok && role == roleARN {
			return true
		}
	}
	return false
}

// samlRolePair returns the role of a Role attribute value ("role,provider" in
// either order) that names provARN.
func samlRolePair(v, provARN string) (string, bool) {
	x, y, ok := strings.Cut(v, ",")
	x, y = strings.TrimSpace(x), strings.TrimSpace(y)
	switch {
	case !ok:
		return "", false
	case y == provARN:
		return x, x != ""
	case x == provARN:
		return y, y != ""
	}
	return "", false
}

// samlSessionTags reads the session tags (PrincipalTag:KEY attributes, one value
// each), the TransitiveTagKeys attribute, and the SourceIdentity attribute, checked as
// AssumeRole's parameters are.
func samlSessionTags(a *saml.Assertion, in *sessionInput) (sourceIdentity string, err error) {
	for name, vs := range a.Attributes {
		key, ok := strings.CutPrefix(name, samlPrincipalTagPrefix)
		if !ok {
			continue
		}
		if key == "" || len(vs) != 1 {
			return "", invalidSAML("Each PrincipalTag attribute in AuthnResponse must name a tag key and have one value")
		}
		in.tags = append(in.tags, session.Tag{Key: key, Value: vs[0]})
	}
	slices.SortFunc(in.tags, func(x, y session.Tag) int { return strings.Compare(x.Key, y.Key) })
	in.transitive = a.Attributes[samlTransitiveAttr]
	if err := checkSessionTags(nil, in); err != nil {
		return "", err
	}
	if vs := a.Attributes[samlSourceIdentityAttr]; len(vs) > 0 {
		if len(vs) > 1 || !samlNameRE.MatchString(vs[0]) || strings.HasPrefix(strings.ToLower(vs[0]), "aws:") {
			return "", invalidSAML("SourceIdentity in AuthnResponse must match [\\w+=,.@-]{2,64} and not start with aws:")
		}
		sourceIdentity = vs[0]
	}
	return sourceIdentity, nil
}

// samlDuration is DurationSeconds, else the SessionDuration attribute (900 to 43200),
// else an hour.
func samlDuration(p query.Params, a *saml.Assertion) (time.Duration, error) {
	if n, ok := p.Int("DurationSeconds"); ok {
		return time.Duration(n) * time.Second, nil
	}
	vs := a.Attributes[samlSessionDurationAttr]
	if len(vs) == 0 {
		return time.Hour, nil
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 900 || n > 43200 {
		return 0, invalidSAML("SessionDuration in AuthnResponse must be a number of seconds from 900 to 43200")
	}
	return time.Duration(n) * time.Second, nil
}

// subjectType is SubjectType: "persistent" or "transient" for those NameID formats,
// the format URI otherwise.
func subjectType(format string) string {
	switch format {
	case nameIDFormatPrefix + "persistent":
		return "persistent"
	case nameIDFormatPrefix + "transient":
		return "transient"
	}
	return format
}

// nameQualifier is saml:namequalifier, as AWS computes it: Base64(SHA1(issuer +
// account id + "/" + the provider's name)).
func nameQualifier(issuer, accountID, providerName string) string {
	sum := sha1.Sum([]byte(issuer + accountID + "/" + providerName))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// samlKeys are the condition keys of a SAML federation request: saml:aud (the
// recipient), saml:iss, saml:sub, saml:sub_type, saml:namequalifier, saml:doc
// (ACCOUNT/PROVIDER-NAME), and aws:FederatedProvider.
func samlKeys(a *saml.Assertion, prov *account.SAMLProvider, accountID string) []policy.ContextKey {
	return []policy.ContextKey{
		{Name: "saml:aud", Values: []string{a.Recipient}},
		{Name: "saml:iss", Values: []string{a.Issuer}},
		{Name: "saml:sub", Values: []string{a.Subject}},
		{Name: "saml:sub_type", Values: []string{subjectType(a.SubjectFormat)}},
		{Name: "saml:namequalifier", Values: []string{nameQualifier(a.Issuer, accountID, prov.Name)}},
		{Name: "saml:doc", Values: []string{accountID + "/" + prov.Name}},
		{Name: "aws:FederatedProvider", Values: []string{prov.ARN}},
	}
}
