package samlsp_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzPost: any form posted to /saml gets a page of ours (never a server error
// nor a panic), and is never logged.
func FuzzPost(f *testing.F) {
	fx := newFixture(f)
	f.Add("SAMLResponse=" + url.QueryEscape("PHNhbWxwOlJlc3BvbnNlLz4="))
	f.Add("nonce=x&roleIndex=0")
	f.Add("SAMLResponse=%zz&RelayState=http://127.0.0.1:8975/saml")
	f.Add("nonce=&roleIndex=-1&SAMLResponse=")
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, fx.acs, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		fx.c.Core.Handler().ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code >= 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("answer %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if len(body) > 16 && strings.Contains(fx.c.Logs.String(), body) {
			t.Error("the form posted is in the log")
		}
	})
}
