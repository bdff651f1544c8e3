package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
)

// pendingMFA is a sign-in whose password was right, waiting for the MFA code (kept
// in memory for a few minutes, under the hash of a random token).
type pendingMFA struct {
	user, password string
	expires        time.Time
}

const pendingMFATTL = 5 * time.Minute

type signinView struct {
	CSRF    string
	Account string
	Root    bool
	User    string
	MFA     string // the pending token: ask for the code only
	Msg     string
}

func (v signinView) notice() string { return v.Msg }

// signinCookie holds the sign-in form's CSRF token (double submit): a page of
// another site cannot post a sign-in into this console (login CSRF).
const signinCookie = "credbroker-signin"

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	acct := r.PathValue("account")
	if acct == "" {
		acct = r.URL.Query().Get("account")
	}
	tok, err := c.randomToken(32)
	if err != nil {
		c.render(w, r, nil, "signin", "Sign in", signinView{Account: acct}, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: tok, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(pendingMFATTL / time.Second * 3)})
	c.render(w, r, nil, "signin", "Sign in", signinView{Account: acct, CSRF: tok}, nil)
}

// signinCSRF reports whether the sign-in form's token matches its cookie.
func signinCSRF(r *http.Request) bool {
	ck, err := r.Cookie(signinCookie)
	got := r.PostFormValue("csrf")
	return err == nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) == 1
}

// accountMatches reports whether acct names the core's account, by id or alias.
func (c *Console) accountMatches(r *http.Request, acct string) bool {
	if acct == c.core.AccountID() {
		return true
	}
	aliases, err := c.core.AccountAliases(r.Context())
	if err != nil {
		c.log.Error("reading the account alias", "error", err)
		return false
	}
	for _, a := range aliases {
		if strings.EqualFold(a, acct) {
			return true
		}
	}
	return false
}

func (c *Console) signinPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !signinCSRF(r) {
		http.Error(w, "The sign-in form's token is missing or wrong: open the sign-in page again.", http.StatusForbidden)
		return
	}
	acct := strings.TrimSpace(r.PostFormValue("account"))
	v := signinView{CSRF: r.PostFormValue("csrf"), Account: acct, Root: r.PostFormValue("kind") == "root", User: strings.TrimSpace(r.PostFormValue("user"))}
	in := sts.SignInInput{UserName: v.User, Password: r.PostFormValue("password"), SourceIP: clientIP(r), Duration: c.o.SessionDuration}
	if v.Root {
		in.UserName, v.User = account.RootUserName, ""
	}
	if tok := r.PostFormValue("pending"); tok != "" {
		k := mapKey(tok)
		c.mu.Lock()
		p := c.tokensMFA(k)
		c.mu.Unlock()
		if p == nil {
			c.render(w, r, nil, "signin", "Sign in", v, userError("Your sign-in expired. Sign in again."))
			return
		}
		in.UserName, in.Password, in.MFACode = p.user, p.password, strings.TrimSpace(r.PostFormValue("mfa"))
	} else if !c.accountMatches(r, acct) {
		c.limiter.fail(in.UserName, in.SourceIP)
		c.render(w, r, nil, "signin", "Sign in", v, userError(sts.ErrSignInFailed.Error()))
		return
	}
	if !c.limiter.allowed(in.UserName, in.SourceIP) {
		w.Header().Set("Retry-After", "900")
		v.Msg = ""
		c.renderStatus(w, r, "signin", v, userError("Too many failed sign-ins. Wait 15 minutes and try again."), http.StatusTooManyRequests)
		return
	}
	res, err := c.core.SignIn(r.Context(), in)
	switch {
	case errors.Is(err, sts.ErrMFARequired):
		tok, terr := c.randomToken(32)
		if terr != nil {
			c.render(w, r, nil, "signin", "Sign in", v, terr)
			return
		}
		c.mu.Lock()
		c.sweepLocked()
		c.pending[mapKey(tok)] = &pendingMFA{user: in.UserName, password: in.Password, expires: c.now().Add(pendingMFATTL)}
		c.mu.Unlock()
		v.MFA = tok
		c.render(w, r, nil, "signin", "Multi-factor authentication", v, nil)
		return
	case errors.Is(err, sts.ErrSignInFailed), errors.Is(err, sts.ErrPasswordExpired):
		c.limiter.fail(in.UserName, in.SourceIP)
		c.renderStatus(w, r, "signin", v, userError(err.Error()), http.StatusUnauthorized)
		return
	case err != nil:
		c.render(w, r, nil, "signin", "Sign in", v, err)
		return
	}
	cr := res.Credentials
	s := &session{arn: res.ARN, expires: cr.Expiration, resetRequired: res.PasswordResetRequired,
		creds: aws.Credentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}}
	if err := c.startSession(w, r, s); err != nil {
		c.render(w, r, nil, "signin", "Sign in", v, err)
		return
	}
	back(w, r, Prefix+"/")
}

// tokensMFA takes (once) the pending MFA sign-in of key k; c.mu is held.
func (c *Console) tokensMFA(k string) *pendingMFA {
	p := c.pending[k]
	delete(c.pending, k)
	if p == nil || !c.now().Before(p.expires) {
		return nil
	}
	return p
}

func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, name string, data any, err error, status int) {
	c.render(w, r, nil, name, "Sign in", data, statusError{err, status})
}

// statusError is an error shown with a given HTTP status.
type statusError struct {
	error
	status int
}

func (e statusError) Unwrap() error { return e.error }

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if s := c.session(r); s != nil && !s.checkCSRF(r) {
		http.Error(w, "The request's CSRF token is missing or wrong: reload the page and try again.", http.StatusForbidden)
		return
	}
	c.endSession(w, r)
	http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
}

type changeView struct{ Msg string }

func (v changeView) notice() string { return v.Msg }

func (c *Console) changePasswordPage(w http.ResponseWriter, r *http.Request, s *session) {
	msg := ""
	c.mu.Lock()
	reset := s.resetRequired
	c.mu.Unlock()
	if reset {
		msg = "You must change your password before you continue."
	}
	c.render(w, r, s, "password", "Change password", changeView{Msg: msg}, nil)
}

// changePasswordPost is IAM ChangePassword, called as the signed-in user.
func (c *Console) changePasswordPost(w http.ResponseWriter, r *http.Request, s *session) {
	old, nw := r.PostFormValue("old"), r.PostFormValue("new")
	if nw != r.PostFormValue("confirm") {
		c.render(w, r, s, "password", "Change password", changeView{}, userError("The new passwords do not match."))
		return
	}
	_, err := c.client(s).ChangePassword(callCtx(r), &iam.ChangePasswordInput{OldPassword: aws.String(old), NewPassword: aws.String(nw)})
	if err != nil {
		c.render(w, r, s, "password", "Change password", changeView{}, err)
		return
	}
	c.mu.Lock()
	s.resetRequired = false
	c.mu.Unlock()
	if err := c.saveSession(r.Context(), s); err != nil {
		c.log.Error("keeping the changed session", "error", err)
	}
	back(w, r, Prefix+"/")
}
