package rolesanywhere

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
)

// The X.509 signing algorithms of CreateSession.
const (
	AlgRSA   = "AWS4-X509-RSA-SHA256"
	AlgECDSA = "AWS4-X509-ECDSA-SHA256"
)

// x509Auth is a parsed X.509 Authorization header.
type x509Auth struct {
	alg, serial, date, region, service, signedHeaders string
	signature                                         []byte
}

// parseX509Auth parses "ALG Credential=SERIAL/DATE/REGION/rolesanywhere/aws4_request,
// SignedHeaders=…, Signature=HEX".
func parseX509Auth(h string) (x509Auth, error) {
	var a x509Auth
	alg, rest, _ := strings.Cut(h, " ")
	if alg != AlgRSA && alg != AlgECDSA {
		return a, invalid("Unsupported signing algorithm.")
	}
	a.alg = alg
	var cred, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			sig = v
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || a.signedHeaders == "" || sig == "" {
		return a, invalid("Authorization header requires Credential=SERIAL/DATE/REGION/rolesanywhere/aws4_request, SignedHeaders and Signature.")
	}
	a.serial, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	if a.service != ServiceName {
		return a, invalid("Credential should be scoped to correct service: 'rolesanywhere'.")
	}
	var err error
	if a.signature, err = hex.DecodeString(sig); err != nil {
		return a, invalid("Signature must be hex.")
	}
	return a, nil
}

// parseCertHeader reads one base64 DER certificate of X-Amz-X509 or X-Amz-X509-Chain.
func parseCertHeader(v string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, invalid("The X.509 certificate header is not base64.")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, invalid("The X.509 certificate does not parse.")
	}
	return c, nil
}

// verifySignature checks the request's signature with the leaf's public key.
func verifySignature(r *http.Request, body []byte, a x509Auth, amzDate string, leaf *x509.Certificate) error {
	canon := signer.CanonicalRequest(r, a.signedHeaders, body)
	crHash := sha256.Sum256(canon)
	sts := a.alg + "\n" + amzDate + "\n" + a.date + "/" + a.region + "/" + a.service + "/aws4_request\n" + hex.EncodeToString(crHash[:])
	digest := sha256.Sum256([]byte(sts))
	bad := denied("Invalid signature") // the real service's words (rolesanywhere-credential-helper#128)
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if a.alg != AlgRSA || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], a.signature) != nil {
			return bad
		}
	case *ecdsa.PublicKey:
		if a.alg != AlgECDSA || !ecdsa.VerifyASN1(pub, digest[:], a.signature) {
			return bad
		}
	default:
		return invalid("The certificate's key must be RSA or ECDSA.")
	}
	return nil
}

// sessionRequest is CreateSession's input: profileArn, roleArn and trustAnchorArn in
// the query (or the body), the rest in the body.
type sessionRequest struct {
	ProfileARN      string `json:"profileArn"`
	RoleARN         string `json:"roleArn"`
	TrustAnchorARN  string `json:"trustAnchorArn"`
	DurationSeconds *int64 `json:"durationSeconds"`
	RoleSessionName string `json:"roleSessionName"`
}

func readSessionRequest(r *http.Request, body []byte) (sessionRequest, error) {
	var in sessionRequest
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return in, invalid("The request body is not valid JSON.")
		}
	}
	q := r.URL.Query()
	for k, dst := range map[string]*string{"profileArn": &in.ProfileARN, "roleArn": &in.RoleARN, "trustAnchorArn": &in.TrustAnchorARN} {
		if v := q.Get(k); v != "" {
			*dst = v
		}
	}
	switch {
	case in.ProfileARN == "":
		return in, invalid("profileArn is required.")
	case in.RoleARN == "":
		return in, invalid("roleArn is required.")
	case in.TrustAnchorARN == "":
		return in, invalid("trustAnchorArn is required.")
	}
	return in, nil
}

// credentialSet is one entry of CreateSession's credentialSet.
type credentialSet struct {
	AssumedRoleUser struct {
		ARN           string `json:"arn"`
		AssumedRoleID string `json:"assumedRoleId"`
	} `json:"assumedRoleUser"`
	Credentials struct {
		AccessKeyID     string `json:"accessKeyId"`
		Expiration      string `json:"expiration"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
	} `json:"credentials"`
	PackedPolicySize int    `json:"packedPolicySize"`
	RoleARN          string `json:"roleArn"`
	SourceIdentity   string `json:"sourceIdentity"`
}

type sessionResult struct {
	CredentialSet []credentialSet `json:"credentialSet"`
	SubjectARN    string          `json:"subjectArn"`
}

// createSession is CreateSession: authenticate the certificate, check it against the
// trust anchor and its CRLs, the profile and the role's trust policy, and mint.
func (a *API) createSession(ctx context.Context, r *http.Request, body []byte, aud *audit) (_ any, err error) {
	auth, err := parseX509Auth(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || auth.date != amzDate[:8] {
		return nil, invalid("X-Amz-Date must be YYYYMMDDTHHMMSSZ and match the date of the credential scope.")
	}
	now := a.core.Now()
	if d := now.Sub(t); d > a.o.MaxSkew || d < -a.o.MaxSkew {
		return nil, denied("Signature expired: the request's X-Amz-Date is too far from the server's time (clock skew).")
	}
	leafHdr := r.Header.Get("X-Amz-X509")
	if leafHdr == "" {
		return nil, invalid("The X-Amz-X509 header is required.")
	}
	leaf, err := parseCertHeader(leafHdr)
	if err != nil {
		return nil, err
	}
	if leaf.SerialNumber.String() != auth.serial {
		return nil, denied("The serial number in the credential scope is not the certificate's.")
	}
	if err := verifySignature(r, body, auth, amzDate, leaf); err != nil {
		return nil, err
	}
	aud.subject, aud.serial = shorten(leaf.Subject.String()), serialHex(leaf.SerialNumber)
	var chain []*x509.Certificate
	if h := r.Header.Get("X-Amz-X509-Chain"); h != "" {
		for _, v := range strings.Split(h, ",") {
			c, err := parseCertHeader(v)
			if err != nil {
				return nil, err
			}
			chain = append(chain, c)
		}
	}
	in, err := readSessionRequest(r, body)
	if err != nil {
		return nil, err
	}
	aud.role = shorten(in.RoleARN)
	acct := a.core.AccountID()

	ents, err := a.entities.get(ctx, a.core.Store())
	if err != nil {
		return nil, err
	}

	// The trust anchor: enabled, and the certificate chains to it.
	ta, err := enabledEntity(ents.anchors, kindAnchor, "Trust anchor", in.TrustAnchorARN, acct, func(e *anchorEntry) bool { return e.Enabled })
	if err != nil {
		return nil, err
	}
	verified, err := a.verifyChain(ta, leaf, chain, now)
	if err != nil {
		return nil, err
	}
	// The certificate chains to a trust anchor: its subject is recorded, with whether
	// the session was refused from here on (ListSubjects, GetSubject).
	subjectID := subjectIDOf(leaf)
	subjectARN := "arn:" + account.Partition + ":" + ServiceName + ":" + auth.region + ":" + acct + ":" + kindSubject + "/" + subjectID
	defer func() { a.noteSubject(leaf, subjectID, subjectARN, now, err != nil) }()
	if err := checkRevoked(ents.crls[ta.ARN], verified); err != nil {
		return nil, err
	}

	// The profile: enabled, and it lists the role.
	p, err := enabledEntity(ents.profiles, kindProfile, "Profile", in.ProfileARN, acct, func(e *profile) bool { return e.Enabled })
	if err != nil {
		return nil, err
	}
	if !containsString(p.RoleARNs, in.RoleARN) {
		return nil, denied("Profile does not contain the requested role: " + shorten(in.RoleARN))
	}
	dur := time.Duration(p.DurationSeconds) * time.Second
	if in.DurationSeconds != nil {
		d := *in.DurationSeconds
		if d < 900 || d > 43200 {
			return nil, invalid("durationSeconds must be between 900 and 43200.")
		}
		dur = min(dur, time.Duration(d)*time.Second)
	}
	name := serialHex(leaf.SerialNumber)
	if in.RoleSessionName != "" {
		if !p.AcceptRoleSessionName {
			return nil, denied("Not authorized to set roleSessionName.") // the real service's words (rolesanywhere-credential-helper#19)
		}
		name = in.RoleSessionName
	}
	cn := leaf.Subject.CommonName
	sourceIdentity := ""
	if cn != "" {
		sourceIdentity = "CN=" + cn
	}
	rs, err := a.core.AssumeRoleForService(ctx, sts.ServiceSession{
		Service: ServicePrincipal, RoleARN: in.RoleARN, SessionName: name, SourceIdentity: sourceIdentity,
		Tags:     certTags(leaf, p.AttributeMappings),
		Keys:     []policy.ContextKey{{Name: "aws:SourceArn", Values: []string{ta.ARN}}, {Name: "aws:SourceAccount", Values: []string{acct}}},
		Duration: dur, Policy: compactPolicy(p.SessionPolicy), PolicyARNs: p.ManagedPolicyARNs,
		SourceIP: peerAddr(r), SecureTransport: r.TLS != nil,
	})
	switch {
	case errors.Is(err, sts.ErrServiceDenied):
		return nil, &apiError{code: "AccessDeniedException", status: http.StatusForbidden,
			message: "Unable to assume role for arn: " + shorten(in.RoleARN), cause: err}
	case errors.Is(err, sts.ErrSessionTooLong):
		return nil, invalid("The requested duration exceeds the role's MaxSessionDuration.")
	case err != nil:
		return nil, err
	}
	var cs credentialSet
	cs.AssumedRoleUser.ARN, cs.AssumedRoleUser.AssumedRoleID = rs.ARN, rs.AssumedRoleID
	cs.Credentials.AccessKeyID, cs.Credentials.SecretAccessKey, cs.Credentials.SessionToken = rs.AccessKeyID, rs.SecretAccessKey, rs.SessionToken
	cs.Credentials.Expiration = rs.Expiration.UTC().Format("2006-01-02T15:04:05Z")
	cs.RoleARN, cs.SourceIdentity = in.RoleARN, sourceIdentity
	return sessionResult{CredentialSet: []credentialSet{cs}, SubjectARN: subjectARN}, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func serialHex(n *big.Int) string { return n.Text(16) }

func uuidOf(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func compactPolicy(doc string) string {
	if doc == "" {
		return ""
	}
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return doc
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// verifyChain verifies leaf, with the intermediates of chain, to a CA of the anchor's
// bundle at now, and returns the verified chain (leaf first). A chain that verified
// before is taken from the cache, its validity periods checked again.
func (a *API) verifyChain(ta *anchorEntry, leaf *x509.Certificate, chain []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, denied("Certificate is expired or not yet valid")
	}
	k := chainKey(ta, leaf, chain)
	if v, ok := a.chains.get(k, now); ok {
		return v, nil
	}
	v, err := verifyChain(ta.roots, leaf, chain, now)
	if err == nil {
		a.chains.put(k, v)
	}
	return v, err
}

func verifyChain(roots *x509.CertPool, leaf *x509.Certificate, chain []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range chain {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, denied("Certificate is expired or not yet valid")
		}
		return nil, &apiError{code: "AccessDeniedException", status: http.StatusForbidden,
			message: "Untrusted certificate. Insufficient certificate", cause: err}
	}
	return chains[0], nil
}

// enabledEntity is the entity of kind (kindAnchor, kindProfile) in the account acct that
// arn names, looked up by id in byID, once enabled says it is enabled; otherwise the
// service's answer naming it by noun: "<noun> not found" or "<noun> is disabled".
func enabledEntity[T any](byID map[string]*T, kind, noun, arn, acct string, enabled func(*T) bool) (*T, error) {
	k, id, ok := parseEntityARN(arn, acct)
	e := byID[id]
	if !ok || k != kind || e == nil {
		return nil, notFound(noun + " not found")
	}
	if !enabled(e) {
		return nil, denied(noun + " is disabled")
	}
	return e, nil
}

// checkRevoked refuses a chain any certificate of which one of the anchor's enabled
// CRLs, signed by the certificate's issuer, lists.
func checkRevoked(crls []*x509.RevocationList, chain []*x509.Certificate) error {
	for _, rl := range crls {
		for i := 0; i+1 < len(chain); i++ {
			cert, issuer := chain[i], chain[i+1]
			if rl.CheckSignatureFrom(issuer) != nil {
				continue
			}
			for _, e := range rl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
					return denied("Certificate revoked")
				}
			}
		}
	}
	return nil
}

func peerAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
