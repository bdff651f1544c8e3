// Package gaad reads and writes an account's IAM in the JSON of
// `aws iam get-account-authorization-details` (GAAD), so that a real account's users,
// groups, roles, instance profiles and managed policies can be loaded into the embedded
// core and written back out.
//
// Decode accepts policy documents in every form they are found in: as JSON objects (the
// AWS CLI and boto3 decode them), as URL-encoded strings (the raw Query API, the Go
// SDK), or as plain JSON strings. Encode writes them as the AWS CLI prints them. Import
// loads a Document into a store in one transaction (all or nothing); Export reads one
// back.
//
// GAAD has no secrets (no access keys, passwords or MFA seeds) and no account settings,
// so neither does this format. Two Role fields that GAAD lacks are written too, so that a
// round trip keeps them: Description and MaxSessionDuration (as in IAM's Role shape). A
// role's "revoke older sessions" time is written as AWS represents it, an inline policy
// named AWSRevokeOlderSessions, and read back from it.
package gaad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// Document is the output of get-account-authorization-details (all pages merged, as the
// CLI prints it).
type Document struct {
	UserDetailList  []UserDetail          `json:"UserDetailList"`
	GroupDetailList []GroupDetail         `json:"GroupDetailList"`
	RoleDetailList  []RoleDetail          `json:"RoleDetailList"`
	Policies        []ManagedPolicyDetail `json:"Policies"`
}

// UserDetail is IAM's UserDetail.
type UserDetail struct {
	Path                    string               `json:"Path"`
	UserName                string               `json:"UserName"`
	UserID                  string               `json:"UserId"`
	Arn                     string               `json:"Arn"`
	CreateDate              Time                 `json:"CreateDate"`
	UserPolicyList          []PolicyDetail       `json:"UserPolicyList"`
	GroupList               []string             `json:"GroupList"`
	AttachedManagedPolicies []AttachedPolicy     `json:"AttachedManagedPolicies"`
	PermissionsBoundary     *PermissionsBoundary `json:"PermissionsBoundary,omitempty"`
	Tags                    []Tag                `json:"Tags"`
}

// GroupDetail is IAM's GroupDetail.
type GroupDetail struct {
	Path                    string           `json:"Path"`
	GroupName               string           `json:"GroupName"`
	GroupID                 string           `json:"GroupId"`
	Arn                     string           `json:"Arn"`
	CreateDate              Time             `json:"CreateDate"`
	GroupPolicyList         []PolicyDetail   `json:"GroupPolicyList"`
	AttachedManagedPolicies []AttachedPolicy `json:"AttachedManagedPolicies"`
}

// RoleDetail is IAM's RoleDetail (Role's fields first), with Description and
// MaxSessionDuration added.
type RoleDetail struct {
	Role
	Description             string               `json:"Description,omitempty"`
	MaxSessionDuration      int                  `json:"MaxSessionDuration,omitempty"`
	InstanceProfileList     []InstanceProfile    `json:"InstanceProfileList"`
	RolePolicyList          []PolicyDetail       `json:"RolePolicyList"`
	AttachedManagedPolicies []AttachedPolicy     `json:"AttachedManagedPolicies"`
	PermissionsBoundary     *PermissionsBoundary `json:"PermissionsBoundary,omitempty"`
	Tags                    []Tag                `json:"Tags"`
	RoleLastUsed            RoleLastUsed         `json:"RoleLastUsed"`
}

// InstanceProfile is IAM's InstanceProfile.
type InstanceProfile struct {
	Path                string `json:"Path"`
	InstanceProfileName string `json:"InstanceProfileName"`
	InstanceProfileID   string `json:"InstanceProfileId"`
	Arn                 string `json:"Arn"`
	CreateDate          Time   `json:"CreateDate"`
	Roles               []Role `json:"Roles"`
	Tags                []Tag  `json:"Tags,omitempty"`
}

// Role is IAM's Role as GAAD nests it in an instance profile.
type Role struct {
	Path                     string         `json:"Path"`
	RoleName                 string         `json:"RoleName"`
	RoleID                   string         `json:"RoleId"`
	Arn                      string         `json:"Arn"`
	CreateDate               Time           `json:"CreateDate"`
	AssumeRolePolicyDocument PolicyDocument `json:"AssumeRolePolicyDocument"`
}

// RoleLastUsed is IAM's RoleLastUsed ({} when never used).
type RoleLastUsed struct {
	LastUsedDate *Time  `json:"LastUsedDate,omitempty"`
	Region       string `json:"Region,omitempty"`
}

// ManagedPolicyDetail is IAM's ManagedPolicyDetail.
type ManagedPolicyDetail struct {
	PolicyName                    string          `json:"PolicyName"`
	PolicyID                      string          `json:"PolicyId"`
	Arn                           string          `json:"Arn"`
	Path                          string          `json:"Path"`
	DefaultVersionID              string          `json:"DefaultVersionId"`
	AttachmentCount               int             `json:"AttachmentCount"`
	PermissionsBoundaryUsageCount int             `json:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool            `json:"IsAttachable"`
	Description                   string          `json:"Description,omitempty"`
	CreateDate                    Time            `json:"CreateDate"`
	UpdateDate                    Time            `json:"UpdateDate"`
	PolicyVersionList             []PolicyVersion `json:"PolicyVersionList"`
}

// PolicyVersion is IAM's PolicyVersion.
type PolicyVersion struct {
	Document         PolicyDocument `json:"Document"`
	VersionID        string         `json:"VersionId"`
	IsDefaultVersion bool           `json:"IsDefaultVersion"`
	CreateDate       Time           `json:"CreateDate"`
}

// PolicyDetail is an inline policy.
type PolicyDetail struct {
	PolicyName     string         `json:"PolicyName"`
	PolicyDocument PolicyDocument `json:"PolicyDocument"`
}

// AttachedPolicy is an attached managed policy.
type AttachedPolicy struct {
	PolicyName string `json:"PolicyName"`
	PolicyArn  string `json:"PolicyArn"`
}

// PermissionsBoundary is IAM's AttachedPermissionsBoundary.
type PermissionsBoundary struct {
	PermissionsBoundaryType string `json:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `json:"PermissionsBoundaryArn"`
}

// Tag is a tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// PolicyDocument is a policy document's JSON text. It unmarshals from a JSON object, a
// URL-encoded string or a plain JSON string, and marshals as a JSON object, as the AWS
// CLI prints documents.
type PolicyDocument string

// UnmarshalJSON implements json.Unmarshaler.
func (p *PolicyDocument) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		text := strings.TrimSpace(s)
		if !strings.HasPrefix(text, "{") {
			dec, err := account.UnescapePolicyDocument(text)
			if err != nil {
				return fmt.Errorf("policy document is neither JSON nor URL-encoded JSON: %w", err)
			}
			text = dec
		}
		if !json.Valid([]byte(text)) {
			return fmt.Errorf("policy document string does not hold JSON")
		}
		*p = PolicyDocument(text)
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("policy document must be a JSON object or a string, not %.20s", b)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*p = PolicyDocument(buf.String())
	return nil
}

// MarshalJSON implements json.Marshaler: the document as a JSON value.
func (p PolicyDocument) MarshalJSON() ([]byte, error) {
	if !json.Valid([]byte(p)) {
		return nil, fmt.Errorf("policy document is not JSON")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(p)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Time is a GAAD date. It is written as the AWS CLI prints dates (2006-01-02T15:04:05+00:00)
// and read in any RFC 3339 form.
type Time struct{ time.Time }

const cliTime = "2006-01-02T15:04:05-07:00"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(cliTime) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("date %q is not RFC 3339", s)
	}
	t.Time = v.UTC()
	return nil
}

// maxDocument bounds what Decode reads.
const maxDocument = 256 << 20

// Decode reads a GAAD JSON document.
func Decode(r io.Reader) (*Document, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxDocument))
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("reading account authorization details: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("reading account authorization details: data after the document")
	}
	return &d, nil
}

// Encode writes d as indented JSON, as the AWS CLI prints it.
func (d *Document) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// AccountID returns the account the document's ARNs are in (the first non-AWS account
// found), to create a store for it; ok is false for a document with no entity.
func (d *Document) AccountID() (id string, ok bool) {
	var arns []string
	for _, u := range d.UserDetailList {
		arns = append(arns, u.Arn)
	}
	for _, g := range d.GroupDetailList {
		arns = append(arns, g.Arn)
	}
	for _, r := range d.RoleDetailList {
		arns = append(arns, r.Arn)
	}
	for _, p := range d.Policies {
		arns = append(arns, p.Arn)
	}
	for _, s := range arns {
		if a, err := account.ParseARN(s); err == nil && a.Account != account.AWSAccount && account.ValidateAccountID(a.Account) == nil {
			return a.Account, true
		}
	}
	return "", false
}
