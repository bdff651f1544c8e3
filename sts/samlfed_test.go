package sts_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/saml/samltest"
	"github.com/credbroker/credbroker/sts/store"
)

// samlTrust trusts the provider for sts:AssumeRoleWithSAML from AWS's sign-in
// endpoint, for subjects at example.com.
func samlTrust(provARN string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN + `"},"Action":"sts:AssumeRoleWithSAML",
 "Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"},"StringLike":{"saml:sub":"*@example.com"}}}]}`
}

// samlFixture is a core with a SAML provider (two signing keys, as while rotating)
// and a role trusting it.
type samlFixture struct {
	*fixture
	idp      *samltest.IdP
	provARN  string
	roleARN  string
	stranger samltest.Key // a key the provider does not publish
}

func newSAMLFixture(t *testing.T) *samlFixture {
	f := newFixture(t)
	idp := &samltest.IdP{EntityID: "https://idp.example.com/saml", Keys: []samltest.Key{samltest.NewKey(t, "old"), samltest.NewKey(t, "new")}}
	var prov account.SAMLProvider
	f.update(func(tx *store.Tx) error {
		var err error
		prov, err = tx.CreateSAMLProvider(account.SAMLProvider{Name: "corp", Metadata: idp.Metadata(), UUID: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
		return err
	})
	role := f.role("federated", samlTrust(prov.ARN), 4*time.Hour, nil)
	return &samlFixture{fixture: f, idp: idp, provARN: prov.ARN, roleARN: role.ARN, stranger: samltest.NewKey(t, "stranger")}
}

func (s *samlFixture) assume(assertion string) (*awssts.AssumeRoleWithSAMLOutput, error) {
	return s.client(aws.Credentials{}).AssumeRoleWithSAML(s.ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(s.roleARN), PrincipalArn: aws.String(s.provARN), SAMLAssertion: aws.String(assertion)})
}

func TestAssumeRoleWithSAML(t *testing.T) {
	s := newSAMLFixture(t)
	now := s.clock.Now()
	base := func() samltest.Response { return s.idp.For(s.roleARN, s.provARN, now) }
	old, cur := s.idp.Keys[0], s.idp.Keys[1]
	goSigned := func(r samltest.Response, k samltest.Key) string {
		return samltest.Encode(samltest.SignGo(t, r.XML(false), k, samltest.SignAssertion))
	}
	with := func(fn func(*samltest.Response)) samltest.Response { r := base(); fn(&r); return r }

	ok := map[string]struct {
		assertion string
		duration  time.Duration
	}{
		"assertion signed in Go":            {goSigned(base(), cur), time.Hour},
		"signed with the older certificate": {goSigned(with(func(r *samltest.Response) { r.AssertionID += "old" }), old), time.Hour},
		"response signed":                   {samltest.Encode(samltest.SignGo(t, with(func(r *samltest.Response) { r.AssertionID += "resp"; r.InheritNS = true }).XML(false), cur, samltest.SignResponse)), time.Hour},
		"role attribute provider first": {goSigned(with(func(r *samltest.Response) {
			r.AssertionID += "rev"
			r.Attributes["https://aws.amazon.com/SAML/Attributes/Role"] = []string{s.provARN + "," + s.roleARN}
		}), cur), time.Hour},
		"session ends at SessionNotOnOrAfter": {goSigned(with(func(r *samltest.Response) {
			r.AssertionID += "end"
			r.SessionNotOnOrAfter = now.Truncate(time.Second).Add(30 * time.Minute)
		}), cur), 30 * time.Minute},
		"sign-in URL as audience, SessionDuration": {goSigned(with(func(r *samltest.Response) {
			r.AssertionID += "aud"
			r.Audience = "https://signin.aws.amazon.com/saml"
			r.Attributes["https://aws.amazon.com/SAML/Attributes/SessionDuration"] = []string{"7200"}
		}), cur), 2 * time.Hour},
	}
	for name, c := range ok {
		t.Run(name, func(t *testing.T) {
			out, err := s.assume(c.assertion)
			if err != nil {
				t.Fatal(err)
			}
			if *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/federated/alice" || *out.Subject != "alice@example.com" ||
				*out.SubjectType != "persistent" || *out.Issuer != s.idp.EntityID || *out.Audience != "https://signin.aws.amazon.com/saml" ||
				*out.NameQualifier == "" {
				t.Errorf("result %+v %s %s %s %s", *out.AssumedRoleUser.Arn, *out.Subject, *out.SubjectType, *out.Issuer, *out.Audience)
			}
			if got := out.Credentials.Expiration.Sub(now.Truncate(time.Second)); got != c.duration {
				t.Errorf("session of %v, want %v", got, c.duration)
			}
			id, err := s.client(sessionCreds(out.Credentials)).GetCallerIdentity(s.ctx, &awssts.GetCallerIdentityInput{})
			if err != nil || *id.Arn != *out.AssumedRoleUser.Arn {
				t.Errorf("GetCallerIdentity: %v %v", id, err)
			}
		})
	}

	signed := goSigned(with(func(r *samltest.Response) { r.AssertionID += "replay" }), cur)
	if _, err := s.assume(signed); err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(samltestDecode(t, goSigned(with(func(r *samltest.Response) { r.AssertionID += "t" }), cur)),
		"alice@example.com", "mallory@example.com", 1)
	wrapped := wrap(t, samltestDecode(t, goSigned(with(func(r *samltest.Response) { r.AssertionID += "w" }), cur)))
	refused := strings.Replace(samltestDecode(t, goSigned(with(func(r *samltest.Response) { r.AssertionID += "r" }), cur)),
		"status:Success", "status:Requester", 1)
	fails := map[string]struct {
		assertion string
		code, msg string
	}{
		"replayed":        {signed, "InvalidIdentityToken", "already been used"},
		"tampered":        {samltest.Encode(tampered), "InvalidIdentityToken", "Response signature invalid"},
		"wrapped":         {samltest.Encode(wrapped), "InvalidIdentityToken", ""},
		"IdP refused":     {samltest.Encode(refused), "IDPRejectedClaim", "not a success"},
		"unknown key":     {goSigned(base(), s.stranger), "InvalidIdentityToken", "Response signature invalid"},
		"unsigned":        {samltest.Encode(base().XML(false)), "InvalidIdentityToken", "Response signature invalid"},
		"not base64":      {"<samlp:Response>", "InvalidIdentityToken", "Invalid base64"},
		"expired":         {goSigned(with(func(r *samltest.Response) { r.NotOnOrAfter = now.Add(-2 * time.Minute) }), cur), "ExpiredTokenException", "NotOnOrAfter"},
		"issued long ago": {goSigned(with(func(r *samltest.Response) { r.IssueInstant = now.Add(-10 * time.Minute) }), cur), "ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance"},
		"not yet valid":   {goSigned(with(func(r *samltest.Response) { r.NotBefore = now.Add(10 * time.Minute) }), cur), "InvalidIdentityToken", "not valid yet"},
		"other audience":  {goSigned(with(func(r *samltest.Response) { r.Audience = "https://app.example.com" }), cur), "InvalidIdentityToken", "audience"},
		"other recipient": {goSigned(with(func(r *samltest.Response) { r.Recipient = "https://evil.example.com/saml" }), cur), "InvalidIdentityToken", "Recipient"},
		"other issuer":    {goSigned(with(func(r *samltest.Response) { r.Issuer = "https://evil.example.com" }), cur), "InvalidIdentityToken", "Issuer"},
		"bad session name": {goSigned(with(func(r *samltest.Response) {
			r.Attributes["https://aws.amazon.com/SAML/Attributes/RoleSessionName"] = []string{"a b"}
		}), cur), "InvalidIdentityToken", "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"},
		"role not offered": {goSigned(with(func(r *samltest.Response) {
			r.Attributes["https://aws.amazon.com/SAML/Attributes/Role"] = []string{"arn:aws:iam::123456789012:role/other," + s.provARN}
		}), cur), "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML"},
		"trust condition on saml:sub": {goSigned(with(func(r *samltest.Response) { r.NameID = "eve@evil.example" }), cur), "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML"},
	}
	for name, c := range fails {
		t.Run(name, func(t *testing.T) {
			_, err := s.assume(c.assertion)
			assertAPIErrorContains(t, err, c.code, c.msg)
		})
	}
	// A restarted core (a new one over the same store) refuses the replay too.
	_, err := s.restarted(t, aws.Credentials{}).AssumeRoleWithSAML(s.ctx,
		&awssts.AssumeRoleWithSAMLInput{RoleArn: aws.String(s.roleARN), PrincipalArn: aws.String(s.provARN), SAMLAssertion: aws.String(signed)})
	assertAPIErrorContains(t, err, "InvalidIdentityToken", "already been used")

	// A core told the broker's login callback as its own assertion consumer
	// service (Options.SAMLACS) takes assertions addressed to it; others do not.
	const callback = "http://127.0.0.1:8975/saml"
	toLogin := func(id string) string {
		return goSigned(with(func(r *samltest.Response) { r.AssertionID += id; r.Recipient = callback }), cur)
	}
	_, err = s.assume(toLogin("acs-refused"))
	assertAPIErrorContains(t, err, "InvalidIdentityToken", "Recipient")
	_, err = s.restarted(t, aws.Credentials{}, func(o *sts.Options) { o.SAMLACS = []string{callback} }).AssumeRoleWithSAML(s.ctx,
		&awssts.AssumeRoleWithSAMLInput{RoleArn: aws.String(s.roleARN), PrincipalArn: aws.String(s.provARN), SAMLAssertion: aws.String(toLogin("acs"))})
	// Past the addressing checks, the trust policy's SAML:aud condition (AWS's
	// sign-in URL) refuses it, as AWS would: saml:aud is the Recipient.
	assertAPIErrorContains(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")

	_, err = s.client(aws.Credentials{}).AssumeRoleWithSAML(s.ctx, &awssts.AssumeRoleWithSAMLInput{RoleArn: aws.String(s.roleARN),
		PrincipalArn: aws.String("arn:aws:iam::123456789012:saml-provider/nope"), SAMLAssertion: aws.String(goSigned(base(), cur))})
	assertAPIErrorContains(t, err, "InvalidIdentityToken", "Specified provider doesn't exist")

	// A provider whose metadata's validUntil has passed takes no more assertions.
	var stale account.SAMLProvider
	s.update(func(tx *store.Tx) error {
		var err error
		stale, err = tx.CreateSAMLProvider(account.SAMLProvider{Name: "stale", Metadata: s.idp.Metadata(), UUID: "STALESTALESTALESTALESTALE1", ValidUntil: now.Add(-time.Hour)})
		return err
	})
	_, err = s.client(aws.Credentials{}).AssumeRoleWithSAML(s.ctx, &awssts.AssumeRoleWithSAMLInput{RoleArn: aws.String(s.roleARN),
		PrincipalArn: aws.String(stale.ARN), SAMLAssertion: aws.String(goSigned(s.idp.For(s.roleARN, stale.ARN, now), cur))})
	assertAPIErrorContains(t, err, "InvalidIdentityToken", "ValidUntil has passed")
}

// TestAssumeRoleWithSAMLSessionTags: PrincipalTag attributes become session tags and
// SourceIdentity the session's, when the trust policy allows sts:TagSession and
// sts:SetSourceIdentity.
func TestAssumeRoleWithSAMLSessionTags(t *testing.T) {
	s := newSAMLFixture(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + s.provARN + `"},
 "Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:RequestTag/team":"blue"}}}]}`
	tagged := s.role("tagged", trust, time.Hour, map[string]string{"mint": minterPolicy})
	s.enableOutbound()
	resp := func(role, id, team string) string {
		r := s.idp.For(role, s.provARN, s.clock.Now())
		r.AssertionID += id
		r.Attributes["https://aws.amazon.com/SAML/Attributes/PrincipalTag:team"] = []string{team}
		r.Attributes["https://aws.amazon.com/SAML/Attributes/SourceIdentity"] = []string{"alice-src"}
		return samltest.Encode(samltest.SignGo(t, r.XML(false), s.idp.Keys[1], samltest.SignAssertion))
	}
	out, err := s.client(aws.Credentials{}).AssumeRoleWithSAML(s.ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(tagged.ARN), PrincipalArn: aws.String(s.provARN), SAMLAssertion: aws.String(resp(tagged.ARN, "t1", "blue"))})
	if err != nil {
		t.Fatal(err)
	}
	if out.SourceIdentity == nil || *out.SourceIdentity != "alice-src" {
		t.Errorf("SourceIdentity %v", out.SourceIdentity)
	}
	tok, err := s.client(sessionCreds(out.Credentials)).GetWebIdentityToken(s.ctx, &awssts.GetWebIdentityTokenInput{
		Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("RS256")})
	if err != nil {
		t.Fatal(err)
	}
	claims := s.verifyWebToken(*tok.WebIdentityToken, "https://api.example.com").Claims["https://sts.amazonaws.com/"].(map[string]any)
	if tags, _ := claims["principal_tags"].(map[string]any); tags["team"] != "blue" {
		t.Errorf("the session's principal tags: %v", claims)
	}
	// The trust policy decides on the tags; without sts:TagSession tags are refused.
	_, err = s.client(aws.Credentials{}).AssumeRoleWithSAML(s.ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(tagged.ARN), PrincipalArn: aws.String(s.provARN), SAMLAssertion: aws.String(resp(tagged.ARN, "t2", "red"))})
	assertAPIErrorContains(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
	_, err = s.assume(resp(s.roleARN, "t3", "blue"))
	assertAPIErrorContains(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
}

// TestAssumeRoleWithSAMLXmlsec1: an assertion signed by xmlsec1 (libxmlsec1, as C
// identity providers sign) is accepted, and refused once changed.
func TestAssumeRoleWithSAMLXmlsec1(t *testing.T) {
	s := newSAMLFixture(t)
	r := s.idp.For(s.roleARN, s.provARN, s.clock.Now())
	doc := samltest.SignXmlsec1(t, r, s.idp.Keys[1])
	out, err := s.assume(samltest.Encode(doc))
	if err != nil {
		t.Fatal(err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/federated/alice" {
		t.Errorf("assumed %s", *out.AssumedRoleUser.Arn)
	}
	r.AssertionID += "inherit"
	r.InheritNS = true
	if _, err := s.assume(samltest.Encode(samltest.SignXmlsec1(t, r, s.idp.Keys[0]))); err != nil {
		t.Fatalf("the Assertion inheriting its namespace from the Response: %v", err)
	}
	r.AssertionID += "x"
	changed := strings.Replace(samltest.SignXmlsec1(t, r, s.idp.Keys[1]), ">alice<", ">admin<", 1)
	_, err = s.assume(samltest.Encode(changed))
	assertAPIErrorContains(t, err, "InvalidIdentityToken", "Response signature invalid")
}

func samltestDecode(t *testing.T, b64 string) string {
	t.Helper()
	return string(mustB64(t, base64.StdEncoding, b64))
}

// wrap is a signature wrapping attack: the signed Assertion moved into the
// Response's Extensions, and in its place an Assertion for someone else carrying the
// signed one's Signature.
func wrap(t *testing.T, signed string) string {
	t.Helper()
	start := strings.Index(signed, "<saml:Assertion")
	end := strings.Index(signed, "</saml:Assertion>") + len("</saml:Assertion>")
	if start < 0 || end < start {
		t.Fatalf("no assertion in %s", signed)
	}
	orig := signed[start:end]
	evil := strings.Replace(strings.Replace(orig, "alice@example.com", "root@example.com", 1), `ID="_a`, `ID="_evil`, 1)
	return signed[:start] + "<samlp:Extensions>" + orig + "</samlp:Extensions>" + evil + signed[end:]
}
