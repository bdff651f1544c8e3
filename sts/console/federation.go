package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/internal/awserr"
)

// signinToken is a SigninToken handed out and not used yet.
type signinToken struct {
	creds    aws.Credentials
	arn      string
	duration time.Duration
	expires  time.Time
}

// SessionJSON is the Session parameter of getSigninToken: a session's temporary
// credentials, in the field names AWS's federation endpoint reads.
type SessionJSON struct {
	SessionID    string `json:"sessionId"`
	SessionKey   string `json:"sessionKey"`
	SessionToken string `json:"sessionToken"`
}

// Session durations a federation login may ask for (SessionDuration), as AWS's.
const (
	minFederatedSession = 15 * time.Minute
	maxFederatedSession = 12 * time.Hour
	// maxSessionParam bounds the Session parameter (a session token is a few KiB).
	maxSessionParam = 16 << 10
)

// federation serves /federation: Action=getSigninToken and Action=login.
func (c *Console) federation(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Use GET or POST.", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	switch r.FormValue("Action") {
	case "getSigninToken":
		c.getSigninToken(w, r)
	case "login":
		c.login(w, r)
	default:
		fedError(w, http.StatusBadRequest, "Action must be getSigninToken or login.")
	}
}

func fedError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// getSigninToken checks the session's credentials with an STS call of the core
// (GetCallerIdentity, signed with them) and answers a SigninToken that may be used
// once within SigninTokenTTL.
func (c *Console) getSigninToken(w http.ResponseWriter, r *http.Request) {
	raw := r.FormValue("Session")
	var sj SessionJSON
	if len(raw) > maxSessionParam || json.Unmarshal([]byte(raw), &sj) != nil ||
		sj.SessionID == "" || sj.SessionKey == "" || sj.SessionToken == "" {
		fedError(w, http.StatusBadRequest, "Session must be the JSON of a session's temporary credentials: sessionId, sessionKey and sessionToken.")
		return
	}
	dur := time.Hour
	if v := r.FormValue("SessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || time.Duration(n)*time.Second < minFederatedSession || time.Duration(n)*time.Second > maxFederatedSession {
			fedError(w, http.StatusBadRequest, "SessionDuration must be a number of seconds from 900 to 43200.")
			return
		}
		dur = time.Duration(n) * time.Second
	}
	creds := aws.Credentials{AccessKeyID: sj.SessionID, SecretAccessKey: sj.SessionKey, SessionToken: sj.SessionToken}
	out, err := c.stsClient(creds).GetCallerIdentity(callCtx(r), &awssts.GetCallerIdentityInput{})
	if err != nil {
		c.log.Info("getSigninToken refused", "access_key_id", sj.SessionID, "code", awserr.Code(err))
		fedError(w, http.StatusForbidden, "The session's credentials are not valid: "+awserr.Code(err)+".")
		return
	}
	tok, err := c.randomToken(48)
	if err != nil {
		c.log.Error("getSigninToken", "error", err)
		fedError(w, http.StatusInternalServerError, "Could not make a sign-in token.")
		return
	}
	t := &signinToken{creds: creds, arn: aws.ToString(out.Arn), duration: dur, expires: c.now().Add(c.o.SigninTokenTTL)}
	if err := c.keepToken(r.Context(), mapKey(tok), t); err != nil {
		c.log.Error("getSigninToken", "error", err)
		fedError(w, http.StatusInternalServerError, "Could not make a sign-in token.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"SigninToken": tok})
}

// login uses a SigninToken (once) and signs the browser in as its session, then
// sends it to Destination (a page of this console).
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	tok := r.FormValue("SigninToken")
	var t *signinToken
	if tok != "" {
		t = c.takeToken(r.Context(), mapKey(tok))
	}
	if t == nil || !c.now().Before(t.expires) {
		c.log.Info("federation login refused: sign-in token unknown, used or expired", "source_ip", clientIP(r))
		fedError(w, http.StatusBadRequest, "The sign-in token is not valid: it expired or was already used. Ask for a new one (getSigninToken).")
		return
	}
	s := &session{creds: t.creds, arn: t.arn, expires: c.now().Add(t.duration)}
	if err := c.startSession(w, r, s); err != nil {
		c.log.Error("federation login", "error", err)
		fedError(w, http.StatusInternalServerError, "Could not start a console session.")
		return
	}
	c.log.Info("federation login", "arn", t.arn, "source_ip", clientIP(r))
	http.Redirect(w, r, destination(r.FormValue("Destination")), http.StatusFound)
}

// destination returns the console path of dest (a path or a URL), or the
// dashboard: login never redirects off the console. The path is cleaned as a
// browser would resolve it ("%2e%2e" is "..").
func destination(dest string) string {
	u, err := url.Parse(dest)
	if err != nil || u.Path == "" {
		return Prefix + "/"
	}
	p := path.Clean("/" + strings.ReplaceAll(u.Path, "\\", "/"))
	if p == Prefix {
		p = Prefix + "/"
	}
	if !strings.HasPrefix(p, Prefix+"/") {
		return Prefix + "/"
	}
	return (&url.URL{Path: p, RawQuery: u.RawQuery}).String()
}
