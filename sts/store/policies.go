package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
)

// MaxManagedPolicySize is IAM's quota for one managed policy document (characters, not
// counting whitespace).
const MaxManagedPolicySize = policy.MaxManagedSize

// CreatePolicy creates a customer managed policy with document as its default version v1
// (CreatePolicy). Name is required; Path defaults to "/"; ID and dates are set.
func (tx *Tx) CreatePolicy(p account.ManagedPolicy, document string) (account.ManagedPolicy, error) {
	return tx.ImportPolicy(p, []account.PolicyVersion{{Document: document, IsDefault: true}})
}

// ImportPolicy creates a managed policy with the given versions (an import's, with their
// ids and dates; ids default to v1, v2, …). Exactly one version must be the default.
func (tx *Tx) ImportPolicy(p account.ManagedPolicy, versions []account.PolicyVersion) (account.ManagedPolicy, error) {
	if err := tx.checkWritable(); err != nil {
		return account.ManagedPolicy{}, err
	}
	if len(versions) == 0 || len(versions) > account.MaxPolicyVersions {
		return account.ManagedPolicy{}, account.Errorf(account.InvalidInput, "A managed policy has 1 to %d versions, not %d.", account.MaxPolicyVersions, len(versions))
	}
	if err := policies.claim(tx, &p, nil); err != nil {
		return account.ManagedPolicy{}, err
	}
	p.Created = tx.createdAt(p.Created)
	p.DefaultVersion, p.NextVersion = "", 1
	latest := p.Created
	seen := map[string]bool{}
	versions = slices.Clone(versions)
	for i := range versions { // check everything before writing anything
		v := &versions[i]
		if v.ID == "" {
			v.ID = "v" + strconv.Itoa(i+1)
		}
		if err := account.RulePolicyVersionID.Check("versionId", v.ID); err != nil {
			return account.ManagedPolicy{}, err
		}
		if seen[v.ID] {
			return account.ManagedPolicy{}, account.Errorf(account.InvalidInput, "Policy %s has version %s twice.", p.Name, v.ID)
		}
		seen[v.ID] = true
		if err := validateManagedDocument(v.Document); err != nil {
			return account.ManagedPolicy{}, err
		}
		if v.Created.IsZero() {
			v.Created = p.Created
		}
		v.Created = v.Created.UTC().Truncate(time.Second)
		if v.Created.After(latest) {
			latest = v.Created
		}
		if v.IsDefault {
			if p.DefaultVersion != "" {
				return account.ManagedPolicy{}, account.Errorf(account.InvalidInput, "Policy %s has more than one default version.", p.Name)
			}
			p.DefaultVersion = v.ID
		}
		p.NextVersion = max(p.NextVersion, versionNumber(v.ID)+1)
	}
	if p.DefaultVersion == "" {
		return account.ManagedPolicy{}, account.Errorf(account.InvalidInput, "Policy %s has no default version.", p.Name)
	}
	for _, v := range versions {
		if err := tx.put(bVersions, versionKey(p.ID, v.ID), v); err != nil {
			return account.ManagedPolicy{}, err
		}
	}
	if p.Updated.IsZero() {
		p.Updated = latest
	}
	p.Updated = p.Updated.UTC().Truncate(time.Second)
	if err := policies.insert(tx, p); err != nil {
		return account.ManagedPolicy{}, err
	}
	return tx.policyByID(p.ID)
}

func validateManagedDocument(doc string) error {
	if err := account.ValidatePolicyDocument("policyDocument", doc); err != nil {
		return err
	}
	if policySize(doc) > MaxManagedPolicySize {
		return limitExceeded("Cannot exceed quota for PolicySize: %d", MaxManagedPolicySize)
	}
	return nil
}

func versionKey(policyID, versionID string) []byte { return []byte(policyID + "/" + versionID) }

// versionNumber is the number of a version id ("v12" → 12; 0 when malformed).
func versionNumber(id string) int {
	s := strings.TrimPrefix(id, "v")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, _ := strconv.Atoi(s)
	return n
}

// Policy returns the customer managed policy arn (NoSuchEntity for AWS managed ones,
// which the policy engine holds, and for any path or account mismatch).
func (tx *Tx) Policy(arn string) (account.ManagedPolicy, error) {
	p, err := tx.policyByARN(arn)
	if err != nil {
		return p, err
	}
	return tx.withUsageCounts(p)
}

// withUsageCounts adds to a policy record how many entities it is attached to and bounds.
func (tx *Tx) withUsageCounts(p account.ManagedPolicy) (account.ManagedPolicy, error) {
	var err error
	if p.AttachmentCount, err = tx.relCount(rAttached, p.ARN); err != nil {
		return p, err
	}
	p.PermissionsBoundaryUsageCount, err = tx.relCount(rBoundary, p.ARN)
	return p, err
}

// policyByARN is Policy without the attachment counts.
func (tx *Tx) policyByARN(arn string) (account.ManagedPolicy, error) {
	missing := notFound("Policy %s was not found.", arn)
	a, err := account.ParseARN(arn)
	if err != nil {
		return account.ManagedPolicy{}, err
	}
	typ, path, name := a.SplitResource()
	if a.Service != "iam" || a.Account != tx.s.accountID || typ != account.ResourcePolicy || name == "" {
		return account.ManagedPolicy{}, missing
	}
	id, err := tx.lookupName(nPolicy, name)
	if err != nil || id == "" {
		return account.ManagedPolicy{}, orErr(err, missing)
	}
	p, ok, err := policies.record(tx, id)
	if err != nil || !ok || p.Path != path {
		return account.ManagedPolicy{}, orErr(err, missing)
	}
	return p, nil
}

// defaultVersion returns the default version of a policy record.
func (tx *Tx) defaultVersion(p account.ManagedPolicy) (account.PolicyVersion, error) {
	var v account.PolicyVersion
	ok, err := tx.get(bVersions, versionKey(p.ID, p.DefaultVersion), &v)
	if err != nil || !ok {
		return v, orErr(err, fmt.Errorf("policy %s: default version %s has no record", p.ARN, p.DefaultVersion))
	}
	v.IsDefault = true
	return v, nil
}

func (tx *Tx) policyByID(id string) (account.ManagedPolicy, error) {
	p, err := policies.byID(tx, id)
	if err != nil {
		return p, err
	}
	return tx.withUsageCounts(p)
}

// PolicyFilter selects managed policies for Policies, as ListPolicies does.
type PolicyFilter struct {
	PathPrefix string
	// OnlyAttached keeps policies in use: attached to a user, group or role, or used as a
	// permissions boundary.
	OnlyAttached bool
	// Usage narrows OnlyAttached to one use: "PermissionsPolicy" (attached) or
	// "PermissionsBoundary" (IAM's PolicyUsageFilter).
	Usage string
}

// Policies lists the account's customer managed policies, by name.
func (tx *Tx) Policies(f PolicyFilter, p Page) ([]account.ManagedPolicy, string, error) {
	return listNamed(tx, policies, f.PathPrefix, p, func(pol account.ManagedPolicy) (account.ManagedPolicy, bool, error) {
		pol, err := tx.withUsageCounts(pol)
		if err != nil {
			return pol, false, err
		}
		return pol, f.keeps(pol), nil
	})
}

// keeps reports whether f selects pol (with its usage counts).
func (f PolicyFilter) keeps(pol account.ManagedPolicy) bool {
	if !f.OnlyAttached {
		return true
	}
	attached := pol.AttachmentCount > 0
	switch f.Usage {
	case "PermissionsPolicy":
		return attached
	case "PermissionsBoundary":
		return pol.PermissionsBoundaryUsageCount > 0
	}
	return attached || pol.PermissionsBoundaryUsageCount > 0
}

// DeletePolicy deletes a managed policy. As IAM, it must be attached to nothing, bound
// nothing, and have no version but the default (DeleteConflict).
func (tx *Tx) DeletePolicy(arn string) error {
	p, err := change(tx, tx.Policy, arn)
	if err != nil {
		return err
	}
	if p.AttachmentCount > 0 || p.PermissionsBoundaryUsageCount > 0 {
		return conflict("Cannot delete a policy attached to entities.")
	}
	versions, err := tx.PolicyVersions(p.ARN)
	if err != nil {
		return err
	}
	if len(versions) > 1 {
		return conflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	for _, v := range versions {
		if err := tx.del(bVersions, versionKey(p.ID, v.ID)); err != nil {
			return err
		}
	}
	return policies.remove(tx, p)
}

// CreatePolicyVersion adds a version to a managed policy (at most five), making it the
// default when setDefault.
func (tx *Tx) CreatePolicyVersion(arn, document string, setDefault bool) (account.PolicyVersion, error) {
	if err := tx.checkWritable(); err != nil {
		return account.PolicyVersion{}, err
	}
	if err := validateManagedDocument(document); err != nil {
		return account.PolicyVersion{}, err
	}
	p, err := tx.policyByARN(arn)
	if err != nil {
		return account.PolicyVersion{}, err
	}
	versions, err := tx.PolicyVersions(p.ARN)
	if err != nil {
		return account.PolicyVersion{}, err
	}
	if len(versions) >= account.MaxPolicyVersions {
		return account.PolicyVersion{}, limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", account.MaxPolicyVersions)
	}
	v := account.PolicyVersion{ID: "v" + strconv.Itoa(p.NextVersion), Document: document, Created: tx.s.now()}
	p.NextVersion++
	p.Updated = v.Created
	if setDefault {
		p.DefaultVersion = v.ID
	}
	v.IsDefault = setDefault
	if err := tx.put(bVersions, versionKey(p.ID, v.ID), v); err != nil {
		return account.PolicyVersion{}, err
	}
	return v, policies.save(tx, p)
}

// PolicyVersion returns one version of a managed policy.
func (tx *Tx) PolicyVersion(arn, versionID string) (account.PolicyVersion, error) {
	_, v, err := tx.policyVersion(arn, versionID)
	return v, err
}

// policyVersion returns a managed policy record and one of its versions.
func (tx *Tx) policyVersion(arn, versionID string) (account.ManagedPolicy, account.PolicyVersion, error) {
	var v account.PolicyVersion
	p, err := tx.policyByARN(arn)
	if err != nil {
		return p, v, err
	}
	ok, err := tx.get(bVersions, versionKey(p.ID, versionID), &v)
	if err != nil || !ok {
		return p, v, orErr(err, notFound("Policy %s version %s does not exist or is not attachable.", p.ARN, versionID))
	}
	v.IsDefault = v.ID == p.DefaultVersion
	return p, v, nil
}

// versionChange starts a change to a version of a managed policy: it checks that the
// transaction may write, then loads the policy record and the version.
func (tx *Tx) versionChange(arn, versionID string) (account.ManagedPolicy, account.PolicyVersion, error) {
	if err := tx.checkWritable(); err != nil {
		return account.ManagedPolicy{}, account.PolicyVersion{}, err
	}
	return tx.policyVersion(arn, versionID)
}

// PolicyVersions returns a managed policy's versions, newest first.
func (tx *Tx) PolicyVersions(arn string) ([]account.PolicyVersion, error) {
	p, err := tx.policyByARN(arn)
	if err != nil {
		return nil, err
	}
	var out []account.PolicyVersion
	var derr error
	err = tx.kv.Scan(bVersions, []byte(p.ID+"/"), nil, func(k, val []byte) bool {
		var v account.PolicyVersion
		if derr = json.Unmarshal(val, &v); derr != nil {
			return false
		}
		v.IsDefault = v.ID == p.DefaultVersion
		out = append(out, v)
		return true
	})
	slices.SortFunc(out, func(a, b account.PolicyVersion) int { return cmp.Compare(versionNumber(b.ID), versionNumber(a.ID)) })
	return out, orErr(err, derr)
}

// SetDefaultPolicyVersion makes versionID the policy's default version.
func (tx *Tx) SetDefaultPolicyVersion(arn, versionID string) error {
	p, v, err := tx.versionChange(arn, versionID)
	if err != nil || v.IsDefault {
		return err
	}
	p.DefaultVersion = v.ID
	return policies.save(tx, p)
}

// DeletePolicyVersion deletes a version that is not the default.
func (tx *Tx) DeletePolicyVersion(arn, versionID string) error {
	p, v, err := tx.versionChange(arn, versionID)
	if err != nil {
		return err
	}
	if v.IsDefault {
		return conflict("Cannot delete the default version of a policy.")
	}
	return tx.del(bVersions, versionKey(p.ID, v.ID))
}
