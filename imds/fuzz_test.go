package imds

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/clocktest"
)

// fuzzRequest builds a request as net/http would hand it to the handler,
// from a method, a path, a Host and a block of "Name: value" header lines.
func fuzzRequest(method, path, host, headers string) *http.Request {
	h := http.Header{}
	for _, line := range strings.Split(headers, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	r := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: h, Host: host,
		RemoteAddr: "127.0.0.1:40000", Body: http.NoBody, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	local := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:8911"))
	return r.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, local))
}

func FuzzEC2Router(f *testing.F) {
	clock := clocktest.New(clocktest.Start)
	src := newFakeSource(clock)
	log, logs := testLogger(f)
	h, err := NewEC2(src, func(o *EC2Options) { o.Now = clock.Now; o.Logger = log })
	if err != nil {
		f.Fatal(err)
	}
	tok := h.tokens.mint(clock.Now().Add(time.Hour))
	for _, s := range []struct{ m, p, host, hdr string }{
		{"PUT", TokenPath, "127.0.0.1:8911", TokenTTLHeader + ": 21600"},
		{"PUT", TokenPath, "169.254.169.254", TokenTTLHeader + ": 60\nX-Forwarded-For: 1.2.3.4"},
		{"GET", "/latest/meta-data/iam/security-credentials/", "127.0.0.1:8911", TokenHeader + ": " + tok},
		{"GET", "/latest/meta-data/iam/security-credentials/dev-admin", "localhost", TokenHeader + ": " + tok},
		{"GET", "/latest/meta-data/iam/security-credentials-extended/dev-admin/", "localhost", TokenHeader + ": " + tok},
		{"GET", "/latest/dynamic/instance-identity/document", "[fd00:ec2::254]", TokenHeader + ": " + tok},
		{"HEAD", "/latest/meta-data/iam/info", "evil.example", TokenHeader + ": " + tok},
		{"OPTIONS", "/", "127.0.0.1", ""},
		{"GET", "/latest/meta-data/iam/security-credentials/../../", "127.0.0.1", TokenHeader + ": garbage"},
	} {
		f.Add(s.m, s.p, s.host, s.hdr)
	}
	f.Fuzz(func(t *testing.T, method, path, host, headers string) {
		r := fuzzRequest(method, path, host, headers)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 401, 403, 404, 405:
		default:
			t.Fatalf("%s %q: status %d", method, path, w.Code)
		}
		if strings.Contains(logs.String(), "panicked") {
			t.Fatalf("%s %q: handler panicked: %s", method, path, logs.String())
		}
		if w.Code != 200 {
			return
		}
		if !h.guard.hostAllowed(host, netip.MustParseAddr("127.0.0.1")) {
			t.Fatalf("200 for Host %q", host)
		}
		if path == TokenPath {
			if method != "PUT" || len(r.Header.Values("X-Forwarded-For")) != 0 {
				t.Fatalf("token minted for %s with headers %v", method, r.Header)
			}
			if err := h.tokens.verify(w.Body.String(), clock.Now()); err != nil {
				t.Fatalf("minted token does not verify: %v", err)
			}
			return
		}
		if method != "GET" && method != "HEAD" {
			t.Fatalf("200 for method %q", method)
		}
		if v := r.Header.Values(TokenHeader); len(v) != 1 || h.tokens.verify(v[0], clock.Now()) != nil {
			t.Fatalf("200 without a valid token (headers %q)", headers)
		}
		if strings.Contains(path, "/security-credentials") && strings.Contains(w.Body.String(), "AccessKeyId") &&
			!strings.Contains(path, "/dev-admin") {
			t.Fatalf("credentials served for path %q", path)
		}
	})
}

func FuzzContainerRouter(f *testing.F) {
	clock := clocktest.New(clocktest.Start)
	src := newFakeSource(clock)
	tokens := NewTokenSet()
	const tok = "c0ntainer-t0ken-for-fuzzing"
	tokens.Add(tok, "")
	log, logs := testLogger(f)
	h, err := NewContainer(src, tokens, func(o *ContainerOptions) { o.Now = clock.Now; o.Logger = log })
	if err != nil {
		f.Fatal(err)
	}
	f.Add("GET", "/v1/credentials", "127.0.0.1:8912", "Authorization: "+tok)
	f.Add("GET", "/v1/credentials", "169.254.170.2", "Authorization: Bearer "+tok)
	f.Add("POST", "/v1/credentials", "localhost", "Authorization: "+tok+"\nAuthorization: "+tok)
	f.Add("GET", "/v1/credentials/", "evil.example", "")
	f.Fuzz(func(t *testing.T, method, path, host, headers string) {
		r := fuzzRequest(method, path, host, headers)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 401, 403, 404, 405:
		default:
			t.Fatalf("%s %q: status %d", method, path, w.Code)
		}
		if strings.Contains(logs.String(), "panicked") {
			t.Fatalf("handler panicked: %s", logs.String())
		}
		if w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
		}
		if w.Code == 200 && (r.Header.Get("Authorization") != tok || path != DefaultContainerPath) {
			t.Fatalf("200 for Authorization %q path %q", r.Header.Get("Authorization"), path)
		}
		if strings.Contains(w.Body.String(), tok) {
			t.Fatal("response contains the token")
		}
	})
}

func FuzzTokenVerify(f *testing.F) {
	m := newTokenMinter([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Unix(1_700_000_000, 0)
	good := m.mint(now.Add(time.Minute))
	f.Add(good)
	f.Add(good[:len(good)-1] + "A")
	f.Add("")
	f.Add(strings.Repeat("A", tokenEncLen))
	f.Fuzz(func(t *testing.T, tok string) {
		err := m.verify(tok, now)
		if err == nil && tok != good {
			t.Fatalf("forged token %q verified", tok)
		}
	})
}

// FuzzUserToken: only the tokens UserToken derived are accepted, each for
// its own uid.
func FuzzUserToken(f *testing.F) {
	s := NewTokenSet()
	s.SetUserKey([]byte("0123456789abcdef0123456789abcdef"))
	good, _ := s.UserToken(1001)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add("cbu1.1002." + good[len("cbu1.1001."):])
	f.Add("cbu1.")
	f.Add("cbu1.4294967295.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		b, ok := s.Binding(tok)
		if !ok {
			return
		}
		want, _ := s.UserToken(b.UID)
		if tok != want || !b.UIDBound || b.Role != "" {
			t.Fatalf("forged token %q accepted as %+v", tok, b)
		}
	})
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"1", "21600", "21601", "0", "+5", "-5", " 5", "05", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTTL([]string{s})
		n, err := strconv.Atoi(s)
		want := err == nil && n >= 1 && n <= MaxTokenTTL && s[0] >= '0' && s[0] <= '9'
		if ok != want || (ok && got != n) {
			t.Fatalf("parseTTL(%q) = %d %v, want %d %v", s, got, ok, n, want)
		}
	})
}
