package iamapi_test

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/sts/query"
)

// notServedFile lists the operations of botocore's IAM and STS models that the core
// does not serve yet, one "service:Operation" a line, each with the reason after a
// "#". TestModelWalk keeps it honest both ways: an operation neither served nor listed
// fails, and so does a listed operation that is now served, so the list only shrinks.
const notServedFile = "testdata/not_served.txt"

// readNotServed returns the listed operations.
func readNotServed(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(notServedFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if out[line] {
			t.Fatalf("%s:%d: %s listed twice", notServedFile, n, line)
		}
		out[line] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// botocoreOps returns the operations of botocore's model of service at version, read
// from the botocore that the aws CLI and boto3 on this machine use; nil when there is
// none (the embedded models, generated from botocore, are walked all the same).
func botocoreOps(t *testing.T, service, version string) []string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		t.Logf("botocore is not installed (apt-get install python3-botocore or awscli): walking only the embedded %s model", service)
		return nil
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "data", service, version, "service-2.json.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Logf("botocore has no %s %s model: %v", service, version, err)
		return nil
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var m struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ops := make([]string, 0, len(m.Operations))
	for name := range m.Operations {
		ops = append(ops, name)
	}
	slices.Sort(ops)
	return ops
}

// TestModelWalk sends every operation of botocore's IAM and STS models (the ones the
// core embeds, and the ones of the botocore installed here) to the core, signed by
// the root user, without parameters, and fails on an operation answered with
// InvalidAction that testdata/not_served.txt does not list, or listed but served. A
// served operation answers anything else: its result, a ValidationError for the
// missing parameters, AccessDenied, …
func TestModelWalk(t *testing.T) {
	f := newFixtureClock(t, true)
	listed := readNotServed(t)
	apis := []struct {
		service string
		model   *query.Model
	}{
		{"sts", f.core.STSModel()},
		{"iam", f.api.Model()},
	}
	walked := map[string]bool{}
	for _, api := range apis {
		ops := api.model.Operations()
		for _, op := range botocoreOps(t, api.service, api.model.Version) {
			if !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
		for _, op := range ops {
			key := api.service + ":" + op
			walked[key] = true
			code := callBare(t, f, api.service, api.model.Version, op)
			served := code != query.CodeInvalidAction
			switch {
			case !served && !listed[key]:
				t.Errorf("%s is answered with InvalidAction and not listed in %s: serve it (or list it, with the reason)", key, notServedFile)
			case served && listed[key]:
				t.Errorf("%s is served now (it answered %s): remove it from %s", key, code, notServedFile)
			}
		}
	}
	for key := range listed {
		if !walked[key] {
			t.Errorf("%s: %s is in no model", notServedFile, key)
		}
	}
}

// callBare sends Action=op with no parameters and returns the error code of the
// answer ("" for a success).
func callBare(t *testing.T, f *fixture, service, version, op string) string {
	t.Helper()
	form := url.Values{"Action": {op}, "Version": {version}}.Encode()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(form))
	if err := v4.NewSigner().SignHTTP(f.ctx, f.root, req, hex.EncodeToString(sum[:]), service, "us-east-1", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	f.core.Handler().ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		return ""
	}
	var doc struct {
		Code string `xml:"Error>Code"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Code == "" {
		t.Fatalf("%s:%s: status %d, body %s (%v)", service, op, rec.Code, rec.Body, err)
	}
	return doc.Code
}

// TestNoHandlerAnswersInvalidAction: a bare call (TestModelWalk) stops at parameter
// validation, before the handler runs, so a handler that answers InvalidAction (a stub
// calling itself "not supported") would pass the walk. Only the core's dispatch, for an
// action it does not know, may answer InvalidAction.
func TestNoHandlerAnswersInvalidAction(t *testing.T) {
	allowed := map[string]bool{"core.go": true}
	for _, dir := range []string{"..", "."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") || (dir == ".." && allowed[filepath.Base(name)]) {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "CodeInvalidAction") || strings.Contains(string(src), `"InvalidAction"`) {
				t.Errorf("%s answers InvalidAction: serve the action, or leave it unregistered and list it in %s", name, notServedFile)
			}
		}
	}
}
