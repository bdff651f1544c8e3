package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/internal/awserr"
	"github.com/credbroker/credbroker/sts/query"
)

// routes builds the console's mux. Pages need a session; a session whose password
// must change sees only the change-password page; every POST needs the CSRF token.
func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc(FederationPath, c.federation)
	m.HandleFunc("GET "+Prefix+"/signin", c.signinPage)
	m.HandleFunc("GET "+Prefix+"/signin/{account}", c.signinPage)
	m.HandleFunc("POST "+Prefix+"/signin", c.signinPost)
	m.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix, http.FileServerFS(staticFS)))
	m.HandleFunc("POST "+Prefix+"/signout", c.signout)

	page := func(pattern string, h pageHandler) { m.Handle(pattern, c.authed(h, false)) }
	m.Handle("GET "+Prefix+"/change-password", c.authed(c.changePasswordPage, true))
	m.Handle("POST "+Prefix+"/change-password", c.authed(c.changePasswordPost, true))
	page("GET "+Prefix+"/{$}", c.dashboard)
	page("GET "+Prefix+"/users", c.usersPage)
	page("POST "+Prefix+"/users", c.createUser)
	page("GET "+Prefix+"/users/{name}", c.userPage)
	page("POST "+Prefix+"/users/{name}/{op}", c.userOp)
	page("GET "+Prefix+"/groups", c.groupsPage)
	page("POST "+Prefix+"/groups", c.createGroup)
	page("GET "+Prefix+"/groups/{name}", c.groupPage)
	page("POST "+Prefix+"/groups/{name}/{op}", c.groupOp)
	page("GET "+Prefix+"/roles", c.rolesPage)
	page("POST "+Prefix+"/roles", c.createRole)
	page("GET "+Prefix+"/roles/{name}", c.rolePage)
	page("POST "+Prefix+"/roles/{name}/{op}", c.roleOp)
	page("GET "+Prefix+"/policies", c.policiesPage)
	page("POST "+Prefix+"/policies", c.createPolicy)
	page("GET "+Prefix+"/policy", c.policyPage)
	page("POST "+Prefix+"/policy/{op}", c.policyOp)
	page("POST "+Prefix+"/validate", c.validate)
	page("GET "+Prefix+"/account", c.accountPage)
	page("POST "+Prefix+"/account/{op}", c.accountOp)
	page("GET "+Prefix+"/credential-report", c.reportPage)
	m.Handle(Prefix+"/", http.NotFoundHandler())
	c.mux = m
}

// pageHandler serves one page for a signed-in session.
type pageHandler func(w http.ResponseWriter, r *http.Request, s *session)

// authed wraps h: it needs a live session (else the sign-in page), a CSRF token on
// every POST, and a changed password unless resetOK.
func (c *Console) authed(h pageHandler, resetOK bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "You are not signed in. Sign in again.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !s.checkCSRF(r) {
				c.log.Info("console request refused: CSRF token missing or wrong", "arn", s.arn, "path", r.URL.Path)
				http.Error(w, "The request's CSRF token is missing or wrong: reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		c.mu.Lock()
		reset := s.resetRequired
		c.mu.Unlock()
		if reset && !resetOK {
			http.Redirect(w, r, Prefix+"/change-password", http.StatusSeeOther)
			return
		}
		h(w, r, s)
	})
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string
	CSRF   string
	ARN    string
	Error  string
	Notice string
	Data   any
}

// render writes page name; err, if set, is shown in the page's alert (an IAM
// error's code and message, as IAM words them: "… is not authorized to perform:
// iam:ListUsers …").
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, name, title string, data any, err error) {
	v := view{Title: title, Nav: name, Data: data}
	if s != nil {
		v.CSRF, v.ARN = s.csrf, s.arn
	}
	status := http.StatusOK
	if err != nil {
		v.Error = errText(err)
		status = errStatus(err)
	}
	if n, ok := data.(interface{ notice() string }); ok {
		v.Notice = n.notice()
	}
	t := c.pages[name]
	if t == nil {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", v); err != nil {
		c.log.Error("rendering a console page", "page", name, "error", err)
	}
}

// errText is the message a page shows for err: an IAM error's code and message; for
// anything else a generic text (the cause goes only to the log).
func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	var se statusError
	if errors.As(err, &se) {
		return errText(se.error)
	}
	var ue userError
	if errors.As(err, &ue) {
		return string(ue)
	}
	// The core's own errors (EnableRootMFA): IAM's code and message; anything
	// else is InternalFailure with a generic message.
	qe := query.Classify(err)
	if qe.Code != query.CodeInternalFailure {
		return qe.Code + ": " + qe.Message
	}
	return "The request failed. See the core's log."
}

func errStatus(err error) int {
	var se statusError
	if errors.As(err, &se) {
		return se.status
	}
	switch code := awserr.Code(err); {
	case code == "AccessDenied":
		return http.StatusForbidden
	case code == "NoSuchEntity":
		return http.StatusNotFound
	case code != "" || errors.As(err, new(userError)):
		return http.StatusBadRequest
	}
	if qe := query.Classify(err); qe.Code != query.CodeInternalFailure {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// userError is a message for the user about their input.
type userError string

func (e userError) Error() string { return string(e) }

// back redirects to the page a form came from (a console path only).
func back(w http.ResponseWriter, r *http.Request, path string) {
	if !strings.HasPrefix(path, Prefix+"/") {
		path = Prefix + "/"
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// errNoOp is what an entity page's operation switch sets for an operation the page
// does not have.
var errNoOp = errors.New("console: no such operation")

// opDone ends an entity page's operation (POST …/{op}): an operation the page does
// not have is 404; a failed one shows the page again with the error (rerender); a
// done "delete" goes back to the list, any other operation back to the entity's page.
func opDone(w http.ResponseWriter, r *http.Request, err error, list, page string, rerender func(error)) {
	switch {
	case errors.Is(err, errNoOp):
		http.NotFound(w, r)
	case err != nil:
		rerender(err)
	case r.PathValue("op") == "delete":
		back(w, r, list)
	default:
		back(w, r, page)
	}
}
