package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/internal/awserr"
)

// Recommendation is one of the guides' security recommendations, with its state and
// the page that fixes it.
type Recommendation struct {
	ID, Title, Detail string
	OK                bool
	FixURL, FixLabel  string
	// FixPost makes the fix a button that posts to FixURL (with the CSRF token)
	// instead of a link.
	FixPost bool
}

type dashboardView struct {
	Users, Groups, Roles, Policies int32
	SignInURL                      string
	Recommendations                []Recommendation
}

const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

// staleAfter is the age from which an access key or a role counts as unused or old.
const staleAfter = 90 * 24 * time.Hour

// dashboard shows the account's counts, its sign-in URL and the recommendations,
// from IAM calls made as the signed-in principal.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	sum, err := cl.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		c.render(w, r, s, "dashboard", "IAM dashboard", nil, err)
		return
	}
	m := sum.SummaryMap
	v := dashboardView{Users: m["Users"], Groups: m["Groups"], Roles: m["Roles"], Policies: m["Policies"],
		SignInURL: c.signInURL(ctx, r)}
	v.Recommendations = c.recommendations(ctx, s, cl, m)
	c.render(w, r, s, "dashboard", "IAM dashboard", v, nil)
}

// signInURL is the account's console sign-in URL, by alias when it has one.
func (c *Console) signInURL(ctx context.Context, r *http.Request) string {
	name := c.core.AccountID()
	if a, err := c.core.AccountAliases(ctx); err == nil && len(a) > 0 {
		name = a[0]
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix + "/signin/" + url.PathEscape(name)
}

// recommendations evaluates the guides' recommendations. A check whose IAM call
// fails says so (with IAM's message) instead of passing.
func (c *Console) recommendations(ctx context.Context, s *session, cl *iam.Client, sum map[string]int32) []Recommendation {
	recs := []Recommendation{
		{ID: "root-mfa", Title: "Add MFA for the root user", OK: sum["AccountMFAEnabled"] == 1,
			FixURL: Prefix + "/users/" + rootPathName, FixLabel: "Assign MFA to the root user"},
		{ID: "root-keys", Title: "No access keys for the root user", OK: sum["AccountAccessKeysPresent"] == 0,
			FixURL: Prefix + "/users/" + rootPathName, FixLabel: "Delete the root user's access keys"},
	}
	pp := Recommendation{ID: "password-policy", Title: "Set a password policy", OK: true,
		FixURL: Prefix + "/account/recommended-password-policy", FixLabel: "Apply the recommended password policy", FixPost: true}
	if _, err := cl.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}); err != nil {
		pp.OK = false
		if awserr.Code(err) != "NoSuchEntity" {
			pp.Detail = errText(err)
		}
	}
	recs = append(recs, pp)
	recs = append(recs, c.reportRecommendations(ctx, s, cl)...)
	recs = append(recs, c.attachedRecommendations(ctx, cl)...)
	recs = append(recs, c.roleRecommendation(ctx, cl))
	return recs
}

// reportRecommendations: MFA for every user with a console password; access keys
// unused or older than 90 days (from the credential report).
func (c *Console) reportRecommendations(ctx context.Context, s *session, cl *iam.Client) []Recommendation {
	mfa := Recommendation{ID: "user-mfa", Title: "MFA for every user with a console password", OK: true,
		FixURL: Prefix + "/users", FixLabel: "Assign MFA"}
	keys := Recommendation{ID: "old-keys", Title: "No access keys unused or older than 90 days", OK: true,
		FixURL: Prefix + "/users", FixLabel: "Rotate or delete the keys"}
	rep, err := c.report(ctx, s, cl)
	if err != nil {
		mfa.OK, keys.OK = false, false
		mfa.Detail, keys.Detail = errText(err), errText(err)
		return []Recommendation{mfa, keys}
	}
	// The same report gives the same answer: work it out once per report read.
	c.mu.Lock()
	done := rep.recs
	c.mu.Unlock()
	if done != nil {
		return done
	}
	now := c.now()
	var noMFA, stale []string
	for i := range rep.rows {
		user := rep.get(i, "user")
		if user == "<root_account>" {
			continue
		}
		if rep.get(i, "password_enabled") == "true" && rep.get(i, "mfa_active") != "true" {
			noMFA = append(noMFA, user)
		}
		for _, k := range []string{"1", "2"} {
			if rep.get(i, "access_key_"+k+"_active") != "true" {
				continue
			}
			rotated := parseReportTime(rep.get(i, "access_key_"+k+"_last_rotated"))
			used := parseReportTime(rep.get(i, "access_key_"+k+"_last_used_date"))
			last := rotated
			if used.After(last) {
				last = used
			}
			if now.Sub(rotated) > staleAfter || now.Sub(last) > staleAfter {
				stale = append(stale, user)
				break
			}
		}
	}
	if len(noMFA) > 0 {
		mfa.OK, mfa.Detail = false, "Without MFA: "+listSome(noMFA)
		mfa.FixURL = Prefix + "/users/" + url.PathEscape(noMFA[0])
	}
	if len(stale) > 0 {
		keys.OK, keys.Detail = false, "Keys to rotate: "+listSome(stale)
		keys.FixURL = Prefix + "/users/" + url.PathEscape(stale[0])
	}
	out := []Recommendation{mfa, keys}
	c.mu.Lock()
	rep.recs = out
	c.mu.Unlock()
	return out
}

// attachedRecommendations: policies attached to groups rather than users; no user
// with AdministratorAccess attached directly.
func (c *Console) attachedRecommendations(ctx context.Context, cl *iam.Client) []Recommendation {
	direct := Recommendation{ID: "user-policies", Title: "Attach policies to groups, not to users", OK: true,
		FixURL: Prefix + "/groups", FixLabel: "Use groups"}
	admins := Recommendation{ID: "user-admins", Title: "No user with AdministratorAccess attached directly", OK: true,
		FixURL: Prefix + "/groups", FixLabel: "Give administrators a group"}
	var users []string
	pols, err := cl.ListPolicies(ctx, &iam.ListPoliciesInput{OnlyAttached: true, MaxItems: aws.Int32(1000)})
	if err == nil {
		for _, p := range pols.Policies {
			ents, e := cl.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: p.Arn, EntityFilter: types.EntityTypeUser, MaxItems: aws.Int32(100)})
			if e != nil {
				err = e
				break
			}
			for _, u := range ents.PolicyUsers {
				users = append(users, aws.ToString(u.UserName))
				if aws.ToString(p.Arn) == adminPolicyARN {
					admins.OK = false
					admins.Detail = "AdministratorAccess attached to " + aws.ToString(u.UserName)
					admins.FixURL = Prefix + "/users/" + url.PathEscape(aws.ToString(u.UserName))
				}
			}
		}
	}
	if err != nil {
		direct.OK, admins.OK, direct.Detail, admins.Detail = false, false, errText(err), errText(err)
	} else if len(users) > 0 {
		direct.OK, direct.Detail = false, "Policies attached to: "+listSome(users)
		direct.FixURL = Prefix + "/users/" + url.PathEscape(users[0])
	}
	return []Recommendation{direct, admins}
}

// maxRolesChecked bounds the GetRole calls of the unused-roles check.
const maxRolesChecked = 50

// roleRecommendation: no role unused for 90 days (roles older than that).
func (c *Console) roleRecommendation(ctx context.Context, cl *iam.Client) Recommendation {
	rec := Recommendation{ID: "unused-roles", Title: "No roles unused for 90 days", OK: true,
		FixURL: Prefix + "/roles", FixLabel: "Review the roles"}
	out, err := cl.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(maxRolesChecked)})
	if err != nil {
		rec.OK, rec.Detail = false, errText(err)
		return rec
	}
	var unused []string
	now := c.now()
	for _, ro := range out.Roles {
		if now.Sub(aws.ToTime(ro.CreateDate)) < staleAfter {
			continue
		}
		g, err := cl.GetRole(ctx, &iam.GetRoleInput{RoleName: ro.RoleName})
		if err != nil {
			rec.OK, rec.Detail = false, errText(err)
			return rec
		}
		if lu := g.Role.RoleLastUsed; lu == nil || lu.LastUsedDate == nil || now.Sub(*lu.LastUsedDate) > staleAfter {
			unused = append(unused, aws.ToString(ro.RoleName))
		}
	}
	if len(unused) > 0 {
		rec.OK, rec.Detail = false, "Unused: "+listSome(unused)
		rec.FixURL = Prefix + "/roles/" + url.PathEscape(unused[0])
	}
	return rec
}

func listSome(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + " and others"
	}
	return strings.Join(names, ", ")
}

// credReport is a credential report as read: its CSV rows, by column name.
type credReport struct {
	col     map[string]int
	rows    [][]string
	fetched time.Time
	recs    []Recommendation // the recommendations it gives, once worked out (guarded by Console.mu)
}

// get returns column name of row i ("" when the report has no such column).
func (r *credReport) get(i int, name string) string {
	j, ok := r.col[name]
	if !ok || j >= len(r.rows[i]) {
		return ""
	}
	return r.rows[i][j]
}

// reportReuse is how long a session reuses the credential report it read, while
// GenerateCredentialReport (authorized on every use) says no newer one was started.
const reportReuse = time.Minute

// report returns the credential report: GenerateCredentialReport, then
// GetCredentialReport unless the session read the current report less than
// reportReuse ago (a 10,000-user report is megabytes of XML to read again).
func (c *Console) report(ctx context.Context, s *session, cl *iam.Client) (*credReport, error) {
	var out *iam.GetCredentialReportOutput
	var err error
	// A report may expire between the two calls: then generate it again (twice at most).
	for range 3 {
		gen, gerr := cl.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if gerr != nil {
			return nil, gerr
		}
		c.mu.Lock()
		cached := s.report
		c.mu.Unlock()
		if gen.State == types.ReportStateTypeComplete && cached != nil && c.now().Sub(cached.fetched) < reportReuse {
			return cached, nil
		}
		if out, err = cl.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}); awserr.Code(err) != "ReportExpired" {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(out.Content)).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, userError("The credential report could not be read.")
	}
	r := &credReport{col: map[string]int{}, rows: recs[1:], fetched: c.now()}
	for i, h := range recs[0] {
		r.col[h] = i
	}
	c.mu.Lock()
	s.report = r
	c.mu.Unlock()
	return r, nil
}

func parseReportTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
