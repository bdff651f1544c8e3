package iamapi

import (
	"context"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Last-accessed data: the core records, for every request it allows, the calling
// user or role, the action, when and where (sts.Call, store.RecordServiceAccess).
// GenerateServiceLastAccessedDetails reports, for a user, group, role or managed
// policy, each service its policies allow with the last time one of its principals
// (the user; the role; the group's members; the users and roles the policy is attached
// to, directly or through a group) used it. The report is made at once and kept in
// memory (see jobs).

// serviceNames are AWS's names of the services last-accessed reports name most; a
// namespace not in the table is reported under its own name.
var serviceNames = map[string]string{
	"iam": "AWS Identity and Access Management", "sts": "AWS Security Token Service", "s3": "Amazon S3",
	"ec2": "Amazon EC2", "lambda": "AWS Lambda", "dynamodb": "Amazon DynamoDB", "kms": "AWS Key Management Service",
	"logs": "Amazon CloudWatch Logs", "cloudwatch": "Amazon CloudWatch", "sns": "Amazon SNS", "sqs": "Amazon SQS",
	"secretsmanager": "AWS Secrets Manager", "ssm": "AWS Systems Manager", "ecr": "Amazon Elastic Container Registry",
	"ecs": "Amazon Elastic Container Service", "eks": "Amazon Elastic Kubernetes Service", "rds": "Amazon RDS",
	"cloudformation": "AWS CloudFormation", "cloudtrail": "AWS CloudTrail", "organizations": "AWS Organizations",
	"route53": "Amazon Route 53", "codecommit": "AWS CodeCommit", "elasticloadbalancing": "Elastic Load Balancing",
	"autoscaling": "Amazon EC2 Auto Scaling", "events": "Amazon EventBridge", "kinesis": "Amazon Kinesis",
	"acm": "AWS Certificate Manager", "config": "AWS Config", "access-analyzer": "IAM Access Analyzer",
	"bedrock": "Amazon Bedrock", "cassandra": "Amazon Keyspaces", "tag": "Amazon Resource Group Tagging API",
}

func serviceName(ns string) string {
	if n, ok := serviceNames[ns]; ok {
		return n
	}
	return ns
}

// principalInfo is a user or role whose accesses a report counts, or a group.
type principalInfo struct {
	ARN, Name, ID, Path, Type string // Type: USER, ROLE, GROUP
}

// lastAccess is one principal's last use of one action.
type lastAccess struct {
	principal int // index in the report's principals
	action    string
	date      time.Time
	region    string
}

// lastAccessedReport is one GenerateServiceLastAccessedDetails job's result.
type lastAccessedReport struct {
	granularity string
	principals  []principalInfo
	namespaces  []string                // granted, sorted
	accesses    map[string][]lastAccess // by namespace
}

const jobLastAccessed = "service-last-accessed"

func (a *API) generateServiceLastAccessedDetails(ctx context.Context, c *sts.Call) (any, error) {
	arn := c.Params.String("Arn")
	if err := c.Authorize("iam:GenerateServiceLastAccessedDetails", arn); err != nil {
		return nil, err
	}
	granularity := c.Params.String("Granularity")
	if granularity == "" {
		granularity = "SERVICE_LEVEL"
	}
	var rep *lastAccessedReport
	if err := view(ctx, c, func(tx *store.Tx) error {
		var err error
		rep, err = buildLastAccessed(tx, c, arn)
		return err
	}); err != nil {
		return nil, err
	}
	rep.granularity = granularity
	a.jobs.put(c.RequestID, jobLastAccessed, c.Now, rep)
	return &generateJobResult{JobID: c.RequestID}, nil
}

// subject is what a report covers: the principals (users and roles) whose accesses
// count and the policies whose grants list the services.
type subject struct {
	principals []principalInfo
	docs       []grantingPolicy
}

// grantingPolicy is one identity policy with where it comes from, as
// ListPoliciesGrantingServiceAccess names it.
type grantingPolicy struct {
	name, arn, typ string // typ: INLINE, MANAGED (customer), AWS_MANAGED
	entityType     string // USER, GROUP, ROLE: the holder of an inline policy
	entityName     string
	document       string
}

func buildLastAccessed(tx *store.Tx, c *sts.Call, arn string) (*lastAccessedReport, error) {
	sub, err := subjectOf(tx, c, arn)
	if err != nil {
		return nil, err
	}
	rep := &lastAccessedReport{principals: sub.principals, accesses: map[string][]lastAccess{}}
	accessed := map[string]bool{}
	for i := range sub.principals {
		list, err := tx.ServiceAccesses(sub.principals[i].ID)
		if err != nil {
			return nil, err
		}
		for _, acc := range list {
			ns, _, _ := strings.Cut(acc.Action, ":")
			ns = strings.ToLower(ns)
			accessed[ns] = true
			rep.accesses[ns] = append(rep.accesses[ns], lastAccess{principal: i, action: acc.Action, date: acc.Date, region: acc.Region})
		}
	}
	granted := map[string]bool{}
	for _, d := range sub.docs {
		for _, ns := range grantedNamespaces(d.document, accessed) {
			granted[ns] = true
		}
	}
	for ns := range granted {
		rep.namespaces = append(rep.namespaces, ns)
	}
	slices.Sort(rep.namespaces)
	return rep, nil
}

// subjectOf resolves the user, group, role or managed policy arn.
func subjectOf(tx *store.Tx, c *sts.Call, arn string) (subject, error) {
	var sub subject
	// add adds a user or role, or a group's members.
	add := func(ref account.Ref) error {
		switch ref.Kind {
		case account.KindUser:
			u, err := tx.User(ref.Name)
			if err != nil {
				return err
			}
			sub.principals = append(sub.principals, principalInfo{ARN: u.ARN, Name: u.Name, ID: u.ID, Path: u.Path, Type: "USER"})
		case account.KindRole:
			r, err := tx.Role(ref.Name)
			if err != nil {
				return err
			}
			sub.principals = append(sub.principals, principalInfo{ARN: r.ARN, Name: r.Name, ID: r.ID, Path: r.Path, Type: "ROLE"})
		case account.KindGroup:
			for p := (store.Page{MaxItems: 1000}); ; {
				us, next, err := tx.GroupMembers(ref.Name, p)
				if err != nil {
					return err
				}
				for _, u := range us {
					sub.principals = append(sub.principals, principalInfo{ARN: u.ARN, Name: u.Name, ID: u.ID, Path: u.Path, Type: "USER"})
				}
				if next == "" {
					return nil
				}
				p.Marker = next
			}
		}
		return nil
	}
	if account.IsAWSManagedPolicyARN(arn) || strings.Contains(arn, ":policy/") {
		doc, err := managedPolicyDocument(tx, c, arn)
		if err != nil {
			return sub, err
		}
		sub.docs = append(sub.docs, grantingPolicy{arn: arn, document: doc})
		ents, err := tx.EntitiesForPolicy(arn, false)
		if err != nil {
			return sub, err
		}
		for _, e := range ents {
			if err := add(account.Ref{Kind: e.Kind, Name: e.Name}); err != nil {
				return sub, err
			}
		}
		return sub, nil
	}
	ref, err := entityOfARN(tx, arn)
	if err != nil {
		return sub, err
	}
	if err := add(ref); err != nil {
		return sub, err
	}
	sub.docs, err = grantingPolicies(tx, c, ref)
	return sub, err
}

// grantingPolicies are the identity policies of a user (with its groups'), group or
// role, with their documents.
func grantingPolicies(tx *store.Tx, c *sts.Call, ref account.Ref) ([]grantingPolicy, error) {
	set, err := tx.PoliciesFor(ref)
	if err != nil {
		return nil, err
	}
	out := make([]grantingPolicy, 0, len(set.Identity))
	for _, p := range set.Identity {
		g := grantingPolicy{name: p.Name, document: p.Document}
		switch p.Kind {
		case store.Inline:
			owner, _ := account.ParseARN(p.ARN)
			typ, _, name := owner.SplitResource()
			g.typ, g.entityType, g.entityName = "INLINE", strings.ToUpper(typ), name
		case store.AWSManaged:
			g.typ, g.arn = "MANAGED", p.ARN
			if g.document, err = managedPolicyDocument(tx, c, p.ARN); err != nil {
				return nil, err
			}
		default:
			g.typ, g.arn = "MANAGED", p.ARN
		}
		out = append(out, g)
	}
	return out, nil
}

// managedPolicyDocument is the default version of a customer or AWS managed policy.
func managedPolicyDocument(tx *store.Tx, c *sts.Call, arn string) (string, error) {
	if account.IsAWSManagedPolicyARN(arn) {
		if m, ok := c.Catalog().Lookup(arn); ok {
			return string(m.Document), nil
		}
		return "", account.Errorf(account.NoSuchEntity, "Policy %s was not found.", quoteName(arn))
	}
	p, err := tx.Policy(arn)
	if err != nil {
		return "", err
	}
	v, err := tx.PolicyVersion(p.ARN, p.DefaultVersion)
	return v.Document, err
}

// grantedNamespaces are the service namespaces doc's Allow statements name: literal
// namespaces, and for wildcards ("*", "s3*:…", NotAction) every namespace of the
// service table and of accessed that the statement covers.
func grantedNamespaces(doc string, accessed map[string]bool) []string {
	p, err := policy.Parse([]byte(doc), policy.KindIdentity)
	if err != nil {
		return nil
	}
	candidates := make([]string, 0, len(serviceNames)+len(accessed))
	for ns := range serviceNames {
		candidates = append(candidates, ns)
	}
	for ns := range accessed {
		candidates = append(candidates, ns)
	}
	out := map[string]bool{}
	for _, st := range p.Statements() {
		if st.Effect != policy.Allow {
			continue
		}
		for _, act := range st.Action {
			ns := actionNamespace(act)
			if !strings.ContainsAny(ns, "*?") {
				out[ns] = true
				continue
			}
			for _, cand := range candidates {
				if ok, _ := path.Match(ns, cand); ok {
					out[cand] = true
				}
			}
		}
		if st.NotAction != nil {
			for _, cand := range candidates {
				if !excludesService(st.NotAction, cand) {
					out[cand] = true
				}
			}
		}
	}
	res := make([]string, 0, len(out))
	for ns := range out {
		res = append(res, ns)
	}
	sort.Strings(res)
	return res
}

// actionNamespace is an action pattern's namespace, lower case ("*" for "*").
func actionNamespace(act string) string {
	ns, _, found := strings.Cut(strings.ToLower(act), ":")
	if !found {
		return "*"
	}
	return ns
}

// excludesService reports whether a NotAction list leaves out all of service ns.
func excludesService(notAction []string, ns string) bool {
	for _, a := range notAction {
		a = strings.ToLower(a)
		if a == "*" || a == ns+":*" {
			return true
		}
	}
	return false
}

type trackedActionXML struct {
	ActionName         string           `xml:"ActionName"`
	LastAccessedEntity string           `xml:"LastAccessedEntity,omitempty"`
	LastAccessedTime   *query.Timestamp `xml:"LastAccessedTime,omitempty"`
	LastAccessedRegion string           `xml:"LastAccessedRegion,omitempty"`
}

type serviceLastAccessedXML struct {
	ServiceName                string                     `xml:"ServiceName"`
	LastAuthenticated          *query.Timestamp           `xml:"LastAuthenticated,omitempty"`
	ServiceNamespace           string                     `xml:"ServiceNamespace"`
	LastAuthenticatedEntity    string                     `xml:"LastAuthenticatedEntity,omitempty"`
	LastAuthenticatedRegion    string                     `xml:"LastAuthenticatedRegion,omitempty"`
	TotalAuthenticatedEntities int                        `xml:"TotalAuthenticatedEntities"`
	TrackedActions             *members[trackedActionXML] `xml:"TrackedActionsLastAccessed,omitempty"`
}

type serviceLastAccessedResult struct {
	JobStatus            string                          `xml:"JobStatus"`
	JobType              string                          `xml:"JobType"`
	JobCreationDate      query.Timestamp                 `xml:"JobCreationDate"`
	ServicesLastAccessed members[serviceLastAccessedXML] `xml:"ServicesLastAccessed"`
	JobCompletionDate    query.Timestamp                 `xml:"JobCompletionDate"`
	page
}

// summary renders one namespace of the report.
func (r *lastAccessedReport) summary(ns string) serviceLastAccessedXML {
	x := serviceLastAccessedXML{ServiceName: serviceName(ns), ServiceNamespace: ns}
	var last *lastAccess
	who := map[int]bool{}
	actions := map[string]lastAccess{}
	for i, acc := range r.accesses[ns] {
		who[acc.principal] = true
		if last == nil || acc.date.After(last.date) {
			last = &r.accesses[ns][i]
		}
		_, name, _ := strings.Cut(acc.action, ":")
		if al, ok := actions[name]; !ok || acc.date.After(al.date) {
			actions[name] = acc
		}
	}
	x.TotalAuthenticatedEntities = len(who)
	if last != nil {
		x.LastAuthenticated, x.LastAuthenticatedEntity, x.LastAuthenticatedRegion = optTS(last.date), r.principals[last.principal].ARN, last.region
	}
	if r.granularity == "ACTION_LEVEL" {
		names := make([]string, 0, len(actions))
		for n := range actions {
			names = append(names, n)
		}
		slices.Sort(names)
		tracked := make([]trackedActionXML, 0, len(names))
		for _, n := range names {
			al := actions[n]
			tracked = append(tracked, trackedActionXML{ActionName: n, LastAccessedEntity: r.principals[al.principal].ARN,
				LastAccessedTime: optTS(al.date), LastAccessedRegion: al.region})
		}
		x.TrackedActions = &members[trackedActionXML]{Member: tracked}
	}
	return x
}

func (a *API) lastAccessedJob(c *sts.Call, action string) (*lastAccessedReport, time.Time, error) {
	if err := c.Authorize(action, "*"); err != nil {
		return nil, time.Time{}, err
	}
	v, created, err := a.jobs.get(c.Params.String("JobId"), jobLastAccessed, c.Now)
	if err != nil {
		return nil, created, err
	}
	return v.(*lastAccessedReport), created, nil
}

func (a *API) getServiceLastAccessedDetails(_ context.Context, c *sts.Call) (any, error) {
	rep, created, err := a.lastAccessedJob(c, "iam:GetServiceLastAccessedDetails")
	if err != nil {
		return nil, err
	}
	nss, next, err := paginate(rep.namespaces, pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	out := make([]serviceLastAccessedXML, len(nss))
	for i, ns := range nss {
		out[i] = rep.summary(ns)
	}
	return &serviceLastAccessedResult{JobStatus: "COMPLETED", JobType: rep.granularity, JobCreationDate: ts(created),
		JobCompletionDate: ts(created), ServicesLastAccessed: list(out), page: pageResult(next)}, nil
}

type entityInfoXML struct {
	ARN  string `xml:"Arn"`
	Name string `xml:"Name"`
	Type string `xml:"Type"`
	ID   string `xml:"Id"`
	Path string `xml:"Path,omitempty"`
}

type entityDetailsXML struct {
	EntityInfo        entityInfoXML    `xml:"EntityInfo"`
	LastAuthenticated *query.Timestamp `xml:"LastAuthenticated,omitempty"`
}

type withEntitiesResult struct {
	JobStatus         string                    `xml:"JobStatus"`
	JobCreationDate   query.Timestamp           `xml:"JobCreationDate"`
	JobCompletionDate query.Timestamp           `xml:"JobCompletionDate"`
	EntityDetailsList members[entityDetailsXML] `xml:"EntityDetailsList"`
	page
}

// getServiceLastAccessedDetailsWithEntities lists the report's principals with their
// last use of the service, most recent first (never-used last), as IAM sorts them.
func (a *API) getServiceLastAccessedDetailsWithEntities(_ context.Context, c *sts.Call) (any, error) {
	rep, created, err := a.lastAccessedJob(c, "iam:GetServiceLastAccessedDetailsWithEntities")
	if err != nil {
		return nil, err
	}
	ns := strings.ToLower(c.Params.String("ServiceNamespace"))
	last := make([]time.Time, len(rep.principals))
	for _, acc := range rep.accesses[ns] {
		if acc.date.After(last[acc.principal]) {
			last[acc.principal] = acc.date
		}
	}
	order := make([]int, len(rep.principals))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return last[order[i]].After(last[order[j]]) })
	all := make([]entityDetailsXML, 0, len(order))
	for _, i := range order {
		p := rep.principals[i]
		all = append(all, entityDetailsXML{EntityInfo: entityInfoXML{ARN: p.ARN, Name: p.Name, Type: p.Type, ID: p.ID, Path: p.Path},
			LastAuthenticated: optTS(last[i])})
	}
	items, next, err := paginate(all, pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	return &withEntitiesResult{JobStatus: "COMPLETED", JobCreationDate: ts(created), JobCompletionDate: ts(created),
		EntityDetailsList: list(items), page: pageResult(next)}, nil
}

type policyGrantingXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyType string `xml:"PolicyType"`
	PolicyArn  string `xml:"PolicyArn,omitempty"`
	EntityType string `xml:"EntityType,omitempty"`
	EntityName string `xml:"EntityName,omitempty"`
}

type servicePoliciesXML struct {
	ServiceNamespace string                     `xml:"ServiceNamespace"`
	Policies         members[policyGrantingXML] `xml:"Policies"`
}

type policiesGrantingResult struct {
	PoliciesGrantingServiceAccess members[servicePoliciesXML] `xml:"PoliciesGrantingServiceAccess"`
	page
}

// listPoliciesGrantingServiceAccess lists, for each namespace asked, the identity
// policies of the user (with its groups'), group or role that allow some action of it.
func (a *API) listPoliciesGrantingServiceAccess(ctx context.Context, c *sts.Call) (any, error) {
	arn := c.Params.String("Arn")
	if err := c.Authorize("iam:ListPoliciesGrantingServiceAccess", arn); err != nil {
		return nil, err
	}
	var docs []grantingPolicy
	if err := view(ctx, c, func(tx *store.Tx) error {
		ref, err := entityOfARN(tx, arn)
		if err != nil {
			return err
		}
		if ref.Kind == account.KindPolicy {
			return account.Errorf(account.InvalidInput, "ARN %s is not the ARN of a user, group or role.", quoteName(arn))
		}
		docs, err = grantingPolicies(tx, c, ref)
		return err
	}); err != nil {
		return nil, err
	}
	var out []servicePoliciesXML
	for _, ns := range c.Params.Strings("ServiceNamespaces") {
		ns = strings.ToLower(ns)
		entry := servicePoliciesXML{ServiceNamespace: ns}
		for _, d := range docs {
			if slices.Contains(grantedNamespaces(d.document, map[string]bool{ns: true}), ns) {
				entry.Policies.Member = append(entry.Policies.Member, policyGrantingXML{PolicyName: d.name, PolicyType: d.typ,
					PolicyArn: d.arn, EntityType: d.entityType, EntityName: d.entityName})
			}
		}
		out = append(out, entry)
	}
	if c.Params.String("Marker") != "" {
		return nil, account.Errorf(account.InvalidInput, "Invalid Marker.")
	}
	return &policiesGrantingResult{PoliciesGrantingServiceAccess: list(out)}, nil
}
