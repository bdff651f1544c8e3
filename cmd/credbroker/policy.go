package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/sts/policy"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate policy documents and simulate decisions",
		Long: `Work with IAM policy documents offline, with the same parser and evaluation
engine the embedded IAM/STS core uses: AWS's grammar and error messages, and AWS's
evaluation logic (explicit deny, SCPs, resource-based policies, identity policies,
permissions boundaries, session policies).`,
		Example: `  credbroker policy validate policy.json
  credbroker policy simulate --policy policy.json --principal arn:aws:iam::123456789012:user/alice \
      --action s3:GetObject --resource arn:aws:s3:::reports/2025.csv`,
	}
	cmd.AddCommand(newPolicyValidateCmd(a), newPolicySimulateCmd(a))
	return cmd
}

// policyKindLimits gives each kind its default size quota.
var policyKindLimits = map[policy.Kind]policy.Limit{
	policy.KindIdentity: policy.LimitManaged,
	policy.KindBoundary: policy.LimitManaged,
	policy.KindTrust:    policy.LimitTrust,
	policy.KindSession:  policy.LimitSession,
	policy.KindSCP:      policy.LimitSCP,
	policy.KindResource: policy.NoLimit,
}

var limitNames = map[string]policy.Limit{
	"none": policy.NoLimit, "managed": policy.LimitManaged, "user": policy.LimitInlineUser, "role": policy.LimitInlineRole,
	"group": policy.LimitInlineGroup, "trust": policy.LimitTrust, "session": policy.LimitSession, "scp": policy.LimitSCP,
}

func newPolicyValidateCmd(_ *app) *cobra.Command {
	var kindName, limitName, entity string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy documents against AWS's grammar and size quotas",
		Long: `Check each FILE ("-" reads standard input) as IAM would when the document is
created or attached, and print every fault with its place (line:column and JSON path)
and IAM's own error code and message. Exits 0 when every document is valid, 1 otherwise.

--kind says which rules apply:
  identity   identity-based policy (default): no Principal, Resource required
  boundary   permissions boundary: as identity
  session    session policy for AssumeRole* / GetFederationToken: as identity
  scp        service control policy: as identity
  trust      a role's trust policy: Principal required, no Resource, only sts actions
  resource   resource-based policy (bucket, queue, key policy): Principal required

--limit picks the size quota (default: the kind's own; white space is not counted
except for session policies and SCPs):
  managed 6,144 · user 2,048 · role 10,240 · group 5,120 (inline policies)
  trust 2,048 · session 2,048 · scp 5,120 · none`,
		Example: `  # a customer managed policy
  credbroker policy validate developers.json

  # a role's trust policy and its inline policy
  credbroker policy validate --kind trust trust.json
  credbroker policy validate --limit role --entity app inline.json

  # several files; the exit status says whether all are valid
  credbroker policy validate policies/*.json && echo all good`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			kind, err := policy.ParseKind(kindName)
			if err != nil {
				return err
			}
			limit := policyKindLimits[kind]
			if cmd.Flags().Changed("limit") {
				l, ok := limitNames[strings.ToLower(limitName)]
				if !ok {
					return fmt.Errorf("unknown --limit %q (want managed, user, role, group, trust, session, scp or none)", limitName)
				}
				limit = l
			}
			out := cmd.OutOrStdout()
			bad, faults := 0, 0
			for _, file := range files {
				doc, err := readPolicyFile(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				errs := policy.Validate(doc, kind, func(o *policy.ParseOptions) { o.Limit, o.Entity = limit, entity })
				if len(errs) == 0 {
					fmt.Fprintf(out, "%s: valid %s policy\n", file, kind)
					continue
				}
				bad++
				faults += len(errs)
				for _, e := range errs {
					where := file
					if e.Line > 0 {
						where = fmt.Sprintf("%s:%d:%d", file, e.Line, e.Column)
					}
					fmt.Fprintf(out, "%s: %s: %s: %s\n", where, e.Path, e.Code, e.Message)
				}
			}
			if bad > 0 {
				return exitError{code: 1, msg: fmt.Sprintf("%d fault(s) in %d of %d file(s)", faults, bad, len(files))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kindName, "kind", "identity", "policy kind: identity, boundary, session, scp, trust or resource")
	cmd.Flags().StringVar(&limitName, "limit", "", "size quota: managed, user, role, group, trust, session, scp or none (default: the kind's)")
	cmd.Flags().StringVar(&entity, "entity", "", "user, role or group name for inline-policy quota messages")
	return cmd
}

func readPolicyFile(stdin io.Reader, file string) ([]byte, error) {
	if file == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the policy from standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	return data, nil
}

type simulateFlags struct {
	policies       []string
	boundary       string
	sessions       []string
	resourcePolicy string
	trustPolicy    string
	scps           []string
	principal      string
	principalTags  []string
	actions        []string
	resources      []string
	resourceOwner  string
	contexts       []string
	output         string
}

func newPolicySimulateCmd(_ *app) *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate --policy FILE... --principal ARN --action ACTION... [--resource ARN...]",
		Short: "Decide requests against policies, as IAM's policy simulator does",
		Long: `Decide, for every --action and every --resource, whether the --principal may do it
under the given policies, with AWS's evaluation logic, and show the decision in IAM's
words (allowed, explicitDeny, implicitDeny) with the statements that made it.

Policies
  --policy FILE            identity-based policy (repeatable); an AWS managed policy may
                           be named by ARN (arn:aws:iam::aws:policy/ReadOnlyAccess) or,
                           when no such file exists, by name (AdministratorAccess)
  --boundary FILE          permissions boundary
  --session-policy FILE    session policy (repeatable; any one allowing is enough)
  --resource-policy FILE   resource-based policy of the resource (bucket policy, ...)
  --trust-policy FILE      a role's trust policy: like --resource-policy, but it must
                           name the caller even within the account
  --scp FILE               service control policy (repeatable; each is one level of the
                           organization, and every level must allow)

Request
  --principal ARN          arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME
                           (simulated as a session of the role),
                           arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION,
                           arn:aws:sts::ACCOUNT:federated-user/NAME,
                           arn:aws:iam::ACCOUNT:root, a service (ec2.amazonaws.com),
                           an OIDC or SAML provider ARN, or "anonymous"
  --action A               repeatable, or comma-separated
  --resource ARN           repeatable, or comma-separated; default "*"
  --resource-owner ID      account owning the resource (default: the resource ARN's
                           account, else the principal's): another account makes the
                           request cross-account
  --principal-tag K=V      aws:PrincipalTag/K (repeatable)
  --context KEY=TYPE:VALUE[,VALUE...]
                           a condition key (repeatable). TYPE is the AWS CLI's
                           ContextKeyType: string, numeric, boolean, ip, binary
                           (base64), date, each also as a List (stringList, ...);
                           only List types split values at commas.

aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:username and
aws:userid (where the ARN tells them) and aws:CurrentTime follow from --principal
and the clock; a --context entry of the same name overrides them.`,
		Example: `  # may alice read the report? (a table of decisions)
  credbroker policy simulate --policy developers.json \
      --principal arn:aws:iam::123456789012:user/alice \
      --action s3:GetObject,s3:PutObject --resource arn:aws:s3:::reports/2025.csv

  # an AWS managed policy inside a permissions boundary, from the office network
  credbroker policy simulate --policy arn:aws:iam::aws:policy/PowerUserAccess \
      --boundary boundary.json --principal arn:aws:iam::123456789012:role/dev \
      --action ec2:RunInstances --context aws:SourceIp=ip:192.0.2.10

  # can this OIDC identity assume the CI role? (JSON for tools)
  credbroker policy simulate --trust-policy trust.json \
      --principal arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com \
      --action sts:AssumeRoleWithWebIdentity --resource arn:aws:iam::123456789012:role/ci \
      --context token.actions.githubusercontent.com:sub=string:repo:acme/app:ref:refs/heads/main \
      --context token.actions.githubusercontent.com:aud=string:sts.amazonaws.com \
      --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSimulate(cmd, &f, time.Now)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.policies, "policy", nil, "identity-based policy file, or an AWS managed policy's ARN or name (repeatable)")
	fl.StringVar(&f.boundary, "boundary", "", "permissions boundary file")
	fl.StringSliceVar(&f.sessions, "session-policy", nil, "session policy file (repeatable)")
	fl.StringVar(&f.resourcePolicy, "resource-policy", "", "resource-based policy file")
	fl.StringVar(&f.trustPolicy, "trust-policy", "", "a role's trust policy file")
	fl.StringSliceVar(&f.scps, "scp", nil, "service control policy file, one level of the organization each (repeatable)")
	fl.StringVar(&f.principal, "principal", "", "the caller's ARN (required)")
	fl.StringSliceVar(&f.principalTags, "principal-tag", nil, "principal tag KEY=VALUE (repeatable)")
	fl.StringSliceVar(&f.actions, "action", nil, "action to decide, such as s3:GetObject (required, repeatable)")
	fl.StringSliceVar(&f.resources, "resource", nil, `resource ARN (repeatable; default "*")`)
	fl.StringVar(&f.resourceOwner, "resource-owner", "", "account id owning the resources")
	fl.StringArrayVar(&f.contexts, "context", nil, "condition key KEY=TYPE:VALUE[,VALUE...] (repeatable)")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	_ = cmd.MarkFlagRequired("principal")
	_ = cmd.MarkFlagRequired("action")
	return cmd
}

// simPolicy is a policy given on the command line, with how to name it.
type simPolicy struct {
	p       *policy.Policy
	source  string // file name or managed policy ARN
	managed bool
}

type simulation struct {
	set      policy.Set
	byPolicy map[*policy.Policy]*simPolicy
	catalog  *policy.Catalog
}

func (s *simulation) load(ref string, kind policy.Kind, allowManaged bool) (*simPolicy, error) {
	if allowManaged {
		if _, err := os.Stat(ref); errors.Is(err, fs.ErrNotExist) || strings.HasPrefix(ref, "arn:") {
			if m, ok := s.catalog.Lookup(ref); ok {
				sp := &simPolicy{p: m.Policy, source: m.ARN, managed: true}
				s.byPolicy[m.Policy] = sp
				return sp, nil
			}
			if strings.HasPrefix(ref, "arn:") {
				return nil, fmt.Errorf("%s is not one of the built-in AWS managed policies (%d of them; `aws iam list-policies --scope AWS` against the core lists them)", ref, len(s.catalog.All()))
			}
		}
	}
	doc, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	p, err := policy.Parse(doc, kind, func(o *policy.ParseOptions) { o.Name = filepath.Base(ref) })
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) && pe.Line > 0 {
			return nil, fmt.Errorf("%s:%d:%d: %s: %s: %s (check it with `credbroker policy validate --kind %s %s`)",
				ref, pe.Line, pe.Column, pe.Path, pe.Code, pe.Message, kind, ref)
		}
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	sp := &simPolicy{p: p, source: ref}
	s.byPolicy[p] = sp
	return sp, nil
}

func runSimulate(cmd *cobra.Command, f *simulateFlags, now func() time.Time) error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("unknown --output %q (want table or json)", f.output)
	}
	catalog, err := policy.BuiltinCatalog()
	if err != nil {
		return err
	}
	sim := &simulation{catalog: catalog, byPolicy: map[*policy.Policy]*simPolicy{}}
	if err := sim.loadAll(f); err != nil {
		return err
	}
	principal, ctx, err := simulatedCaller(f, now)
	if err != nil {
		return err
	}
	resources := f.resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	var results []evaluationResult
	for _, action := range f.actions {
		for _, res := range resources {
			req := policy.Request{Principal: principal, Action: action, Context: ctx,
				Resource: policy.Resource{ARN: res, Account: resourceOwner(f.resourceOwner, res, principal.Account)}}
			results = append(results, sim.evaluate(&req))
		}
	}
	return writeResults(cmd.OutOrStdout(), f.output, results)
}

// loadAll loads the policies the flags name into the set, each in its layer.
func (s *simulation) loadAll(f *simulateFlags) error {
	for _, ref := range f.policies {
		sp, err := s.load(ref, policy.KindIdentity, true)
		if err != nil {
			return err
		}
		s.set.Identity = append(s.set.Identity, sp.p)
	}
	if f.boundary != "" {
		sp, err := s.load(f.boundary, policy.KindBoundary, true)
		if err != nil {
			return err
		}
		s.set.Boundary = sp.p
	}
	for _, ref := range f.sessions {
		sp, err := s.load(ref, policy.KindSession, true)
		if err != nil {
			return err
		}
		s.set.Session = append(s.set.Session, sp.p)
	}
	for _, rp := range []struct {
		file string
		kind policy.Kind
	}{{f.resourcePolicy, policy.KindResource}, {f.trustPolicy, policy.KindTrust}} {
		if rp.file == "" {
			continue
		}
		sp, err := s.load(rp.file, rp.kind, false)
		if err != nil {
			return err
		}
		s.set.Resource = append(s.set.Resource, sp.p)
	}
	for _, ref := range f.scps {
		sp, err := s.load(ref, policy.KindSCP, false)
		if err != nil {
			return err
		}
		s.set.SCP = append(s.set.SCP, []*policy.Policy{sp.p})
	}
	return nil
}

// simulatedCaller is the principal (with its tags) and the condition keys of
// the simulated requests.
func simulatedCaller(f *simulateFlags, now func() time.Time) (policy.Principal, policy.Context, error) {
	principal, err := parsePrincipal(f.principal)
	if err != nil {
		return policy.Principal{}, policy.Context{}, err
	}
	for _, kv := range f.principalTags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return policy.Principal{}, policy.Context{}, fmt.Errorf("--principal-tag %q: want KEY=VALUE", kv)
		}
		principal.Tags = append(principal.Tags, policy.Tag{Key: k, Value: v})
	}
	ctx := policy.Context{CurrentTime: now().UTC().Truncate(time.Second)}
	for _, c := range f.contexts {
		key, err := parseContextEntry(c)
		if err != nil {
			return policy.Principal{}, policy.Context{}, err
		}
		ctx.Keys = append(ctx.Keys, key)
	}
	return principal, ctx, nil
}

// writeResults prints the decisions as JSON (IAM's EvaluationResults) or a table.
func writeResults(out io.Writer, format string, results []evaluationResult) error {
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			EvaluationResults []evaluationResult
		}{results})
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tRESOURCE\tDECISION\tMATCHED STATEMENTS\tWHY")
	for _, r := range results {
		var matched []string
		for _, m := range r.MatchedStatements {
			matched = append(matched, m.label())
		}
		if len(matched) == 0 {
			matched = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.EvalActionName, r.EvalResourceName, r.EvalDecision, strings.Join(matched, ", "), r.Reason)
	}
	return tw.Flush()
}

// resourceOwner is --resource-owner, else the ARN's account, else the principal's.
func resourceOwner(flag, arn, principalAccount string) string {
	if flag != "" {
		return flag
	}
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[4] != "" && parts[4] != "aws" {
		return parts[4]
	}
	return principalAccount
}

// evaluationResult is one decision, in the shape of IAM's
// SimulatePrincipalPolicy / SimulateCustomPolicy EvaluationResult, plus Reason.
type evaluationResult struct {
	EvalActionName                    string
	EvalResourceName                  string
	EvalDecision                      string
	MatchedStatements                 []statementRef
	PermissionsBoundaryDecisionDetail *boundaryDetail `json:",omitempty"`
	Reason                            string
}

type boundaryDetail struct {
	AllowedByPermissionsBoundary bool
}

type position struct {
	Line, Column int
}

type statementRef struct {
	SourcePolicyID   string `json:"SourcePolicyId"`
	SourcePolicyType string
	Sid              string `json:",omitempty"`
	Effect           string
	StartPosition    position
	EndPosition      position
}

func (s statementRef) label() string {
	name := filepath.Base(s.SourcePolicyID)
	if s.Sid != "" {
		name += ":" + s.Sid
	} else {
		name += fmt.Sprintf(":%d:%d", s.StartPosition.Line, s.StartPosition.Column)
	}
	if s.SourcePolicyType != "IAM Policy" && s.SourcePolicyType != "aws-managed" {
		name += " (" + s.SourcePolicyType + ")"
	}
	if s.Effect == "Deny" {
		name += " [Deny]"
	}
	return name
}

var layerTypes = map[policy.Layer]string{
	policy.LayerIdentity: "IAM Policy",
	policy.LayerBoundary: "Permissions Boundary",
	policy.LayerSession:  "Session Policy",
	policy.LayerResource: "Resource Policy",
	policy.LayerSCP:      "Service Control Policy",
}

func (s *simulation) evaluate(req *policy.Request) evaluationResult {
	sim := policy.Simulate(&s.set, req, nil)
	r := evaluationResult{
		EvalActionName:    sim.Action,
		EvalResourceName:  sim.Resource,
		EvalDecision:      sim.Decision.Result.EvalDecision(),
		MatchedStatements: []statementRef{},
		Reason:            sim.Decision.Reason.String(),
	}
	for _, m := range sim.Matched {
		sp := s.byPolicy[m.Policy]
		ref := statementRef{
			SourcePolicyID:   sp.source,
			SourcePolicyType: layerTypes[m.Layer],
			Sid:              m.Sid,
			Effect:           m.Effect.String(),
			StartPosition:    position(m.Start),
			EndPosition:      position(m.End),
		}
		if sp.managed && m.Layer == policy.LayerIdentity {
			ref.SourcePolicyType = "aws-managed"
		}
		r.MatchedStatements = append(r.MatchedStatements, ref)
	}
	if sim.AllowedByBoundary != nil {
		r.PermissionsBoundaryDecisionDetail = &boundaryDetail{AllowedByPermissionsBoundary: *sim.AllowedByBoundary}
	}
	return r
}

// parsePrincipal turns --principal into the request's principal, filling what
// the ARN tells (the user name, the role, the account).
func parsePrincipal(s string) (policy.Principal, error) {
	bad := func() (policy.Principal, error) {
		return policy.Principal{}, fmt.Errorf("--principal %q: want a user, role, assumed-role, federated-user or root ARN, "+
			"a service such as ec2.amazonaws.com, an OIDC or SAML provider ARN, or \"anonymous\"", s)
	}
	switch {
	case s == "anonymous" || s == "*":
		return policy.Principal{Type: policy.PrincipalAnonymous}, nil
	case strings.HasSuffix(s, ".amazonaws.com") || strings.HasSuffix(s, ".amazonaws.com.cn"):
		return policy.Principal{Type: policy.PrincipalService, ARN: s}, nil
	case len(s) == 12 && strings.Trim(s, "0123456789") == "":
		return policy.Principal{Type: policy.PrincipalRoot, ARN: "arn:aws:iam::" + s + ":root", Account: s, UserID: s}, nil
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[4] == "" {
		return bad()
	}
	partition, service, account, res := parts[1], parts[2], parts[4], parts[5]
	p := policy.Principal{ARN: s, Account: account}
	last := res[strings.LastIndexByte(res, '/')+1:]
	switch {
	case service == "iam" && res == "root":
		p.Type, p.UserID = policy.PrincipalRoot, account
	case service == "iam" && strings.HasPrefix(res, "user/"):
		p.Type, p.Username = policy.PrincipalUser, last
	case service == "iam" && strings.HasPrefix(res, "role/"):
		p.Type, p.RoleARN = policy.PrincipalAssumedRole, s
		p.ARN = fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/credbroker-simulate", partition, account, last)
	case service == "iam" && (strings.HasPrefix(res, "oidc-provider/") || strings.HasPrefix(res, "saml-provider/")):
		p = policy.Principal{Type: policy.PrincipalFederated, ARN: s}
	case service == "sts" && strings.HasPrefix(res, "assumed-role/"):
		role, _, ok := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
		if !ok || role == "" {
			return bad()
		}
		p.Type, p.RoleARN = policy.PrincipalAssumedRole, fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, role)
	case service == "sts" && strings.HasPrefix(res, "federated-user/"):
		p.Type, p.UserID = policy.PrincipalFederatedUser, account+":"+last
	default:
		return bad()
	}
	if last == "" {
		return bad()
	}
	return p, nil
}

// parseContextEntry reads KEY=TYPE:VALUE[,VALUE...].
func parseContextEntry(s string) (policy.ContextKey, error) {
	key, rest, ok := strings.Cut(s, "=")
	typ, value, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || key == "" {
		return policy.ContextKey{}, fmt.Errorf("--context %q: want KEY=TYPE:VALUE[,VALUE...], such as aws:SourceIp=ip:192.0.2.10", s)
	}
	ctype, known := policy.ParseContextKeyType(typ)
	if !known {
		return policy.ContextKey{}, fmt.Errorf("--context %q: unknown type %q (want string, numeric, boolean, ip, binary, date, or one of them with List)", s, typ)
	}
	values := []string{value}
	if ctype.List {
		values = strings.Split(value, ",")
	}
	for _, v := range values {
		if err := ctype.Check(v); err != nil {
			return policy.ContextKey{}, fmt.Errorf("--context %s: %q is not a valid %s value: %v", key, v, ctype.Base, err)
		}
	}
	return policy.ContextKey{Name: key, Values: values}, nil
}
