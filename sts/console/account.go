package console

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/internal/awserr"
)

type accountView struct {
	AccountID string
	Aliases   []string
	Policy    *types.PasswordPolicy
	SignInURL string
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderAccount(w, r, s, nil)
}

func (c *Console) renderAccount(w http.ResponseWriter, r *http.Request, s *session, shown error) {
	ctx, cl := callCtx(r), c.client(s)
	v := accountView{AccountID: c.core.AccountID(), SignInURL: c.signInURL(ctx, r)}
	err := func() error {
		a, err := cl.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{})
		if err != nil {
			return err
		}
		v.Aliases = a.AccountAliases
		p, err := cl.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
		switch {
		case err == nil:
			v.Policy = p.PasswordPolicy
		case awserr.Code(err) != "NoSuchEntity":
			return err
		}
		return nil
	}()
	c.render(w, r, s, "account", "Account settings", v, cmp.Or(shown, err))
}

func (c *Console) accountOp(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	var err error
	switch r.PathValue("op") {
	case "alias":
		alias := strings.TrimSpace(r.PostFormValue("alias"))
		var cur *iam.ListAccountAliasesOutput
		if cur, err = cl.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}); err == nil {
			for _, a := range cur.AccountAliases {
				if _, err = cl.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String(a)}); err != nil {
					break
				}
			}
		}
		if err == nil && alias != "" {
			_, err = cl.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String(alias)})
		}
	case "recommended-password-policy":
		// The guides' advice: long passwords of every character class, expiring,
		// not reused, that users may change themselves.
		_, err = cl.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
			MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: true,
			RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, AllowUsersToChangePassword: true,
			MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(24),
		})
		if err == nil {
			back(w, r, Prefix+"/")
			return
		}
	case "password-policy":
		on := func(k string) bool { return r.PostFormValue(k) == "on" }
		num := func(k string) *int32 {
			n, perr := strconv.Atoi(r.PostFormValue(k))
			if perr != nil || n == 0 {
				return nil
			}
			return aws.Int32(int32(n))
		}
		_, err = cl.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
			MinimumPasswordLength: num("min_length"), RequireSymbols: on("symbols"), RequireNumbers: on("numbers"),
			RequireUppercaseCharacters: on("upper"), RequireLowercaseCharacters: on("lower"),
			AllowUsersToChangePassword: on("allow_change"), MaxPasswordAge: num("max_age"),
			PasswordReusePrevention: num("reuse"), HardExpiry: aws.Bool(on("hard_expiry")),
		})
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.renderAccount(w, r, s, err)
		return
	}
	back(w, r, Prefix+"/account")
}

type reportView struct {
	Header     []string
	Rows       [][]string
	Page, Next int
	Total      int
}

// reportColumns are the credential report's columns the page shows.
var reportColumns = []string{"user", "arn", "password_enabled", "password_last_used", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_2_active", "access_key_2_last_rotated"}

// reportPage shows the credential report (GenerateCredentialReport,
// GetCredentialReport), pageSize rows a page; ?format=csv downloads it whole.
func (c *Console) reportPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	if r.URL.Query().Get("format") == "csv" {
		if _, err := c.report(ctx, s, cl); err != nil {
			c.render(w, r, s, "report", "Credential report", nil, err)
			return
		}
		out, err := cl.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		if err != nil {
			c.render(w, r, s, "report", "Credential report", nil, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Content-Disposition", `attachment; filename="credential-report.csv"`)
		_, _ = w.Write(out.Content)
		return
	}
	rep, err := c.report(ctx, s, cl)
	if err != nil {
		c.render(w, r, s, "report", "Credential report", nil, err)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 0)
	v := reportView{Header: reportColumns, Page: page, Total: len(rep.rows)}
	for i := page * pageSize; i < len(rep.rows) && i < (page+1)*pageSize; i++ {
		line := make([]string, len(reportColumns))
		for j, k := range reportColumns {
			line[j] = rep.get(i, k)
		}
		v.Rows = append(v.Rows, line)
	}
	if (page+1)*pageSize < len(rep.rows) {
		v.Next = page + 1
	}
	c.render(w, r, s, "report", "Credential report", v, nil)
}
