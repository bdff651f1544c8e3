package broker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/session"
)

// FuzzGitHubTokenAnswer: whatever GitHub's token endpoint answers, the
// broker returns the token or a classified error, and never says the
// request's bearer token.
func FuzzGitHubTokenAnswer(f *testing.F) {
	f.Add(200, []byte(`{"value":"eyJhbGciOi.x.y","count":1}`))
	f.Add(200, []byte(`{"value":""}`))
	f.Add(500, []byte(`oops`))
	f.Add(403, []byte(`{"message":"Bad credentials"}`))
	f.Add(200, []byte(`[1,2]`))
	const bearer = "the-request-bearer-secret"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write(body)
		}))
		defer srv.Close()
		env := map[string]string{envGitHubTokenURL: srv.URL + "/?api-version=2.0", envGitHubTokenToken: bearer}
		b := &Broker{o: Options{Getenv: func(k string) string { return env[k] }, HTTPClient: srv.Client()}}
		tok, err := b.githubToken(context.Background(), "sts.amazonaws.com")
		if err != nil {
			var se *session.Error
			if !errors.As(err, &se) || se.Message == "" {
				t.Fatalf("unclassified error %v", err)
			}
			if strings.Contains(err.Error(), bearer) {
				t.Fatal("the bearer token is in the error")
			}
			return
		}
		if status != 200 || tok == "" || !strings.Contains(string(body), "value") {
			t.Fatalf("token %q from status %d body %q", tok, status, body)
		}
	})
}
