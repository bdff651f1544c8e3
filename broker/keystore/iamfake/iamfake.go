// Package iamfake is an in-memory IAM and STS endpoint for tests: one IAM
// user and its access keys, the actions key rotation uses
// (GetCallerIdentity, ListAccessKeys, CreateAccessKey, DeleteAccessKey),
// answered in the Query protocol's XML, with every request's SigV4
// signature checked against the stored secret. Real SDK clients (and the
// AWS CLI) talk to it through httptest and AWS_ENDPOINT_URL_IAM/_STS.
package iamfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Server is the fake. Its exported fields may be changed between requests
// under the test's control; use the methods while requests run.
type Server struct {
	mu      sync.Mutex
	account string
	user    string
	keys    map[string]*key
	calls   map[string]int
	// newKeyDelay: requests signed with a key created here are refused
	// (InvalidClientTokenId) this many times first, as AWS does for a few
	// seconds.
	newKeyDelay int
	fail        map[string]string // action → error code to answer with
}

type key struct {
	secret  string
	created time.Time
	refuse  int
}

// New returns a fake for IAM user user of account.
func New(account, user string) *Server {
	return &Server{account: account, user: user, keys: map[string]*key{}, calls: map[string]int{}, fail: map[string]string{}}
}

// AddKey gives the user an access key.
func (s *Server) AddKey(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = &key{secret: secret, created: time.Now().UTC()}
}

// SetNewKeyDelay makes keys created from now on refused n times first.
func (s *Server) SetNewKeyDelay(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newKeyDelay = n
}

// FailAction makes action answer with AWS error code (AccessDenied,
// ServiceUnavailable...) until cleared with code "".
func (s *Server) FailAction(action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.fail, action)
		return
	}
	s.fail[action] = code
}

// Keys returns the user's access key ids, sorted.
func (s *Server) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Secret returns the secret of key id ("" if there is none).
func (s *Server) Secret(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[id]; k != nil {
		return k.secret
	}
	return ""
}

// Calls returns how many times action was answered successfully.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

type apiError struct {
	status  int
	code    string
	message string
}

var errorStatus = map[string]int{
	"AccessDenied": 403, "InvalidClientTokenId": 403, "SignatureDoesNotMatch": 403,
	"NoSuchEntity": 404, "LimitExceeded": 409, "ServiceUnavailable": 503, "Throttling": 400,
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	service, action, resp, aerr := s.handle(r, body)
	ns := "https://iam.amazonaws.com/doc/2010-05-08/"
	if service == "sts" {
		ns = "https://sts.amazonaws.com/doc/2011-06-15/"
	}
	w.Header().Set("Content-Type", "text/xml")
	if aerr != nil {
		w.WriteHeader(aerr.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>`,
			ns, aerr.code, xmlEscape(aerr.message))
		return
	}
	fmt.Fprintf(w, `<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata></%sResponse>`, action, ns, resp, action)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// handle authenticates and answers one request.
func (s *Server) handle(r *http.Request, body []byte) (service, action, resp string, aerr *apiError) {
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		return "", "", "", &apiError{400, "InvalidRequest", "expected a form-encoded POST"}
	}
	action = form.Get("Action")
	keyID, service, verr := s.verify(r, body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if verr != nil {
		return service, action, "", verr
	}
	if k := s.keys[keyID]; k.refuse > 0 {
		k.refuse--
		return service, action, "", &apiError{403, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	if code := s.fail[action]; code != "" {
		st := errorStatus[code]
		if st == 0 {
			st = 400
		}
		return service, action, "", &apiError{st, code, "injected failure"}
	}
	arn := fmt.Sprintf("arn:aws:iam::%s:user/%s", s.account, s.user)
	switch service + ":" + action {
	case "sts:GetCallerIdentity":
		resp = fmt.Sprintf(`<GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDAFAKEUSERID000001</UserId><Account>%s</Account></GetCallerIdentityResult>`, arn, s.account)
	case "iam:ListAccessKeys":
		var members strings.Builder
		ids := make([]string, 0, len(s.keys))
		for id := range s.keys {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			fmt.Fprintf(&members, `<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><CreateDate>%s</CreateDate></member>`,
				s.user, id, s.keys[id].created.Format(time.RFC3339))
		}
		resp = fmt.Sprintf(`<ListAccessKeysResult><UserName>%s</UserName><AccessKeyMetadata>%s</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>`, s.user, members.String())
	case "iam:CreateAccessKey":
		if len(s.keys) >= 2 {
			return service, action, "", &apiError{409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"}
		}
		id, secret := "AKIA"+randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
		now := time.Now().UTC()
		s.keys[id] = &key{secret: secret, created: now, refuse: s.newKeyDelay}
		resp = fmt.Sprintf(`<CreateAccessKeyResult><AccessKey><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><SecretAccessKey>%s</SecretAccessKey><CreateDate>%s</CreateDate></AccessKey></CreateAccessKeyResult>`,
			s.user, id, secret, now.Format(time.RFC3339))
	case "iam:DeleteAccessKey":
		id := form.Get("AccessKeyId")
		if s.keys[id] == nil {
			return service, action, "", &apiError{404, "NoSuchEntity", fmt.Sprintf("The Access Key with id %s cannot be found.", id)}
		}
		delete(s.keys, id)
	default:
		return service, action, "", &apiError{400, "InvalidAction", fmt.Sprintf("Could not find operation %s for %s", action, service)}
	}
	s.calls[action]++
	return service, action, resp, nil
}

// verify checks the request's SigV4 signature with the key's secret, by
// signing the same request again with the SDK's signer.
func (s *Server) verify(r *http.Request, body []byte) (keyID, service string, _ *apiError) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "", "", &apiError{403, "MissingAuthenticationToken", "Request is missing Authentication Token"}
	}
	parts := map[string]string{}
	for _, p := range strings.Split(auth[len(algo):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 {
		return "", "", &apiError{400, "IncompleteSignature", "bad Credential"}
	}
	keyID, region, service := scope[0], scope[2], scope[3]
	s.mu.Lock()
	k := s.keys[keyID]
	s.mu.Unlock()
	if k == nil {
		return keyID, service, &apiError{403, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return keyID, service, &apiError{400, "IncompleteSignature", "bad X-Amz-Date"}
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	again.Host = r.Host
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: k.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), service, region, when); err != nil {
		return keyID, service, &apiError{500, "InternalFailure", err.Error()}
	}
	want := again.Header.Get("Authorization")
	wantSig := want[strings.LastIndex(want, "Signature=")+len("Signature="):]
	if subtle.ConstantTimeCompare([]byte(wantSig), []byte(parts["Signature"])) != 1 {
		return keyID, service, &apiError{403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."}
	}
	return keyID, service, nil
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
