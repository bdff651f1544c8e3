package iamapi

import (
	"encoding/base64"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// The XML shapes of IAM's results. Lists are <Name><member>…</member></Name>; a
// required list is always written (empty when there is nothing), an optional one
// (a pointer) only when set.

type members[T any] struct {
	// XMLName, when set, names the list's element (listOf); else the field's tag does.
	XMLName xml.Name
	Member  []T `xml:"member"`
}

func list[T any](s []T) members[T] { return members[T]{Member: s} }

func optList[T any](s []T) *members[T] {
	if len(s) == 0 {
		return nil
	}
	return &members[T]{Member: s}
}

// page is the pagination of a list result.
type page struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func pageResult(next string) page { return page{IsTruncated: next != "", Marker: next} }

// element is a result of one element, name, holding v: a struct in its XML shape, or
// a string.
type element struct {
	name string
	v    any
}

// one is the result of one element name holding v.
func one(name string, v any) *element { return &element{name: name, v: v} }

// MarshalXML writes the Result element around r's one element.
func (r *element) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := e.EncodeElement(r.v, xml.StartElement{Name: xml.Name{Local: r.name}}); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

// listResult is the result of IAM's paged list actions: one list, the element its
// XMLName names (Users, Groups, …), then IsTruncated and Marker.
type listResult[T any] struct {
	List members[T]
	page
}

// listOf is the list result name with items and the pagination pg.
func listOf[T any](name string, items []T, pg page) *listResult[T] {
	return &listResult[T]{List: members[T]{XMLName: xml.Name{Local: name}, Member: items}, page: pg}
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagsXML(t account.Tags) []tagXML {
	out := make([]tagXML, len(t))
	for i, tag := range t {
		out[i] = tagXML(tag)
	}
	return out
}

type boundaryXML struct {
	Type string `xml:"PermissionsBoundaryType"`
	ARN  string `xml:"PermissionsBoundaryArn"`
}

func boundaryOf(arn string) *boundaryXML {
	if arn == "" {
		return nil
	}
	return &boundaryXML{Type: "PermissionsBoundaryPolicy", ARN: arn}
}

func ts(t time.Time) query.Timestamp { return query.Timestamp(t) }

func optTS(t time.Time) *query.Timestamp {
	if t.IsZero() {
		return nil
	}
	v := query.Timestamp(t)
	return &v
}

type userXML struct {
	Path                string           `xml:"Path,omitempty"`
	UserName            string           `xml:"UserName,omitempty"`
	UserID              string           `xml:"UserId"`
	ARN                 string           `xml:"Arn"`
	CreateDate          query.Timestamp  `xml:"CreateDate"`
	PasswordLastUsed    *query.Timestamp `xml:"PasswordLastUsed,omitempty"`
	PermissionsBoundary *boundaryXML     `xml:"PermissionsBoundary,omitempty"`
	Tags                *members[tagXML] `xml:"Tags,omitempty"`
}

// userOf renders u; full adds the boundary and tags, which IAM's lists leave out.
func userOf(u account.User, full bool) userXML {
	x := userXML{Path: u.Path, UserName: u.Name, UserID: u.ID, ARN: u.ARN, CreateDate: ts(u.Created), PasswordLastUsed: optTS(u.PasswordLastUsed)}
	if u.IsRoot() {
		x.Path, x.UserName = "", ""
	}
	if full {
		x.PermissionsBoundary = boundaryOf(u.PermissionsBoundary)
		x.Tags = optList(tagsXML(u.Tags))
	}
	return x
}

type groupXML struct {
	Path       string          `xml:"Path"`
	GroupName  string          `xml:"GroupName"`
	GroupID    string          `xml:"GroupId"`
	ARN        string          `xml:"Arn"`
	CreateDate query.Timestamp `xml:"CreateDate"`
}

func groupOf(g account.Group) groupXML {
	return groupXML{Path: g.Path, GroupName: g.Name, GroupID: g.ID, ARN: g.ARN, CreateDate: ts(g.Created)}
}

type roleLastUsedXML struct {
	LastUsedDate *query.Timestamp `xml:"LastUsedDate,omitempty"`
	Region       string           `xml:"Region,omitempty"`
}

type roleXML struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	ARN                      string           `xml:"Arn"`
	CreateDate               query.Timestamp  `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int64            `xml:"MaxSessionDuration"`
	PermissionsBoundary      *boundaryXML     `xml:"PermissionsBoundary,omitempty"`
	Tags                     *members[tagXML] `xml:"Tags,omitempty"`
	RoleLastUsed             *roleLastUsedXML `xml:"RoleLastUsed,omitempty"`
}

// roleOf renders r; full adds the boundary, tags and last use, which IAM's lists
// leave out.
func roleOf(r account.Role, full bool) roleXML {
	maxSession := r.MaxSessionDuration
	if maxSession <= 0 {
		maxSession = account.DefaultSessionDuration
	}
	x := roleXML{Path: r.Path, RoleName: r.Name, RoleID: r.ID, ARN: r.ARN, CreateDate: ts(r.Created),
		AssumeRolePolicyDocument: account.EscapePolicyDocument(r.AssumeRolePolicy), Description: r.Description,
		MaxSessionDuration: int64(maxSession / time.Second)}
	if full {
		x.PermissionsBoundary = boundaryOf(r.PermissionsBoundary)
		x.Tags = optList(tagsXML(r.Tags))
		x.RoleLastUsed = &roleLastUsedXML{LastUsedDate: optTS(r.LastUsed.Date), Region: r.LastUsed.Region}
	}
	return x
}

type profileXML struct {
	Path                string           `xml:"Path"`
	InstanceProfileName string           `xml:"InstanceProfileName"`
	InstanceProfileID   string           `xml:"InstanceProfileId"`
	ARN                 string           `xml:"Arn"`
	CreateDate          query.Timestamp  `xml:"CreateDate"`
	Roles               members[roleXML] `xml:"Roles"`
	Tags                *members[tagXML] `xml:"Tags,omitempty"`
}

func profileOf(p account.InstanceProfile) profileXML {
	return profileXML{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileID: p.ID, ARN: p.ARN,
		CreateDate: ts(p.Created), Roles: list(render(p.Roles, listedRole)), Tags: optList(tagsXML(p.Tags))}
}

type policyXML struct {
	PolicyName                    string           `xml:"PolicyName"`
	PolicyID                      string           `xml:"PolicyId"`
	ARN                           string           `xml:"Arn"`
	Path                          string           `xml:"Path"`
	DefaultVersionID              string           `xml:"DefaultVersionId"`
	AttachmentCount               int              `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int              `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool             `xml:"IsAttachable"`
	Description                   string           `xml:"Description,omitempty"`
	CreateDate                    query.Timestamp  `xml:"CreateDate"`
	UpdateDate                    query.Timestamp  `xml:"UpdateDate"`
	Tags                          *members[tagXML] `xml:"Tags,omitempty"`
}

// policyOf renders a customer managed policy; IAM's GetPolicy shows the
// description and tags, its lists do not.
func policyOf(p account.ManagedPolicy, full bool) policyXML {
	x := policyXML{PolicyName: p.Name, PolicyID: p.ID, ARN: p.ARN, Path: p.Path, DefaultVersionID: p.DefaultVersion,
		AttachmentCount: p.AttachmentCount, PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount,
		IsAttachable: true, CreateDate: ts(p.Created), UpdateDate: ts(p.Updated)}
	if full {
		x.Description = p.Description
		x.Tags = optList(tagsXML(p.Tags))
	}
	return x
}

// listedUser, listedRole and listedPolicy render an entity as IAM's lists show it.
func listedUser(u account.User) userXML              { return userOf(u, false) }
func listedRole(r account.Role) roleXML              { return roleOf(r, false) }
func listedPolicy(p account.ManagedPolicy) policyXML { return policyOf(p, false) }

type versionXML struct {
	Document         string          `xml:"Document,omitempty"`
	VersionID        string          `xml:"VersionId"`
	IsDefaultVersion bool            `xml:"IsDefaultVersion"`
	CreateDate       query.Timestamp `xml:"CreateDate"`
}

// versionOf renders a policy version; withDoc includes its document, URL-encoded.
func versionOf(v account.PolicyVersion, withDoc bool) versionXML {
	x := versionXML{VersionID: v.ID, IsDefaultVersion: v.IsDefault, CreateDate: ts(v.Created)}
	if withDoc {
		x.Document = account.EscapePolicyDocument(v.Document)
	}
	return x
}

type attachedXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyARN  string `xml:"PolicyArn"`
}

// attachedOf is the attached managed policy arn.
func attachedOf(arn string) attachedXML {
	return attachedXML{PolicyName: policyNameOf(arn), PolicyARN: arn}
}

// policyNameOf is the name of a managed policy: the last element of its ARN.
func policyNameOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// policyPathOf is the path of a managed policy, from its ARN.
func policyPathOf(arn string) string {
	a, err := account.ParseARN(arn)
	if err != nil {
		return "/"
	}
	_, path, _ := a.SplitResource()
	return path
}

// readTags reads the Tags parameter (Tags.member.N.Key/Value).
func readTags(p query.Params, name string) account.Tags {
	var out account.Tags
	for _, t := range p.List(name) {
		out = append(out, account.Tag{Key: t.String("Key"), Value: t.String("Value")})
	}
	return out
}

// tagOpts are the resource's tags as aws:ResourceTag/* and, as IAM also names them,
// iam:ResourceTag/*.
func tagOpts(t account.Tags) []sts.AuthzOption {
	if len(t) == 0 {
		return nil
	}
	keys := render(t, func(tag account.Tag) policy.ContextKey {
		return policy.ContextKey{Name: "iam:ResourceTag/" + tag.Key, Values: []string{tag.Value}}
	})
	return []sts.AuthzOption{sts.WithResourceTags(sts.EntityTags(t)), sts.WithContextKeys(keys...)}
}

// requestTagOpts are tags a request adds: aws:RequestTag/* and aws:TagKeys.
func requestTagOpts(t account.Tags) []sts.AuthzOption {
	if len(t) == 0 {
		return nil
	}
	return []sts.AuthzOption{sts.WithRequestTags(sts.EntityTags(t))}
}

// untagOpts is aws:TagKeys of an Untag… request.
func untagOpts(keys []string) sts.AuthzOption {
	return sts.WithContextKeys(policy.ContextKey{Name: "aws:TagKeys", Values: keys})
}

// contextKey is one condition key with one value.
func contextKey(name, value string) sts.AuthzOption {
	return sts.WithContextKeys(policy.ContextKey{Name: name, Values: []string{value}})
}

// paginate returns one page of items (already in their list order) for Marker and
// MaxItems, and the marker of the next page. Markers are opaque offsets.
func paginate[T any](items []T, pg store.Page) ([]T, string, error) {
	start := 0
	if pg.Marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(pg.Marker)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "o"))
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "o") || n < 0 || n > len(items) {
			return nil, "", account.Errorf(account.InvalidInput, "Invalid Marker.")
		}
		start = n
	}
	limit := pg.MaxItems
	if limit <= 0 {
		limit = 100
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}
