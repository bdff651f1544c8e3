//lint:file-ignore SA1019 PackedPolicySize is what the STS API of this core answers; the SDK now prefers SessionTokenUtilization, which botocore 1.43 does not know.

package sts_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

func TestAuthenticationErrors(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.role("app", trustAccount, 0, nil)
	out, err := f.client(alice).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	sess := sessionCreds(out.Credentials)
	const gci = "Action=GetCallerIdentity&Version=2011-06-15"
	now := f.clock.Now()

	tampered := sess
	tok := []byte(sess.SessionToken)
	i := len(tok) / 2
	if tok[i] == 'A' {
		tok[i] = 'B'
	} else {
		tok[i] = 'A'
	}
	tampered.SessionToken = string(tok)
	wrongToken := sess
	wrongToken.AccessKeyID = "ASIA" + strings.Repeat("Q", 16)
	badSecret := alice
	badSecret.SecretAccessKey = strings.Repeat("x", 40)
	unknown := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: strings.Repeat("y", 40)}
	longWithToken := alice
	longWithToken.SessionToken = sess.SessionToken
	noToken := sess
	noToken.SessionToken = ""

	cases := map[string]struct {
		creds  aws.Credentials
		form   string
		at     time.Time
		status int
		code   string
		msg    string
	}{
		"ok":                     {sess, gci, now, 200, "", ""},
		"tampered token":         {tampered, gci, now, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		"token of another key":   {wrongToken, gci, now, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		"session key no token":   {noToken, gci, now, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		"long-term key + token":  {longWithToken, gci, now, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		"expired token":          {sess, gci, now.Add(16 * time.Minute), 400, "ExpiredToken", "The security token included in the request is expired"},
		"bad signature":          {badSecret, gci, now, 403, "SignatureDoesNotMatch", ""},
		"unknown key":            {unknown, gci, now, 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		"old signature":          {alice, gci, now.Add(-20 * time.Minute), 400, "RequestExpired", ""},
		"unsigned":               {aws.Credentials{}, gci, now, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		"unknown action":         {alice, "Action=Nope&Version=2011-06-15", now, 400, "InvalidAction", "Could not find operation Nope for version 2011-06-15"},
		"no version":             {alice, "Action=GetCallerIdentity", now, 400, "InvalidAction", "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"},
		"no action":              {alice, "Version=2011-06-15", now, 400, "MissingAction", "Missing Action"},
		"iam not registered":     {alice, "Action=ListUsers&Version=2010-05-08", now, 400, "InvalidAction", "Could not find operation ListUsers for version 2010-05-08"},
		"missing required param": {alice, "Action=AssumeRole&Version=2011-06-15&RoleSessionName=ab", now, 400, "ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			// The core's clock follows the signing time, so that only the token's own
			// expiry (or the signature's age) is in question.
			f.clock.Set(c.at)
			if name == "old signature" {
				f.clock.Set(now)
			}
			defer f.clock.Set(now)
			svc := "sts"
			if strings.Contains(c.form, "2010-05-08") {
				svc = "iam"
			}
			status, body := f.rawCall(c.creds, svc, c.form, c.at)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if c.code == "" {
				return
			}
			code, msg := errorOf(t, body)
			if code != c.code || (c.msg != "" && msg != c.msg) {
				t.Errorf("%s: %q, want %s: %q", code, msg, c.code, c.msg)
			}
		})
	}
}

func TestInactiveKeyStopsAtOnce(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", nil)
	c := f.client(alice)
	if _, err := c.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	f.update(func(tx *store.Tx) error { return tx.UpdateAccessKey(alice.AccessKeyID, account.KeyInactive) })
	_, err := c.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	assertAPIError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.", 403)
	f.update(func(tx *store.Tx) error { return tx.UpdateAccessKey(alice.AccessKeyID, account.KeyActive) })
	if _, err := c.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	f.update(func(tx *store.Tx) error { return tx.DeleteAccessKey(alice.AccessKeyID) })
	_, err = c.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	assertAPIError(t, err, "InvalidClientTokenId", "", 403)
}

// assumeApp has creds assume role app as session s1, and returns the session's keys.
func (f *fixture) assumeApp(creds aws.Credentials) aws.Credentials {
	f.t.Helper()
	out, err := f.client(creds).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("s1")})
	if err != nil {
		f.t.Fatal(err)
	}
	return sessionCreds(out.Credentials)
}

func TestRevokedSessions(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.role("app", trustAccount, 0, nil)
	assume := func() *awssts.Client { return f.client(f.assumeApp(alice)) }
	old := assume()
	f.clock.Advance(time.Second)
	f.update(func(tx *store.Tx) error {
		_, err := tx.UpdateRole("app", store.RoleUpdate{RevokeSessionsBefore: store.RevokeNow(f.clock.Now())})
		return err
	})
	_, err := old.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/app/s1 is not authorized to perform: sts:GetCallerIdentity with an explicit deny in an identity-based policy", 403)
	f.clock.Advance(2 * time.Second)
	if _, err := assume().GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("a session issued after the revocation: %v", err)
	}
}

func TestGetSessionToken(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll, "sts": readOnlySTS})
	c := f.client(alice)
	out, err := c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(12 * time.Hour); !out.Credentials.Expiration.Equal(want) {
		t.Errorf("default expiry %v, want %v", out.Credentials.Expiration, want)
	}
	sess := f.client(sessionCreds(out.Credentials))
	id, err := sess.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:user/alice" || !strings.HasPrefix(*id.UserId, "AIDA") {
		t.Fatalf("GetCallerIdentity: %v %+v", err, id)
	}
	// The user's policies apply to the session.
	if _, err := sess.GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(alice.AccessKeyID)}); err != nil {
		t.Fatal(err)
	}
	_, err = sess.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{})
	assertAPIError(t, err, "AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
	_, err = sess.GetFederationToken(f.ctx, &awssts.GetFederationTokenInput{Name: aws.String("fed")})
	assertAPIError(t, err, "AccessDenied", "Cannot call GetFederationToken with session credentials", 403)

	out, err = c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(129600)})
	if err != nil || !out.Credentials.Expiration.Equal(f.clock.Now().Add(36*time.Hour)) {
		t.Fatalf("36 h session: %v", err)
	}
	_, err = c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(129601)})
	assertAPIError(t, err, "ValidationError", "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600", 400)
	_, err = c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/none"), TokenCode: aws.String("123456")})
	assertAPIError(t, err, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.", 403)
}

func TestGetFederationToken(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"fed": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetFederationToken","sts:GetAccessKeyInfo","sts:TagSession"],"Resource":"*"}]}`})
	bob := f.user("bob", nil)
	c := f.client(alice)

	out, err := c.GetFederationToken(f.ctx, &awssts.GetFederationTokenInput{Name: aws.String("fed-user"), DurationSeconds: aws.Int32(3600),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*"}]}`),
		Tags:   []types.Tag{{Key: aws.String("project"), Value: aws.String("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if *out.FederatedUser.Arn != "arn:aws:sts::123456789012:federated-user/fed-user" || *out.FederatedUser.FederatedUserId != "123456789012:fed-user" ||
		out.PackedPolicySize == nil || !out.Credentials.Expiration.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("GetFederationToken: %+v %+v", out.FederatedUser, out.PackedPolicySize)
	}
	sess := f.client(sessionCreds(out.Credentials))
	id, err := sess.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != *out.FederatedUser.Arn || *id.UserId != "123456789012:fed-user" {
		t.Fatalf("GetCallerIdentity: %v %+v", err, id)
	}
	if _, err := sess.GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(alice.AccessKeyID)}); err != nil {
		t.Fatalf("allowed by user and session policy: %v", err)
	}
	_, err = sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("x")), RoleSessionName: aws.String("s1")})
	assertAPIError(t, err, "AccessDenied", "", 403)

	// Without a session policy, the federated user has no permissions.
	out, err = c.GetFederationToken(f.ctx, &awssts.GetFederationTokenInput{Name: aws.String("bare")})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize != nil {
		t.Errorf("PackedPolicySize %d without policies", *out.PackedPolicySize)
	}
	_, err = f.client(sessionCreds(out.Credentials)).GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(alice.AccessKeyID)})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:federated-user/bare is not authorized to perform: sts:GetAccessKeyInfo", 403)

	_, err = f.client(bob).GetFederationToken(f.ctx, &awssts.GetFederationTokenInput{Name: aws.String("fed-user")})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::123456789012:federated-user/fed-user", 403)
	_, err = c.GetFederationToken(f.ctx, &awssts.GetFederationTokenInput{Name: aws.String("x")})
	assertAPIError(t, err, "ValidationError", "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2", 400)
}

func TestGetAccessKeyInfo(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"sts": readOnlySTS})
	bob := f.user("bob", nil)
	out, err := f.client(alice).GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(bob.AccessKeyID)})
	if err != nil || *out.Account != testAccount {
		t.Fatalf("%v %v", err, out)
	}
	_, err = f.client(bob).GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(alice.AccessKeyID)})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:GetAccessKeyInfo", 403)
	_, err = f.client(alice).GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIA-not-valid-id")})
	assertAPIError(t, err, "ValidationError", "", 400)
}

// Vault's AWS auth method and aws-iam-authenticator prove an identity with a presigned
// GetCallerIdentity URL: the verifier GETs (or POSTs) it as it is.
func TestPresignedGetCallerIdentity(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", nil)
	ps := awssts.NewPresignClient(f.client(alice))
	req, err := ps.PresignGetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost && req.Method != http.MethodGet {
		t.Fatalf("method %s", req.Method)
	}
	resp, body := f.send(req.Method, req.URL, req.SignedHeader)
	var doc struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
		ID  string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v: %s", resp.StatusCode, err, body)
	}
	if doc.Arn != "arn:aws:iam::123456789012:user/alice" || doc.ID == "" || resp.Header.Get("X-Amzn-Requestid") != doc.ID {
		t.Errorf("presigned: %+v, header %q", doc, resp.Header.Get("X-Amzn-Requestid"))
	}
	// The same URL with its signature changed is refused.
	resp, _ = f.send(req.Method, strings.Replace(req.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1), nil)
	if resp.StatusCode != 403 {
		t.Errorf("altered presigned URL: status %d", resp.StatusCode)
	}
}

// Sessions outlive the core: a new Core over the same store reads the signing key
// from the store's secrets and accepts the old session.
func TestSessionsSurviveRestart(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.role("app", trustAccount, 0, nil)
	c := f.restarted(t, f.assumeApp(alice))
	if _, err := c.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
}

// The audit log has one line per request with the caller and decision, and no
// secret or session token.
func TestAuditLogNeverHasSecrets(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.role("app", trustAccount, 0, nil)
	sess := f.assumeApp(alice)
	_, _ = f.client(sess).GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{})
	bad := sess
	bad.SecretAccessKey = strings.Repeat("z", 40)
	_, _ = f.client(bad).GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	logs := f.logs.String()
	for _, secret := range []string{alice.SecretAccessKey, sess.SecretAccessKey, sess.SessionToken, sess.SessionToken[:40]} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds a secret: %q", secret[:8])
		}
	}
	var lines int
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"@module":"audit"`) {
			lines++
		}
	}
	if lines != 3 {
		t.Errorf("%d audit lines, want 3:\n%s", lines, logs)
	}
	for _, want := range []string{`"caller":"arn:aws:iam::123456789012:user/alice"`, `"decision":"allow"`, `"access_key_id":"` + sess.AccessKeyID + `"`,
		`"error":"AccessDenied"`, `"error":"SignatureDoesNotMatch"`, `"source_ip":"127.0.0.1"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in the log", want)
		}
	}
}

// AssumeRoleWithSAML needs no signature (the assertion is the proof), like
// AssumeRoleWithWebIdentity.
func TestAssumeRoleWithSAMLIsAnonymous(t *testing.T) {
	f := newFixture(t)
	status, body := f.rawCall(aws.Credentials{}, "sts", "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&PrincipalArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2Fx&SAMLAssertion=PHNhbWw%2B", f.clock.Now())
	if code, msg := errorOf(t, body); status != 400 || code != "InvalidIdentityToken" || msg != "Specified provider doesn't exist" {
		t.Errorf("%d %s", status, body)
	}
}

// aws-iam-authenticator's token is a presigned GET URL of GetCallerIdentity with the
// cluster id in a signed x-k8s-aws-id header; the server that checks it GETs the URL.
func TestPresignedGETWithSignedHeader(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", nil)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	req.Header.Set("x-k8s-aws-id", "my-cluster")
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	u, hdr, err := v4.NewSigner().PresignHTTP(f.ctx, alice, req, emptySHA256, "sts", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	get := func(h http.Header) (int, string) {
		resp, body := f.send(http.MethodGet, u, h)
		return resp.StatusCode, string(body)
	}
	if status, body := get(hdr); status != 200 || !strings.Contains(body, "<Arn>arn:aws:iam::123456789012:user/alice</Arn>") {
		t.Fatalf("%d %s", status, body)
	}
	// Without the signed header (another cluster's id), the signature does not match.
	if status, body := get(http.Header{"X-K8s-Aws-Id": {"other-cluster"}}); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("%d %s", status, body)
	}
}

// auditTally is what a core's audit lines say: the full request lines per error
// code, and the requests a summary line counts per error code and source.
type auditTally struct {
	full, counted map[string]int // by error code
	sources       map[string]int // full lines by source_ip
}

func tallyAudit(t *testing.T, logs string) auditTally {
	t.Helper()
	a := auditTally{full: map[string]int{}, counted: map[string]int{}, sources: map[string]int{}}
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Module  string `json:"@module"`
			Message string `json:"@message"`
			Error   string `json:"error"`
			Source  string `json:"source_ip"`
			Count   int    `json:"count"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Module != "audit" {
			continue
		}
		switch l.Message {
		case "request":
			a.full[l.Error]++
			a.sources[l.Source]++
		case "requests refused again":
			a.counted[l.Error] += l.Count
		}
	}
	return a
}

// A flood of refused requests that name no known caller is a line per source
// and error code per interval plus a count, not a line per request; every
// refusal is accounted for, and a known caller's requests keep a line each.
func TestRefusalsOfUnknownCallersAreSummedUp(t *testing.T) {
	const every = 300 * time.Millisecond
	f := newFixture(t, func(o *sts.Options) { o.RefusalSummaryEvery = every })
	alice := f.user("alice", nil)
	bad := alice
	bad.SecretAccessKey = strings.Repeat("z", 40)
	const form = "Action=GetCallerIdentity&Version=2011-06-15"
	const badSigned, unsigned, good = 200, 50, 3
	start := time.Now()
	for range badSigned {
		if status, _ := f.rawCall(bad, "sts", form, f.clock.Now()); status != http.StatusForbidden {
			t.Fatalf("a bad signature answered %d", status)
		}
	}
	for range unsigned {
		if status, _ := f.rawCall(aws.Credentials{}, "sts", form, f.clock.Now()); status < 400 {
			t.Fatalf("an unsigned GetCallerIdentity answered %d", status)
		}
	}
	for range good {
		if status, body := f.rawCall(alice, "sts", form, f.clock.Now()); status != http.StatusOK {
			t.Fatalf("alice: %d %s", status, body)
		}
	}
	intervals := int(time.Since(start)/every) + 2
	// Wait for the last interval's counts.
	var a auditTally
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		a = tallyAudit(t, f.logs.String())
		if a.full["SignatureDoesNotMatch"]+a.counted["SignatureDoesNotMatch"] == badSigned {
			break
		}
	}
	if got := a.full["SignatureDoesNotMatch"] + a.counted["SignatureDoesNotMatch"]; got != badSigned {
		t.Errorf("%d bad signatures accounted for, want %d: %+v", got, badSigned, a)
	}
	if a.full["SignatureDoesNotMatch"] > intervals {
		t.Errorf("%d full lines for %d bad signatures in %d intervals: a line per request", a.full["SignatureDoesNotMatch"], badSigned, intervals)
	}
	var unsignedLines, unsignedAll int
	for code, n := range a.full {
		if code != "SignatureDoesNotMatch" && code != "-" {
			unsignedLines += n
			unsignedAll += n + a.counted[code]
		}
	}
	if unsignedAll != unsigned || unsignedLines > intervals {
		t.Errorf("unsigned requests: %d accounted for in %d full lines, want %d in at most %d: %+v", unsignedAll, unsignedLines, unsigned, intervals, a)
	}
	if a.full["-"] != good {
		t.Errorf("%d lines for alice's %d requests, want one each", a.full["-"], good)
	}
}

// A flood from many source addresses is bounded too: past the sources counted
// apart, the rest share source "*".
func TestRefusalsFromManySources(t *testing.T) {
	f := newFixture(t, func(o *sts.Options) { o.RefusalSummaryEvery = time.Hour })
	h := f.core.Handler()
	const sources = 1500
	for i := range sources {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = fmt.Sprintf("127.0.%d.%d:40000", i/250, 1+i%250)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code < 400 {
			t.Fatalf("an unsigned request answered %d", w.Code)
		}
	}
	a := tallyAudit(t, f.logs.String())
	lines := 0
	for _, n := range a.full {
		lines += n
	}
	if lines > 1100 || lines < 1000 {
		t.Errorf("%d full lines for %d sources, want about 1,024 (the bound)", lines, sources)
	}
	if err := f.core.Close(); err != nil {
		t.Fatal(err)
	}
	a = tallyAudit(t, f.logs.String())
	total := 0
	for code, n := range a.full {
		total += n + a.counted[code]
	}
	if total != sources || !strings.Contains(f.logs.String(), `"source_ip":"*"`) {
		t.Errorf("%d of %d refusals accounted for after Close (summary under source *: %v)", total, sources, strings.Contains(f.logs.String(), `"source_ip":"*"`))
	}
}
