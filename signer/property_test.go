package signer_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/signer"
)

var (
	propertySeed  = flag.Uint64("signer.seed", 1, "seed of the SDK property test (0: from the clock)")
	propertyCases = flag.Int("signer.cases", 400, "requests the SDK property test signs")
)

// TestSDKSignedRequestsVerify is the property test: requests signed by aws-sdk-go-v2's
// own v4 signer (random methods, paths, queries, headers, bodies, with and without
// session tokens, header auth and presigned) verify once they have been written to the
// wire and parsed as net/http's server parses them; the same request with any one byte
// of a signed part changed does not verify; a changed unsigned header does not matter.
func TestSDKSignedRequestsVerify(t *testing.T) {
	seed := *propertySeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -signer.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	sdk := v4.NewSigner()
	var mutations, presigned, tokens int
	for i := range *propertyCases {
		g := genRequest(rng)
		wire, signedNames := g.sign(t, sdk)
		if g.presign {
			presigned++
		}
		if g.creds.SessionToken != "" {
			tokens++
		}
		lookup := signer.KeyLookupFunc(func(_ context.Context, id, token string) (string, error) {
			if id != g.creds.AccessKeyID || token != g.creds.SessionToken {
				return "", signer.InvalidToken()
			}
			return g.creds.SecretAccessKey, nil
		})
		v := signer.New(lookup, func(o *signer.Options) { o.Now = func() time.Time { return g.now } })

		res, err := verifyWire(v, wire)
		if err != nil {
			t.Fatalf("case %d: SDK-signed request does not verify: %v\n%s\n%s", i, err, wire, debugOf(err))
		}
		if res.AccessKeyID != g.creds.AccessKeyID || res.SessionToken != g.creds.SessionToken ||
			res.Presigned != g.presign || !res.SigningTime.Equal(g.signedAt.Truncate(time.Second)) ||
			res.Scope.Region != g.region || res.Scope.Service != g.service {
			t.Fatalf("case %d: result %+v does not describe the signed request", i, res)
		}

		signedPos, unsignedPos := positions(wire, signedNames)
		for range 6 {
			m, ok := mutate(rng, wire, signedPos)
			if !ok {
				break
			}
			mutations++
			if res, err := verifyWire(v, m); err == nil {
				t.Fatalf("case %d: verified with one signed byte changed (%+v):\n--- signed\n%s\n--- changed\n%s", i, res, wire, m)
			}
		}
		if m, ok := mutate(rng, wire, unsignedPos); ok {
			if _, err := verifyWire(v, m); err != nil {
				t.Fatalf("case %d: an unsigned header changed and verification failed: %v\n%s", i, err, m)
			}
		}
	}
	if presigned == 0 || tokens == 0 || mutations < *propertyCases {
		t.Errorf("weak run: %d presigned, %d with tokens, %d mutations", presigned, tokens, mutations)
	}
	t.Logf("%d requests (%d presigned, %d with session tokens), %d one-byte changes refused", *propertyCases, presigned, tokens, mutations)
}

func debugOf(err error) string {
	if e, ok := err.(*signer.Error); ok && e.CanonicalRequest != "" {
		return "expected canonical request:\n" + e.CanonicalRequest + "\nstring to sign:\n" + e.StringToSign
	}
	return ""
}

// verifyWire parses raw as net/http's server does and verifies it.
func verifyWire(v *signer.Verifier, raw []byte) (signer.Result, error) {
	r, body, err := readRequest(raw)
	if err != nil {
		return signer.Result{}, err
	}
	return v.Verify(context.Background(), r, body)
}

type genReq struct {
	method, host, path, rawQuery string
	header                       http.Header
	body                         []byte
	creds                        aws.Credentials
	region, service              string
	presign                      bool
	expires                      int
	signedAt, now                time.Time
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func genString(rng *rand.Rand, pieces []string, max int) string {
	var b strings.Builder
	for range rng.IntN(max + 1) {
		b.WriteString(pick(rng, pieces...))
	}
	return b.String()
}

var (
	pathPieces  = []string{"a", "Zz", "09", "-", "_", ".", "~", "%20", "+", "!", "$", "'", "(", ")", "*", ",", "=", "@", ":", "é", "%C3%A9", "%2F", "%7E", "..", "."}
	queryPieces = []string{"a", "Z", "5", "-", "_", ".", "~", "+", "%20", "%2B", "%2F", "/", "!", "*", "(", "'", "%7E", "é", "%E1%88%B4", "=", "%3D", "%26"}
	valuePieces = []string{"a", "B", "7", " ", "  ", "\t", ",", "\"", "'", "=", ";", "/", "é", "☃", "(", "{", "}"}
)

func genRequest(rng *rand.Rand) *genReq {
	g := &genReq{
		method:  pick(rng, "GET", "POST", "POST", "PUT", "DELETE"),
		host:    pick(rng, "sts.example.test", "127.0.0.1:8913", "iam.amazonaws.com", "[::1]:8913"),
		header:  http.Header{},
		region:  pick(rng, "us-east-1", "eu-west-1", "ap-southeast-2"),
		service: pick(rng, "sts", "iam", "execute-api"),
		presign: rng.IntN(2) == 0,
		expires: 1 + rng.IntN(3600),
	}
	var segs []string
	for range rng.IntN(5) {
		segs = append(segs, genString(rng, pathPieces, 3))
	}
	g.path = "/" + strings.Join(segs, "/")
	if rng.IntN(4) == 0 {
		g.path += "/"
	}
	var params []string
	for range rng.IntN(5) {
		k := genString(rng, queryPieces[:len(queryPieces)-3], 3)
		if k == "" || strings.HasPrefix(k, "X-Amz-") {
			k = "k" + k
		}
		switch rng.IntN(4) {
		case 0:
			params = append(params, k)
		default:
			params = append(params, k+"="+genString(rng, queryPieces, 6))
		}
	}
	g.rawQuery = strings.Join(params, "&")
	for range rng.IntN(5) {
		name := pick(rng, "X-Test-One", "X-Test-Two", "x-lower-case", "X-Amz-Meta-Note", "X-Amz-Custom", "Content-Language")
		g.header.Add(name, genString(rng, valuePieces, 8)+"v")
	}
	if g.method != "GET" && rng.IntN(5) > 0 {
		g.body = []byte(genString(rng, []string{"Action=AssumeRole", "&", "Version=2011-06-15", "%2F", "+", "x", "é", "\n", "\x00"}, 12))
		g.header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if !g.presign && rng.IntN(4) == 0 {
		g.header.Set("X-Amz-Content-Sha256", payloadHash(g.body))
	}
	kg := signer.KeyGenerator{Rand: rngReader{rng}}
	prefix := signer.PrefixAccessKey
	if rng.IntN(2) == 0 {
		prefix = signer.PrefixSessionAccessKey
		g.creds.SessionToken = genString(rng, []string{"IQoJb3JpZ2luX2Vj", "+", "/", "=", "AbC", "09", "-", "_", "."}, 40) + "x"
	}
	g.creds.AccessKeyID, _ = kg.AccessKeyID(prefix)
	g.creds.SecretAccessKey, _ = kg.SecretAccessKey()

	g.signedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(400*24*3600)) * time.Second)
	skew := time.Duration(rng.Int64N(int64(28*time.Minute))) - 14*time.Minute
	if g.presign {
		skew = time.Duration(rng.Int64N(int64(g.expires) * int64(time.Second)))
	}
	g.now = g.signedAt.Add(skew)
	return g
}

// rngReader adapts math/rand to io.Reader for KeyGenerator: test keys need no secrecy,
// and a seed reproduces them.
type rngReader struct{ rng *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.rng.Uint32())
	}
	return len(p), nil
}

// sign signs g with the SDK and returns the request as written on the wire, with the
// names of the headers the signature covers.
func (g *genReq) sign(t *testing.T, sdk *v4.Signer) ([]byte, map[string]bool) {
	t.Helper()
	url := "http://" + g.host + g.path
	if g.rawQuery != "" {
		url += "?" + g.rawQuery
	}
	req, err := http.NewRequest(g.method, url, bytes.NewReader(g.body))
	if err != nil {
		t.Fatalf("building %s: %v", url, err)
	}
	for k, v := range g.header {
		req.Header[k] = append([]string(nil), v...)
	}
	hash := payloadHash(g.body)
	signed := map[string]bool{"host": true}
	if g.presign {
		req.Header.Set("X-Amz-Expires", fmt.Sprint(g.expires)) // hoisted into the query
		u, hdr, err := sdk.PresignHTTP(context.Background(), g.creds, req, hash, g.service, g.region, g.signedAt)
		if err != nil {
			t.Fatal(err)
		}
		out, err := http.NewRequest(g.method, u, bytes.NewReader(g.body))
		if err != nil {
			t.Fatalf("presigned URL %s: %v", u, err)
		}
		for k, v := range hdr {
			signed[strings.ToLower(k)] = true
			if k != "Host" {
				out.Header[k] = v
			}
		}
		req = out
	} else {
		if err := sdk.SignHTTP(context.Background(), g.creds, req, hash, g.service, g.region, g.signedAt); err != nil {
			t.Fatal(err)
		}
		auth := req.Header.Get("Authorization")
		names := auth[strings.Index(auth, "SignedHeaders=")+len("SignedHeaders="):]
		names = names[:strings.IndexByte(names, ',')]
		for _, n := range strings.Split(names, ";") {
			signed[n] = true
		}
		signed["authorization"] = true
	}
	req.Header.Set("User-Agent", "property-test/1.0 unsigned") // the SDK never signs it
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), signed
}

// positions lists the offsets of the alphanumeric bytes of a wire request that the
// signature covers (request target, signed header values, body) and those of unsigned
// header values.
func positions(wire []byte, signed map[string]bool) (signedPos, unsignedPos []int) {
	head, _, _ := bytes.Cut(wire, []byte("\r\n\r\n"))
	bodyStart := len(head) + 4
	lines := bytes.Split(head, []byte("\r\n"))
	off := 0
	for i, line := range lines {
		switch {
		case i == 0: // method and request-target, not the protocol
			end := bytes.LastIndexByte(line, ' ')
			signedPos = appendAlnum(signedPos, line[:end], off)
		default:
			name, _, _ := bytes.Cut(line, []byte(":"))
			valueOff := len(name) + 1
			switch lname := strings.ToLower(string(name)); {
			case signed[lname]:
				signedPos = appendAlnum(signedPos, line[valueOff:], off+valueOff)
			case lname == "content-length": // framing, not signature: changing it breaks the parse
			default:
				unsignedPos = appendAlnum(unsignedPos, line[valueOff:], off+valueOff)
			}
		}
		off += len(line) + 2
	}
	signedPos = appendAlnum(signedPos, wire[bodyStart:], bodyStart)
	return signedPos, unsignedPos
}

func appendAlnum(pos []int, b []byte, off int) []int {
	for i, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			pos = append(pos, off+i)
		}
	}
	return pos
}

// mutate changes one byte at one of pos to another letter or digit that differs from it
// in more than case (case alone is not a change to a percent-escape's hex digits).
func mutate(rng *rand.Rand, wire []byte, pos []int) ([]byte, bool) {
	if len(pos) == 0 {
		return nil, false
	}
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	p := pick(rng, pos...)
	out := bytes.Clone(wire)
	old := strings.ToLower(string(out[p]))[0]
	for {
		c := alnum[rng.IntN(len(alnum))]
		if c == old {
			continue
		}
		if rng.IntN(2) == 0 && c >= 'a' {
			c -= 'a' - 'A'
		}
		out[p] = c
		return out, true
	}
}
