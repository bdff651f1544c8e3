package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/internal/testtool"
)

const module = "github.com/credbroker/credbroker"

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath   string
	Deps         []string // every package it builds with, transitively (not its tests)
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// rule forbids packages matching from to depend on packages matching to.
type rule struct {
	name     string
	from, to string // module-relative path patterns: "imds", "broker/..." or "..." (all)
	// direct checks the package's own imports, its tests' included, instead of
	// its (non-test) transitive dependencies.
	direct bool
}

var rules = []rule{
	{name: "imds imports nothing of the project", from: "imds", to: "..."},
	{name: "broker never imports the embedded core", from: "broker/...", to: "sts/..."},
	{name: "signer imports no IAM entity package", from: "signer/...", to: "sts/..."},
	{name: "nothing imports cmd", from: "...", to: "cmd/...", direct: true},
}

// match reports whether the import path p is in pattern (module-relative).
func match(pattern, p string) bool {
	rel, ok := strings.CutPrefix(p, module)
	if !ok {
		return false
	}
	rel = strings.TrimPrefix(rel, "/")
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

// violations lists the forbidden arrows of pkgs, as "rule: from -> to".
func violations(pkgs []pkg, rules []rule) []string {
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !match(r.from, p.ImportPath) {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = slices.Concat(p.Imports, p.TestImports, p.XTestImports)
			}
			for _, d := range deps {
				if d != p.ImportPath && match(r.to, d) {
					out = append(out, fmt.Sprintf("%s: %s -> %s", r.name, p.ImportPath, d))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// goList reads every package of the module.
func goList(t *testing.T) []pkg {
	t.Helper()
	goBin := testtool.Path(t, "go=golang-go")
	cmd := exec.Command(goBin, "list", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayout(t *testing.T) {
	pkgs := goList(t)
	if len(pkgs) < 20 || !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.ImportPath == module+"/imds" }) {
		t.Fatalf("go list found %d packages, without imds: not the module's root", len(pkgs))
	}
	for _, v := range violations(pkgs, rules) {
		t.Error(v)
	}
}

// The checker finds each kind of forbidden arrow (and allows the rest).
func TestViolations(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	pkgs := []pkg{
		{ImportPath: m("imds"), Deps: []string{"net/http", m("internal/logging")}},
		{ImportPath: m("broker/daemon"), Deps: []string{m("broker"), m("sts/store"), m("internal/masterkey")}},
		{ImportPath: m("signer/session"), Deps: []string{m("signer"), m("sts/account")}},
		{ImportPath: m("sts"), Imports: []string{m("signer")}, XTestImports: []string{m("cmd/credbroker")}},
		{ImportPath: m("cmd/credbroker"), Deps: []string{m("broker"), m("sts")}, Imports: []string{m("sts")}},
		{ImportPath: m("stsx"), Deps: []string{m("imds")}},
	}
	want := []string{
		"broker never imports the embedded core: " + m("broker/daemon") + " -> " + m("sts/store"),
		"imds imports nothing of the project: " + m("imds") + " -> " + m("internal/logging"),
		"nothing imports cmd: " + m("sts") + " -> " + m("cmd/credbroker"),
		"signer imports no IAM entity package: " + m("signer/session") + " -> " + m("sts/account"),
	}
	if got := violations(pkgs, rules); !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if match("sts/...", module+"/stsx") || !match("sts/...", module+"/sts") || match("imds", "example.com/imds") {
		t.Error("match: wrong prefix semantics")
	}
}
