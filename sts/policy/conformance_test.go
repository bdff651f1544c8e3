package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The conformance cases live in testdata/conformance/*.json, one file per
// topic, each case a request, the policies that apply and the decision AWS
// documents. Adding a case is adding a few lines of JSON; see
// testdata/conformance/README.md for the format.

type confFile struct {
	Description string                `json:"description"`
	Policies    map[string]confPolicy `json:"policies"`
	Cases       []confCase            `json:"cases"`
}

type confPolicy struct {
	Kind     string          `json:"kind"`
	Document json.RawMessage `json:"document"`
}

type confCase struct {
	Name       string              `json:"name"`
	Identity   []json.RawMessage   `json:"identity"`
	Boundary   json.RawMessage     `json:"boundary"`
	Session    []json.RawMessage   `json:"session"`
	Resource   []json.RawMessage   `json:"resource"`
	SCP        [][]json.RawMessage `json:"scp"`
	Request    confRequest         `json:"request"`
	Expect     string              `json:"expect"`
	Reason     string              `json:"reason"`
	Statements []string            `json:"statements"`
}

type confRequest struct {
	Principal       json.RawMessage            `json:"principal"`
	Action          string                     `json:"action"`
	Resource        string                     `json:"resource"`
	ResourceAccount string                     `json:"resourceAccount"`
	ResourceTags    map[string]string          `json:"resourceTags"`
	Context         map[string]json.RawMessage `json:"context"`
}

type confPrincipal struct {
	Type     string            `json:"type"`
	ARN      string            `json:"arn"`
	RoleARN  string            `json:"roleArn"`
	Account  string            `json:"account"`
	UserID   string            `json:"userId"`
	Username string            `json:"username"`
	Tags     map[string]string `json:"tags"`
	Base     string            `json:"base"` // a preset to start from
}

// confPrincipals are the callers cases refer to by name.
var confPrincipals = map[string]Principal{
	"alice": {Type: PrincipalUser, ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333", UserID: "AIDAALICE00000000001", Username: "alice"},
	"bob":   {Type: PrincipalUser, ARN: "arn:aws:iam::111122223333:user/dev/bob", Account: "111122223333", UserID: "AIDABOB0000000000002", Username: "bob"},
	"carol": {Type: PrincipalUser, ARN: "arn:aws:iam::444455556666:user/carol", Account: "444455556666", UserID: "AIDACAROL00000000003", Username: "carol"},
	"app-session": {Type: PrincipalAssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/app/s1",
		RoleARN: "arn:aws:iam::111122223333:role/svc/app", Account: "111122223333", UserID: "AROAAPP0000000000001:s1"},
	"ext-session": {Type: PrincipalAssumedRole, ARN: "arn:aws:sts::444455556666:assumed-role/ext/x",
		RoleARN: "arn:aws:iam::444455556666:role/ext", Account: "444455556666", UserID: "AROAEXT0000000000009:x"},
	"fed":       {Type: PrincipalFederatedUser, ARN: "arn:aws:sts::111122223333:federated-user/fed", Account: "111122223333", UserID: "111122223333:fed"},
	"root":      {Type: PrincipalRoot, ARN: "arn:aws:iam::111122223333:root", Account: "111122223333", UserID: "111122223333"},
	"ec2":       {Type: PrincipalService, ARN: "ec2.amazonaws.com"},
	"google":    {Type: PrincipalFederated, ARN: "accounts.google.com"},
	"github":    {Type: PrincipalFederated, ARN: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
	"anonymous": {Type: PrincipalAnonymous},
}

var confReasons = map[string]Reason{
	"ExplicitDeny": ReasonExplicitDeny, "Allowed": ReasonAllowed, "ResourcePolicy": ReasonResourcePolicy, "Root": ReasonRoot,
	"NoSCPAllow": ReasonNoSCPAllow, "NoResourceAllow": ReasonNoResourceAllow, "NoIdentityAllow": ReasonNoIdentityAllow,
	"NoBoundaryAllow": ReasonNoBoundaryAllow, "NoSessionAllow": ReasonNoSessionAllow, "FederatedNoSessionPolicy": ReasonFederatedNoSessionPolicy,
	"AWSOwned": ReasonAWSOwned,
}

// decodeStrict reads the JSON testdata file into v, refusing fields v does not have.
func decodeStrict(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func TestConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/conformance/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	catalog, err := BuiltinCatalog()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, file := range files {
		var cf confFile
		decodeStrict(t, file, &cf)
		l := &confLoader{file: cf, catalog: catalog, compiled: map[string]*Policy{}}
		for _, c := range cf.Cases {
			total++
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				set, err := l.set(&c)
				if err != nil {
					t.Fatal(err)
				}
				req, err := c.Request.build()
				if err != nil {
					t.Fatal(err)
				}
				d := set.Decide(req, nil)
				if got := d.Result.EvalDecision(); got != c.Expect {
					t.Errorf("engine decides %s (%v), want %s", got, d.Reason, c.Expect)
				}
				if ref := refDecide(set, req); ref.result.EvalDecision() != c.Expect {
					t.Errorf("reference decides %s (%v), want %s", ref.result.EvalDecision(), ref.reason, c.Expect)
				}
				if c.Reason != "" {
					want, ok := confReasons[c.Reason]
					if !ok {
						t.Fatalf("unknown reason %q", c.Reason)
					}
					if d.Reason != want {
						t.Errorf("reason %q, want %q", d.Reason, want)
					}
				}
				if c.Statements != nil {
					got := []string{}
					for _, m := range d.Statements {
						got = append(got, m.String())
					}
					if strings.Join(got, " ") != strings.Join(c.Statements, " ") {
						t.Errorf("deciding statements %q, want %q", got, c.Statements)
					}
				}
			})
		}
	}
	if total < 150 {
		t.Errorf("only %d conformance cases", total)
	}
}

type confLoader struct {
	file     confFile
	catalog  *Catalog
	compiled map[string]*Policy
}

// policy resolves a reference: the name of a policy of the file, an AWS
// managed policy's name or ARN, or an inline document (named by its slot).
func (l *confLoader) policy(raw json.RawMessage, slot string, kind Kind) (*Policy, error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		if p := l.compiled[name]; p != nil {
			return p, nil
		}
		if fp, ok := l.file.Policies[name]; ok {
			k := kind
			if fp.Kind != "" {
				var err error
				if k, err = ParseKind(fp.Kind); err != nil {
					return nil, err
				}
			}
			p, err := Parse(fp.Document, k, func(o *ParseOptions) { o.Name, o.Legacy = name, true })
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", name, err)
			}
			l.compiled[name] = p
			return p, nil
		}
		if m, ok := l.catalog.Lookup(name); ok {
			return m.Policy, nil
		}
		return nil, fmt.Errorf("no policy %q", name)
	}
	p, err := Parse(raw, kind, func(o *ParseOptions) { o.Name = slot })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", slot, err)
	}
	return p, nil
}

func (l *confLoader) set(c *confCase) (*Set, error) {
	s := &Set{}
	for i, raw := range c.Identity {
		p, err := l.policy(raw, fmt.Sprintf("identity[%d]", i), KindIdentity)
		if err != nil {
			return nil, err
		}
		s.Identity = append(s.Identity, p)
	}
	if len(c.Boundary) > 0 {
		p, err := l.policy(c.Boundary, "boundary", KindBoundary)
		if err != nil {
			return nil, err
		}
		s.Boundary = p
	}
	for i, raw := range c.Session {
		p, err := l.policy(raw, fmt.Sprintf("session[%d]", i), KindSession)
		if err != nil {
			return nil, err
		}
		s.Session = append(s.Session, p)
	}
	for i, raw := range c.Resource {
		p, err := l.policy(raw, fmt.Sprintf("resource[%d]", i), KindResource)
		if err != nil {
			return nil, err
		}
		s.Resource = append(s.Resource, p)
	}
	for i, level := range c.SCP {
		var ps []*Policy
		for k, raw := range level {
			p, err := l.policy(raw, fmt.Sprintf("scp[%d][%d]", i, k), KindSCP)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		s.SCP = append(s.SCP, ps)
	}
	return s, nil
}

func confTags(m map[string]string) []Tag {
	var tags []Tag
	for k, v := range m {
		tags = append(tags, Tag{k, v})
	}
	return tags
}

func (cr *confRequest) build() (*Request, error) {
	r := &Request{Action: cr.Action, Resource: Resource{ARN: cr.Resource, Account: cr.ResourceAccount, Tags: confTags(cr.ResourceTags)}}
	var name string
	var cp confPrincipal
	switch {
	case len(cr.Principal) == 0:
		name = "alice"
	case json.Unmarshal(cr.Principal, &name) == nil:
	case json.Unmarshal(cr.Principal, &cp) == nil:
		name = cp.Base
	default:
		return nil, fmt.Errorf("principal %s", cr.Principal)
	}
	if name != "" {
		p, ok := confPrincipals[name]
		if !ok {
			return nil, fmt.Errorf("no principal preset %q", name)
		}
		r.Principal = p
	}
	if cp.Type != "" {
		found := false
		for i, n := range principalTypeNames {
			if n == cp.Type {
				r.Principal.Type, found = PrincipalType(i), true
			}
		}
		if !found {
			return nil, fmt.Errorf("principal type %q", cp.Type)
		}
	}
	for dst, src := range map[*string]string{&r.Principal.ARN: cp.ARN, &r.Principal.RoleARN: cp.RoleARN, &r.Principal.Account: cp.Account,
		&r.Principal.UserID: cp.UserID, &r.Principal.Username: cp.Username} {
		if src != "" {
			*dst = src
		}
	}
	if cp.Tags != nil {
		r.Principal.Tags = confTags(cp.Tags)
	}
	c := &r.Context
	for key, raw := range cr.Context {
		var vals []string
		var one string
		if json.Unmarshal(raw, &one) == nil {
			vals = []string{one}
		} else if err := json.Unmarshal(raw, &vals); err != nil {
			return nil, fmt.Errorf("context %s: %v", key, err)
		}
		var err error
		switch lower := strings.ToLower(key); {
		case lower == "aws:currenttime" && len(vals) == 1:
			c.CurrentTime, err = time.Parse(time.RFC3339, one)
		case lower == "aws:tokenissuetime" && len(vals) == 1:
			c.TokenIssueTime, err = time.Parse(time.RFC3339, one)
		case lower == "aws:sourceip" && len(vals) == 1:
			c.SourceIP, err = netip.ParseAddr(one)
		case lower == "aws:securetransport" && len(vals) == 1:
			c.SecureTransport = BoolOf(one == "true")
		case lower == "aws:multifactorauthpresent" && len(vals) == 1:
			c.MultiFactorAuthPresent = BoolOf(one == "true")
		case lower == "aws:requestedregion" && len(vals) == 1:
			c.RequestedRegion = one
		case lower == "aws:sourceidentity" && len(vals) == 1:
			c.SourceIdentity = one
		case strings.HasPrefix(lower, "aws:requesttag/") && len(vals) == 1:
			c.RequestTags = append(c.RequestTags, Tag{key[len("aws:RequestTag/"):], one})
		default:
			c.Keys = append(c.Keys, ContextKey{key, vals})
		}
		if err != nil {
			return nil, fmt.Errorf("context %s: %v", key, err)
		}
	}
	return r, nil
}
