package rolesanywhere_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// modelOps lists botocore's Roles Anywhere operations as "NAME METHOD URI" lines,
// read by the botocore that the aws CLI and boto3 here use (python3 opens the model).
const modelOps = `import botocore, gzip, json, os, glob
p = glob.glob(os.path.join(os.path.dirname(botocore.__file__), "data", "rolesanywhere", "*", "service-2.json.gz"))[0]
for n, o in sorted(json.load(gzip.open(p))["operations"].items()):
    print(n, o["http"]["method"], o["http"]["requestUri"])`

// TestModelWalk sends every operation of botocore's Roles Anywhere model to the core,
// signed by the root user, with its path labels filled and an empty body, and fails
// on one the core does not route to the operation of that name (its audit line says
// which operation answered). The answer itself may be anything: a result, a
// ValidationException for the missing parameters, a ResourceNotFoundException.
func TestModelWalk(t *testing.T) {
	out, err := exec.Command("python3", "-c", modelOps).Output()
	if err != nil {
		t.Skipf("botocore's Roles Anywhere model is not readable (apt-get install awscli, as .ci/run does): %v", err)
	}
	f := newFixture(t)
	label := regexp.MustCompile(`\{[^}]+\}`)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 30 {
		t.Fatalf("botocore's model has %d operations: %s", len(lines), out)
	}
	for _, line := range lines {
		var name, method, uri string
		if parts := strings.Fields(line); len(parts) == 3 {
			name, method, uri = parts[0], parts[1], parts[2]
		} else {
			t.Fatalf("model line %q", line)
		}
		path, _, _ := strings.Cut(label.ReplaceAllString(uri, "00000000-0000-4000-8000-000000000000"), "?")
		body := []byte("{}")
		req := httptest.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(f.ctx, f.root, req, hex.EncodeToString(sum[:]), "rolesanywhere", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		req.RequestURI = ""
		resp, _ := f.send(t, req)
		if resp.StatusCode == http.StatusInternalServerError {
			t.Errorf("%s: %s %s answered 500", name, method, path)
		}
		f.auditLine("action="+name+" ", "status="+strconv.Itoa(resp.StatusCode))
	}
}
