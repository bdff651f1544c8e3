package samlsp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credbroker/credbroker/internal/inprocess"
)

// toConsole signs the browser in to the console as the session, through the
// console's federation endpoint (getSigninToken in-process, then its login on
// the browser's request), and sends it on with a page of this origin rather than
// a redirect, so that the console's SameSite=Strict cookie goes along even where
// a browser counts a redirect chain begun by the IdP's cross-site POST as
// cross-site (Chromium 156 here sends it after a plain redirect too: tried).
func (s *SP) toConsole(w http.ResponseWriter, r *http.Request, c *ststypes.Credentials, relay string) error {
	left := min(max(aws.ToTime(c.Expiration).Sub(s.o.Now()), 15*time.Minute), 12*time.Hour)
	session, err := json.Marshal(map[string]string{"sessionId": aws.ToString(c.AccessKeyId), "sessionKey": aws.ToString(c.SecretAccessKey), "sessionToken": aws.ToString(c.SessionToken)})
	if err != nil {
		return err
	}
	form := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}, "SessionDuration": {strconv.Itoa(int(left / time.Second))}}
	req, err := http.NewRequestWithContext(inprocess.WithRemoteAddr(r.Context(), r.RemoteAddr), http.MethodPost, "http://localhost/federation",
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr, err := (&http.Client{Transport: inprocess.Transport(s.o.Console)}).Do(req)
	if err != nil {
		return err
	}
	defer hr.Body.Close()
	var tok struct{ SigninToken string }
	if err := json.NewDecoder(io.LimitReader(hr.Body, 64<<10)).Decode(&tok); err != nil || hr.StatusCode != http.StatusOK || tok.SigninToken == "" {
		return fmt.Errorf("getSigninToken answered %s", hr.Status)
	}
	login := r.Clone(r.Context())
	login.Method, login.Body, login.ContentLength = http.MethodGet, http.NoBody, 0
	login.Form, login.PostForm = nil, nil
	login.Header = r.Header.Clone()
	login.Header.Del("Content-Type")
	q := url.Values{"Action": {"login"}, "SigninToken": {tok.SigninToken}, "Destination": {relay}}
	login.URL = &url.URL{Path: "/federation", RawQuery: q.Encode()}
	login.RequestURI = login.URL.RequestURI()
	rw := &redirectPage{ResponseWriter: w}
	s.o.Console.ServeHTTP(rw, login)
	if !rw.done {
		return fmt.Errorf("the console's federation login answered %d", rw.status)
	}
	return nil
}

// handoff has the browser post the response on to a `credbroker login` callback.
func handoff(w http.ResponseWriter, cb, resp string) {
	u, _ := url.Parse(cb)
	secure(w.Header(), " "+u.Scheme+"://"+u.Host)
	page(w, http.StatusOK, pageData{Title: "Signing in", Message: "Handing your sign-in to credbroker login on this computer…",
		HandOff: cb, Response: resp})
}
