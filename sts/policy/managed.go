package policy

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// The AWS managed policies that ship built in, one JSON file each in the form
// of `aws iam get-policy` metadata plus the default version's Document. See
// the package documentation for which are exact copies.
//
//go:embed managed/*.json
var builtinFiles embed.FS

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
	// Description is the policy's description.
	Description string `json:"Description,omitempty"`
	// Document is the default version's policy document.
	Document json.RawMessage `json:"Document"`
	// Policy is Document compiled; set by Catalog.Add.
	Policy *Policy `json:"-"`
}

// Catalog holds managed policies by name and ARN. It is safe for concurrent use.
type Catalog struct {
	mu     sync.RWMutex
	byARN  map[string]*ManagedPolicy
	byName map[string]*ManagedPolicy
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{byARN: map[string]*ManagedPolicy{}, byName: map[string]*ManagedPolicy{}}
}

// BuiltinCatalog returns a new catalog holding the built-in AWS managed
// policies, compiled.
func BuiltinCatalog() (*Catalog, error) {
	c := NewCatalog()
	entries, err := builtinFiles.ReadDir("managed")
	if err != nil {
		return nil, fmt.Errorf("reading the built-in managed policies: %w", err)
	}
	for _, e := range entries {
		data, err := builtinFiles.ReadFile(path.Join("managed", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading built-in managed policy %s: %w", e.Name(), err)
		}
		if _, err := c.Import(data); err != nil {
			return nil, fmt.Errorf("built-in managed policy %s: %w", e.Name(), err)
		}
	}
	return c, nil
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

// Lookup finds a policy by ARN, or by name (AWS managed policies first).
func (c *Catalog) Lookup(nameOrARN string) (*ManagedPolicy, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if m, ok := c.byARN[nameOrARN]; ok {
		return m, true
	}
	m, ok := c.byName[nameOrARN]
	return m, ok
}

// All returns every policy, ordered by ARN.
func (c *Catalog) All() []*ManagedPolicy {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*ManagedPolicy, 0, len(c.byARN))
	for _, m := range c.byARN {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}
