package store

import (
	"slices"
	"strings"

	"github.com/credbroker/credbroker/sts/account"
)

// entityKind describes one kind of entity that IAM names within the account: users,
// groups, roles, customer managed policies, instance profiles and server certificates.
// R is its record as stored, kept by unique id in bucket and indexed by name (without
// regard to case) under the name index kind index. The kinds are the package variables
// below; every read, write, rename and delete of a named entity goes through them.
type entityKind[R interface{ Validate() error }] struct {
	entityIndex
	prefix string // of new unique ids (account.PrefixUser, …)
	entityMessages
	// fields returns the record's identity fields.
	fields func(*R) entityFields
	// arn is the entity's ARN (not stored: it follows from the path and name).
	arn func(accountID, path, name string) string
}

// entityIndex is where a kind of named entity is kept: records by unique id in bucket,
// names under the name index kind index.
type entityIndex struct {
	bucket string
	index  byte
}

// entityMessages are IAM's messages about one kind of entity, each with one %s: the
// name, or the unique id.
type entityMessages struct{ nameTaken, idTaken, nameMissing, idMissing string }

// iamMessages are IAM's messages about a user, group or role (noun "User", …).
func iamMessages(noun string) entityMessages {
	the := "The " + strings.ToLower(noun)
	return entityMessages{nameTaken: noun + " with name %s already exists.", idTaken: noun + " with id %s already exists.",
		nameMissing: the + " with name %s cannot be found.", idMissing: the + " with id %s cannot be found."}
}

// entityFields points into a record at the fields every named entity has.
type entityFields struct{ id, name, path, arn *string }

var (
	users = &entityKind[account.User]{entityIndex: entityIndex{bUsers, nUser}, prefix: account.PrefixUser,
		entityMessages: iamMessages("User"),
		fields:         func(u *account.User) entityFields { return entityFields{&u.ID, &u.Name, &u.Path, &u.ARN} },
		arn:            account.UserARN}
	groups = &entityKind[account.Group]{entityIndex: entityIndex{bGroups, nGroup}, prefix: account.PrefixGroup,
		entityMessages: iamMessages("Group"),
		fields:         func(g *account.Group) entityFields { return entityFields{&g.ID, &g.Name, &g.Path, &g.ARN} },
		arn:            account.GroupARN}
	roles = &entityKind[account.Role]{entityIndex: entityIndex{bRoles, nRole}, prefix: account.PrefixRole,
		entityMessages: iamMessages("Role"),
		fields:         func(r *account.Role) entityFields { return entityFields{&r.ID, &r.Name, &r.Path, &r.ARN} },
		arn:            account.RoleARN}
	policies = &entityKind[account.ManagedPolicy]{entityIndex: entityIndex{bPolicies, nPolicy}, prefix: account.PrefixPolicy,
		entityMessages: entityMessages{nameTaken: "A policy called %s already exists. Duplicate names are not allowed.",
			idTaken: "Policy with id %s already exists.", idMissing: "The policy with id %s cannot be found."}, // found by ARN: see policyByARN
		fields: func(p *account.ManagedPolicy) entityFields { return entityFields{&p.ID, &p.Name, &p.Path, &p.ARN} },
		arn:    account.PolicyARN}
	profiles = &entityKind[profileRecord]{entityIndex: entityIndex{bProfiles, nProfile}, prefix: account.PrefixInstanceProfile,
		entityMessages: entityMessages{nameTaken: "Instance Profile %s already exists.", idTaken: "Instance Profile with id %s already exists.",
			nameMissing: "Instance Profile %s cannot be found.", idMissing: "Instance Profile with id %s cannot be found."},
		fields: func(p *profileRecord) entityFields { return entityFields{&p.ID, &p.Name, &p.Path, &p.ARN} },
		arn:    account.InstanceProfileARN}
	serverCerts = &entityKind[serverCertRecord]{entityIndex: entityIndex{bServerCerts, nServerCert}, prefix: account.PrefixServerCertificate,
		entityMessages: entityMessages{nameTaken: "The Server Certificate with name %s already exists.", idTaken: "The Server Certificate with id %s already exists.",
			nameMissing: "The Server Certificate with name %s cannot be found.", idMissing: "The Server Certificate with id %s cannot be found."},
		fields: func(c *serverCertRecord) entityFields { return entityFields{&c.ID, &c.Name, &c.Path, &c.ARN} },
		arn:    account.ServerCertificateARN}
)

// load reads the record with unique id id, its ARN set; nil when there is none.
func (k *entityKind[R]) load(tx *Tx, id string) (*R, error) {
	rec := new(R)
	if ok, err := tx.get(k.bucket, []byte(id), rec); err != nil || !ok {
		return nil, err
	}
	f := k.fields(rec)
	*f.arn = k.arn(tx.s.accountID, *f.path, *f.name)
	return rec, nil
}

// found is load's record, with NoSuchEntity for a missing one.
func (k *entityKind[R]) found(tx *Tx, id string) (*R, error) {
	rec, err := k.load(tx, id)
	if err == nil && rec == nil {
		err = notFound(k.idMissing, id)
	}
	return rec, err
}

// record reads the record with unique id id (ok false when there is none), its ARN set.
func (k *entityKind[R]) record(tx *Tx, id string) (rec R, ok bool, err error) {
	p, err := k.load(tx, id)
	if p == nil {
		return rec, false, err
	}
	return *p, true, nil
}

// byID is record with NoSuchEntity for a missing record.
func (k *entityKind[R]) byID(tx *Tx, id string) (R, error) {
	p, err := k.found(tx, id)
	if err != nil {
		var zero R
		return zero, err
	}
	return *p, nil
}

// id returns the unique id of the entity called name (NoSuchEntity when there is none).
func (k *entityKind[R]) id(tx *Tx, name string) (string, error) {
	id, err := tx.lookupName(k.index, name)
	if err == nil && id == "" {
		err = notFound(k.nameMissing, name)
	}
	return id, err
}

// byName returns the record of the entity called name.
func (k *entityKind[R]) byName(tx *Tx, name string) (R, error) {
	id, err := k.id(tx, name)
	if err != nil {
		var zero R
		return zero, err
	}
	return k.byID(tx, id)
}

// named returns byName bound to tx, for change.
func (k *entityKind[R]) named(tx *Tx) func(name string) (R, error) {
	return func(name string) (R, error) { return k.byName(tx, name) }
}

// claim readies a new entity's record: its path defaults to "/", it must be valid and its
// name free, then check (if any) runs, and it gets its unique id: the one it carries (an
// import's, checked) or a new one. Nothing is written.
func (k *entityKind[R]) claim(tx *Tx, rec *R, check func() error) error {
	f := k.fields(rec)
	if *f.path == "" {
		*f.path = "/"
	}
	if err := (*rec).Validate(); err != nil {
		return err
	}
	if id, err := tx.lookupName(k.index, *f.name); err != nil || id != "" {
		return orErr(err, exists(k.nameTaken, *f.name))
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	id, err := tx.newID(k.prefix, *f.id)
	if err != nil {
		return err
	}
	if dup, err := tx.kv.Get(k.bucket, []byte(id)); err != nil || dup != nil {
		return orErr(err, exists(k.idTaken, id))
	}
	*f.id = id
	return nil
}

// insert writes a claimed record and its name index entry.
func (k *entityKind[R]) insert(tx *Tx, rec R) error {
	f := k.fields(&rec)
	if err := k.save(tx, rec); err != nil {
		return err
	}
	return tx.putRaw(bNames, nameKey(k.index, *f.name), []byte(*f.id))
}

// save writes rec (its name unchanged: see rename).
func (k *entityKind[R]) save(tx *Tx, rec R) error {
	return tx.put(k.bucket, []byte(*k.fields(&rec).id), rec)
}

// rename moves the name index entry of the entity id from oldName to newName
// (EntityAlreadyExists when another entity is called newName). The caller saves the
// record with its new name.
func (k *entityKind[R]) rename(tx *Tx, id, oldName, newName string) error {
	if other, err := tx.lookupName(k.index, newName); err != nil || (other != "" && other != id) {
		return orErr(err, exists(k.nameTaken, newName))
	}
	if err := tx.del(bNames, nameKey(k.index, oldName)); err != nil {
		return err
	}
	return tx.putRaw(bNames, nameKey(k.index, newName), []byte(id))
}

// move renames and/or moves rec, as UpdateUser and UpdateGroup do: "" leaves a field as
// it is; newName must satisfy nameRule (reported at nameField), newPath IAM's path rule.
// The name index follows, and rec is saved.
func (k *entityKind[R]) move(tx *Tx, rec *R, newName, newPath string, nameRule account.Rule, nameField string) error {
	var v account.Violations
	if newName != "" {
		v.Check(nameRule, nameField, newName)
	}
	if newPath != "" {
		v.Check(account.RulePath, "newPath", newPath)
	}
	if err := v.Err(); err != nil {
		return err
	}
	f := k.fields(rec)
	if newName != "" && newName != *f.name {
		if err := k.rename(tx, *f.id, *f.name, newName); err != nil {
			return err
		}
		*f.name = newName
	}
	if newPath != "" {
		*f.path = newPath
	}
	return k.save(tx, *rec)
}

// remove deletes the entity's record and its name index entry.
func (k *entityKind[R]) remove(tx *Tx, rec R) error {
	f := k.fields(&rec)
	if err := tx.del(bNames, nameKey(k.index, *f.name)); err != nil {
		return err
	}
	return tx.del(k.bucket, []byte(*f.id))
}

// listNamed returns a page of the entities of kind k whose path starts with pathPrefix,
// by name; view makes each one's answer, or leaves it out (false).
func listNamed[R interface{ Validate() error }, V any](tx *Tx, k *entityKind[R], pathPrefix string, p Page, view func(R) (V, bool, error)) ([]V, string, error) {
	var out []V
	next, err := tx.listByName(k.index, p, func(id string) (bool, error) {
		rec, err := k.found(tx, id)
		if err != nil || !hasPathPrefix(*k.fields(rec).path, pathPrefix) {
			return false, err
		}
		v, keep, err := view(*rec)
		if err != nil || !keep {
			return false, err
		}
		out = append(out, v)
		return true, nil
	})
	return out, next, err
}

// listed is a view for listNamed that answers each record as it is.
func listed[R any](rec R) (R, bool, error) { return rec, true, nil }

// related returns what the relation rel joins to a, each loaded by load, in key order.
func related[T any](tx *Tx, rel, a string, load func(b string) (T, error)) ([]T, error) {
	bs, err := tx.relList(rel, a)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(bs))
	for _, b := range bs {
		v, err := load(b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// change starts a change to the entity load(key) returns: it checks that the transaction
// may write, then loads the entity.
func change[T any](tx *Tx, load func(string) (T, error), key string) (T, error) {
	if err := tx.checkWritable(); err != nil {
		var zero T
		return zero, err
	}
	return load(key)
}

// changeBoth starts a change that joins two entities: it checks that the transaction
// may write, then loads both.
func changeBoth[A, B any](tx *Tx, loadA func(string) (A, error), a string, loadB func(string) (B, error), b string) (A, B, error) {
	x, err := change(tx, loadA, a)
	if err != nil {
		var y B
		return x, y, err
	}
	y, err := loadB(b)
	return x, y, err
}

// providerKind describes one kind of identity provider the account trusts (OpenID
// Connect, SAML): P is its record, kept by ARN in bucket.
type providerKind[P interface{ Validate() error }] struct {
	bucket  string
	missing string // IAM's NoSuchEntity message, %s the ARN
	arn     func(*P) *string
	// clone copies a record deeply enough that an update cannot reach the stored one;
	// keep restores into next the fields of p that no update may change.
	clone func(P) P
	keep  func(next *P, p P)
}

var (
	oidcProviders = &providerKind[account.OIDCProvider]{bucket: bOIDC, missing: "OpenIDConnect Provider not found for arn %s",
		arn: func(p *account.OIDCProvider) *string { return &p.ARN },
		clone: func(p account.OIDCProvider) account.OIDCProvider {
			p.ClientIDs, p.Thumbprints, p.Tags = slices.Clone(p.ClientIDs), slices.Clone(p.Thumbprints), slices.Clone(p.Tags)
			return p
		},
		keep: func(next *account.OIDCProvider, p account.OIDCProvider) {
			next.URL, next.ARN, next.Created = p.URL, p.ARN, p.Created
		}}
	samlProviders = &providerKind[account.SAMLProvider]{bucket: bSAML, missing: "Manifest not found for arn %s",
		arn: func(p *account.SAMLProvider) *string { return &p.ARN },
		clone: func(p account.SAMLProvider) account.SAMLProvider {
			p.Tags = slices.Clone(p.Tags)
			return p
		},
		keep: func(next *account.SAMLProvider, p account.SAMLProvider) {
			next.Name, next.ARN, next.UUID, next.Created = p.Name, p.ARN, p.UUID, p.Created
		}}
)

// claim checks a new provider p, and that no provider has its ARN arn (taken is the
// error when one does), and sets its ARN. Nothing is written.
func (k *providerKind[P]) claim(tx *Tx, p *P, arn string, taken error) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	if err := (*p).Validate(); err != nil {
		return err
	}
	if dup, err := tx.kv.Get(k.bucket, []byte(arn)); err != nil || dup != nil {
		return orErr(err, taken)
	}
	*k.arn(p) = arn
	return nil
}

// get returns the provider arn.
func (k *providerKind[P]) get(tx *Tx, arn string) (P, error) {
	var p P
	ok, err := tx.get(k.bucket, []byte(arn), &p)
	if err != nil || !ok {
		return p, orErr(err, notFound(k.missing, arn))
	}
	*k.arn(&p) = arn
	return p, nil
}

// all returns every provider of the kind, by ARN.
func (k *providerKind[P]) all(tx *Tx) ([]P, error) {
	var out []P
	var derr error
	err := tx.kv.Scan(k.bucket, nil, nil, func(arn, _ []byte) bool {
		var p P
		p, derr = k.get(tx, string(arn))
		out = append(out, p)
		return derr == nil
	})
	return out, orErr(err, derr)
}

// update changes the provider arn through fn, keeping what cannot change.
func (k *providerKind[P]) update(tx *Tx, arn string, fn func(*P) error) (P, error) {
	p, err := change(tx, func(arn string) (P, error) { return k.get(tx, arn) }, arn)
	if err != nil {
		return p, err
	}
	next := k.clone(p)
	if err := fn(&next); err != nil {
		return p, err
	}
	k.keep(&next, p)
	if err := next.Validate(); err != nil {
		return p, err
	}
	return next, tx.put(k.bucket, []byte(arn), next)
}

// delete deletes the provider arn.
func (k *providerKind[P]) delete(tx *Tx, arn string) error {
	if _, err := change(tx, func(arn string) (P, error) { return k.get(tx, arn) }, arn); err != nil {
		return err
	}
	return tx.del(k.bucket, []byte(arn))
}
