package awsfake

import (
	"crypto/subtle"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer"
)

func (s *Server) duration(form url.Values, def int) (time.Duration, bool) {
	d := def
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 129600 {
			return 0, false
		}
		d = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lifetime > 0 {
		return s.lifetime, true
	}
	return time.Duration(d) * time.Second, true
}

// mint stores new session credentials for arn and answers them, followed by extra.
func (s *Server) mint(a *answer, arn string, life time.Duration, mfa bool, extra string) {
	id := s.newID(signer.PrefixSessionAccessKey)
	secret := s.newSecret()
	token := "FwoGZXIvYXdzE" + s.newSecret() + s.newSecret() + s.newSecret()
	s.mu.Lock()
	exp := s.now().Add(life).UTC().Truncate(time.Second)
	s.keys[id] = &principal{arn: arn, secret: secret, token: token, expires: exp, mfa: mfa}
	s.mu.Unlock()
	a.issued = id
	a.ok(fmt.Sprintf(`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`,
		id, secret, token, exp.Format(time.RFC3339)) + extra)
}

func roleName(roleARN string) (name string, ok bool) {
	rest, found := strings.CutPrefix(roleARN, "arn:aws:iam::")
	if !found {
		return "", false
	}
	_, res, found := strings.Cut(rest, ":")
	if !found {
		return "", false
	}
	path, found := strings.CutPrefix(res, "role/")
	if !found || path == "" {
		return "", false
	}
	return path[strings.LastIndex(path, "/")+1:], true
}

// assumed checks an AssumeRole* request's role, session name and duration,
// and returns the role's name, the session's ARN and lifetime.
func (s *Server) assumed(a *answer, form url.Values, denied string) (role, arn string, life time.Duration, ok bool) {
	roleARN, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	role, ok = roleName(roleARN)
	if !ok || name == "" {
		a.fail("ValidationError", "RoleArn and RoleSessionName are required")
		return "", "", 0, false
	}
	s.mu.Lock()
	code := s.denied[roleARN]
	s.mu.Unlock()
	if code != "" {
		a.fail(code, strings.ReplaceAll(denied, "%ROLE%", roleARN))
		return "", "", 0, false
	}
	if life, ok = s.duration(form, 3600); !ok {
		a.fail("ValidationError", "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint")
		return "", "", 0, false
	}
	return role, fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, role, name), life, true
}

func assumedRoleUser(role, name, arn string) string {
	return fmt.Sprintf(`<AssumedRoleUser><AssumedRoleId>AROAFAKE%s:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser>`,
		strings.ToUpper(role), esc(name), esc(arn))
}

func (s *Server) assumeRole(a *answer, form url.Values, p *principal) {
	role, arn, life, ok := s.assumed(a, form, "User: "+p.arn+" is not authorized to perform: sts:AssumeRole on resource: %ROLE%")
	if ok {
		s.mint(a, arn, life, p.mfa, assumedRoleUser(role, form.Get("RoleSessionName"), arn))
	}
}

func (s *Server) webIdentity(a *answer, form url.Values) {
	tok := form.Get("WebIdentityToken")
	if tok == "" {
		a.fail("ValidationError", "RoleArn, RoleSessionName and WebIdentityToken are required")
		return
	}
	s.mu.Lock()
	subject, known := s.webTokens[tok]
	s.mu.Unlock()
	if !known {
		a.fail("InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
		return
	}
	role, arn, life, ok := s.assumed(a, form, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if ok {
		s.mint(a, arn, life, false, fmt.Sprintf(`<SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken>%s<Audience>sts.amazonaws.com</Audience><Provider>awsfake</Provider>`,
			esc(subject), assumedRoleUser(role, form.Get("RoleSessionName"), arn)))
	}
}

func (s *Server) saml(a *answer, form url.Values) {
	in, prov := form.Get("SAMLAssertion"), form.Get("PrincipalArn")
	if in == "" || prov == "" {
		a.fail("ValidationError", "RoleArn, PrincipalArn and SAMLAssertion are required")
		return
	}
	s.mu.Lock()
	name, known := s.samlIn[in]
	delete(s.samlIn, in)
	s.mu.Unlock()
	if !known {
		a.fail("InvalidIdentityToken", "The SAML assertion is not valid (or was used already).")
		return
	}
	form.Set("RoleSessionName", name) // from the assertion, as AWS takes it
	role, arn, life, ok := s.assumed(a, form, "Not authorized to perform sts:AssumeRoleWithSAML")
	if ok {
		s.mint(a, arn, life, false, fmt.Sprintf(`%s<Subject>%s</Subject><SubjectType>persistent</SubjectType><Issuer>awsfake</Issuer><Audience>https://signin.aws.amazon.com/saml</Audience>`,
			assumedRoleUser(role, name, arn), esc(name)))
	}
}

func (s *Server) getSessionToken(a *answer, form url.Values, p *principal) {
	if p.token != "" {
		a.fail("AccessDenied", "Cannot call GetSessionToken with session credentials")
		return
	}
	serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
	mfa := false
	if serial != "" || code != "" {
		s.mu.Lock()
		want, ok := s.mfaCodes[serial]
		s.mu.Unlock()
		if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			a.fail("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
			return
		}
		mfa = true
	}
	life, ok := s.duration(form, 43200)
	if !ok {
		a.fail("ValidationError", "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint")
		return
	}
	s.mint(a, p.arn, life, mfa, "")
}
