package rolesanywhere

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credbroker/credbroker/internal/pemcert"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// The kinds of entity, as they appear in ARNs (arn:aws:rolesanywhere:REGION:ACCOUNT:KIND/ID)
// and in the names of their sealed records ("rolesanywhere/KIND/ID").
const (
	kindAnchor  = "trust-anchor"
	kindProfile = "profile"
	kindCRL     = "crl"
)

// tag is a Roles Anywhere tag.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type sourceData struct {
	X509CertificateData string `json:"x509CertificateData,omitempty"`
	AcmPcaArn           string `json:"acmPcaArn,omitempty"`
}

type source struct {
	SourceType string     `json:"sourceType"`
	SourceData sourceData `json:"sourceData"`
}

// anchor is a trust anchor: the CA bundle that end-entity certificates must chain to.
type anchor struct {
	ID      string `json:"trustAnchorId"`
	ARN     string `json:"trustAnchorArn"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	Source  source `json:"source"`
	stamps
	Tags []tag `json:"-"`
	// NotificationSettings are stored and answered; no notification is sent.
	NotificationSettings []notificationSetting `json:"notificationSettings,omitempty"`
}

type mappingRule struct {
	Specifier string `json:"specifier"`
}

type attributeMapping struct {
	CertificateField string        `json:"certificateField"`
	MappingRules     []mappingRule `json:"mappingRules"`
}

// profile lists the roles a session may be for, and what narrows the session.
type profile struct {
	ID                        string             `json:"profileId"`
	ARN                       string             `json:"profileArn"`
	Name                      string             `json:"name"`
	Enabled                   bool               `json:"enabled"`
	RoleARNs                  []string           `json:"roleArns"`
	ManagedPolicyARNs         []string           `json:"managedPolicyArns,omitempty"`
	SessionPolicy             string             `json:"sessionPolicy,omitempty"`
	DurationSeconds           int32              `json:"durationSeconds"`
	AcceptRoleSessionName     bool               `json:"acceptRoleSessionName"`
	RequireInstanceProperties bool               `json:"requireInstanceProperties"`
	AttributeMappings         []attributeMapping `json:"attributeMappings"`
	CreatedBy                 string             `json:"createdBy"`
	stamps
	Tags []tag `json:"-"`
}

// crl is an imported certificate revocation list of a trust anchor.
type crl struct {
	ID             string `json:"crlId"`
	ARN            string `json:"crlArn"`
	Name           string `json:"name"`
	Enabled        bool   `json:"enabled"`
	TrustAnchorARN string `json:"trustAnchorArn"`
	Data           []byte `json:"crlData"`
	stamps
	Tags []tag `json:"-"`
}

// stamps are when an entity was created and last changed.
type stamps struct {
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func newStamps(now time.Time) stamps { return stamps{CreatedAt: now, UpdatedAt: now} }

// record is what the store holds of an entity: the entity and its tags.
type record[T any] struct {
	Entity T     `json:"e"`
	Tags   []tag `json:"t,omitempty"`
}

func recordName(kind, id string) string { return "rolesanywhere/" + kind + "/" + id }

func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

func (in *input) arn(kind, id string) string {
	region := in.call.Region
	return "arn:" + account.Partition + ":" + ServiceName + ":" + region + ":" + in.call.AccountID() + ":" + kind + "/" + id
}

// parseEntityARN returns the kind and id of a Roles Anywhere ARN of account acct.
func parseEntityARN(s, acct string) (kind, id string, ok bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != ServiceName || parts[4] != acct {
		return "", "", false
	}
	kind, id, ok = strings.Cut(parts[5], "/")
	return kind, id, ok && id != "" && !strings.Contains(id, "/")
}

// load reads the record kind/id.
func load[T any](ctx context.Context, st storeView, kind, id string) (*record[T], error) {
	var rec record[T]
	err := st.View(ctx, func(tx *store.Tx) error {
		b, err := tx.Secret(recordName(kind, id))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	if errors.Is(err, account.ErrNoSuchEntity) {
		return nil, notFound("Resource not found")
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s %s: %w", kind, id, err)
	}
	return &rec, nil
}

func save[T any](tx *store.Tx, kind, id string, rec *record[T]) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.PutSecret(recordName(kind, id), b)
}

// update changes the record kind/id in one transaction.
func update[T any](ctx context.Context, st storeView, kind, id string, fn func(*record[T]) error) (*record[T], error) {
	var rec record[T]
	err := st.Update(ctx, func(tx *store.Tx) error {
		b, err := tx.Secret(recordName(kind, id))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
		return save(tx, kind, id, &rec)
	})
	if errors.Is(err, account.ErrNoSuchEntity) {
		return nil, notFound("Resource not found")
	}
	return &rec, err
}

func list[T any](ctx context.Context, st storeView, kind string) ([]record[T], error) {
	var out []record[T]
	err := st.View(ctx, func(tx *store.Tx) error {
		names, err := tx.SecretNames(recordName(kind, ""))
		if err != nil {
			return err
		}
		for _, n := range names {
			b, err := tx.Secret(n)
			if err != nil {
				return err
			}
			var rec record[T]
			if err := json.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("record %s: %w", n, err)
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

func remove(ctx context.Context, st storeView, kind, id string) error {
	err := st.Update(ctx, func(tx *store.Tx) error { return tx.DeleteSecret(recordName(kind, id)) })
	if errors.Is(err, account.ErrNoSuchEntity) {
		return notFound("Resource not found")
	}
	return err
}

// storeView is what the entities need of the core's store.
type storeView interface {
	View(ctx context.Context, fn func(*store.Tx) error) error
	Update(ctx context.Context, fn func(*store.Tx) error) error
}

// Body readers.

func (in *input) str(name string) (string, bool, error) {
	raw, ok := in.json[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, invalid(name + " must be a string.")
	}
	return s, true, nil
}

func (in *input) boolean(name string) (bool, bool, error) {
	raw, ok := in.json[name]
	if !ok || string(raw) == "null" {
		return false, false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, false, invalid(name + " must be a boolean.")
	}
	return b, true, nil
}

func (in *input) decode(name string, v any) (bool, error) {
	raw, ok := in.json[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, invalid(name + " is not of the expected form.")
	}
	return true, nil
}

func (in *input) name() (string, error) {
	n, ok, err := in.str("name")
	if err != nil {
		return "", err
	}
	if !ok || n == "" || len(n) > 255 {
		return "", invalid("name must have 1 to 255 characters.")
	}
	return n, nil
}

func (in *input) tags() ([]tag, error) {
	var t []tag
	if _, err := in.decode("tags", &t); err != nil {
		return nil, err
	}
	if len(t) > 200 {
		return nil, invalid("tags may hold at most 200 tags.")
	}
	for _, x := range t {
		if x.Key == "" || len(x.Key) > 128 || len(x.Value) > 256 {
			return nil, invalid("A tag key must have 1 to 128 characters and a value at most 256.")
		}
	}
	return t, nil
}

// pcaARN is the ARN of an ACM Private CA.
var pcaARN = regexp.MustCompile(`^arn:aws(-[a-z-]+)?:acm-pca:[a-z0-9-]+:[0-9]{12}:certificate-authority/[0-9a-f-]{36}$`)

// checkSource checks a trust anchor's source. An AWS_ACM_PCA anchor is accepted with
// the ARN of a private CA (AWS also looks the CA up; the core cannot), so that a
// configuration made for AWS applies here unchanged; no ACM PCA is reachable from the
// core, so no certificate chains to it and CreateSession refuses its certificates as
// untrusted, in AWS's words for a chain that does not verify. SELF_SIGNED_REPOSITORY,
// in the model's enum but documented nowhere, is refused.
func checkSource(src source) error {
	switch src.SourceType {
	case "CERTIFICATE_BUNDLE":
		if src.SourceData.AcmPcaArn != "" {
			return invalid("A CERTIFICATE_BUNDLE source takes x509CertificateData, not acmPcaArn.")
		}
		return checkBundle(src.SourceData.X509CertificateData)
	case "AWS_ACM_PCA":
		if src.SourceData.X509CertificateData != "" || !pcaARN.MatchString(src.SourceData.AcmPcaArn) {
			return invalid("An AWS_ACM_PCA source takes the acmPcaArn of an ACM Private CA.")
		}
		return nil
	}
	return invalid("sourceType must be CERTIFICATE_BUNDLE or AWS_ACM_PCA.")
}

// checkBundle checks a trust anchor's CERTIFICATE_BUNDLE: PEM CA certificates.
func checkBundle(pemData string) error {
	n := 0
	for c, err := range pemcert.Certificates([]byte(pemData)) {
		if err != nil {
			return invalid("The certificate bundle holds a certificate that does not parse.")
		}
		if !c.IsCA || !c.BasicConstraintsValid {
			return invalid("The certificate bundle must hold CA certificates only.")
		}
		n++
	}
	if n == 0 {
		return invalid("The certificate bundle holds no PEM certificate.")
	}
	return nil
}

// Operations.

func (a *API) operations() []operation {
	ops := []operation{
		{"CreateTrustAnchor", http.MethodPost, "/trustanchors", http.StatusCreated, createEntity(a, anchors, newTrustAnchor)},
		{"UpdateTrustAnchor", http.MethodPatch, "/trustanchor/{trustAnchorId}", http.StatusOK, updateEntity(a, anchors, "source", checkSource, setAnchor)},
		{"CreateProfile", http.MethodPost, "/profiles", http.StatusCreated, createEntity(a, profiles, newProfile)},
		{"UpdateProfile", http.MethodPatch, "/profile/{profileId}", http.StatusOK, a.updateProfile},
		{"ImportCrl", http.MethodPost, "/crls", http.StatusCreated, createEntity(a, crls, newCRL)},
		{"UpdateCrl", http.MethodPatch, "/crl/{crlId}", http.StatusOK, updateEntity(a, crls, "crlData", checkCRL, setCRL)},
		{"PutAttributeMapping", http.MethodPut, "/profiles/{profileId}/mappings", http.StatusOK, a.putAttributeMapping},
		{"DeleteAttributeMapping", http.MethodDelete, "/profiles/{profileId}/mappings", http.StatusOK, a.deleteAttributeMapping},
		{"PutNotificationSettings", http.MethodPatch, "/put-notifications-settings", http.StatusOK, a.putNotificationSettings},
		{"ResetNotificationSettings", http.MethodPatch, "/reset-notifications-settings", http.StatusOK, a.resetNotificationSettings},
		{"GetSubject", http.MethodGet, "/subject/{subjectId}", http.StatusOK, a.getSubject},
		{"ListSubjects", http.MethodGet, "/subjects", http.StatusOK, a.listSubjects},
		{"ListTagsForResource", http.MethodGet, "/ListTagsForResource", http.StatusOK, a.listTags},
		{"TagResource", http.MethodPost, "/TagResource", http.StatusCreated, a.tagResource},
		{"UntagResource", http.MethodPost, "/UntagResource", http.StatusOK, a.untagResource},
	}
	ops = append(ops, kindOps(a, anchors, "TrustAnchor", "trustanchor")...)
	ops = append(ops, kindOps(a, profiles, "Profile", "profile")...)
	return append(ops, kindOps(a, crls, "Crl", "crl")...)
}

// kindOps are Get, Delete, List, Enable and Disable of kind k: NAME's operations at
// /path/{id} and /paths.
func kindOps[T any](a *API, k entityKind[T], name, path string) []operation {
	item := "/" + path + "/{" + k.idLabel + "}"
	return []operation{
		{"Get" + name, http.MethodGet, item, http.StatusOK, getEntity(a, k)},
		{"Delete" + name, http.MethodDelete, item, http.StatusOK, deleteEntity(a, k)},
		{"List" + name + "s", http.MethodGet, "/" + path + "s", http.StatusOK, listEntities(a, k)},
		{"Enable" + name, http.MethodPost, item + "/enable", http.StatusOK, enableEntity(a, k, true)},
		{"Disable" + name, http.MethodPost, item + "/disable", http.StatusOK, enableEntity(a, k, false)},
	}
}

// setAnchor and setCRL are what UpdateTrustAnchor and UpdateCrl change.
func setAnchor(e *anchor, name *string, src *source, now time.Time) {
	setIf(&e.Name, name)
	setIf(&e.Source, src)
	e.UpdatedAt = now
}

func setCRL(e *crl, name *string, data *[]byte, now time.Time) {
	setIf(&e.Name, name)
	setIf(&e.Data, data)
	e.UpdatedAt = now
}

// entityKind describes one kind of Roles Anywhere entity for the handlers every
// kind shares (get, delete, enable/disable, list).
type entityKind[T any] struct {
	kind, idLabel string // the store's kind; the path label holding the id
	one, many     string // the JSON keys of one entity and of a list
	// enable sets the entity's Enabled and UpdatedAt.
	enable func(e *T, on bool, now time.Time)
}

var (
	anchors = entityKind[anchor]{kindAnchor, "trustAnchorId", "trustAnchor", "trustAnchors",
		func(e *anchor, on bool, now time.Time) { e.Enabled, e.UpdatedAt = on, now }}
	profiles = entityKind[profile]{kindProfile, "profileId", "profile", "profiles",
		func(e *profile, on bool, now time.Time) { e.Enabled, e.UpdatedAt = on, now }}
	crls = entityKind[crl]{kindCRL, "crlId", "crl", "crls",
		func(e *crl, on bool, now time.Time) { e.Enabled, e.UpdatedAt = on, now }}
)

// authorizedID is the request's entity id of kind k, once the caller may act on it.
func authorizedID[T any](a *API, in *input, k entityKind[T]) (string, error) {
	id := in.labels[k.idLabel]
	return id, a.authorize(in, in.arn(k.kind, id))
}

// getEntity answers the entity of kind k the path names.
func getEntity[T any](a *API, k entityKind[T]) func(context.Context, *input) (any, error) {
	return entityOp(a, k, nil)
}

// deleteEntity deletes the entity of kind k the path names and answers it.
func deleteEntity[T any](a *API, k entityKind[T]) func(context.Context, *input) (any, error) {
	return entityOp(a, k, func(ctx context.Context, in *input, id string) error { return remove(ctx, in.call.Store(), k.kind, id) })
}

// entityOp answers the entity of kind k the path names, once then (when set) ran.
func entityOp[T any](a *API, k entityKind[T], then func(context.Context, *input, string) error) func(context.Context, *input) (any, error) {
	return func(ctx context.Context, in *input) (any, error) {
		id, err := authorizedID(a, in, k)
		var rec *record[T]
		if err == nil {
			rec, err = load[T](ctx, in.call.Store(), k.kind, id)
		}
		if err == nil && then != nil {
			err = then(ctx, in, id)
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{k.one: rec.Entity}, nil
	}
}

func enableEntity[T any](a *API, k entityKind[T], on bool) func(context.Context, *input) (any, error) {
	return func(ctx context.Context, in *input) (any, error) {
		id, err := authorizedID(a, in, k)
		if err != nil {
			return nil, err
		}
		return edit(ctx, in, k, id, func(e *T) error {
			k.enable(e, on, in.call.Now.UTC())
			return nil
		})
	}
}

// edit changes the entity id of kind k in one transaction and answers it.
func edit[T any](ctx context.Context, in *input, k entityKind[T], id string, fn func(*T) error) (any, error) {
	rec, err := update(ctx, in.call.Store(), k.kind, id, func(r *record[T]) error { return fn(&r.Entity) })
	if err != nil {
		return nil, err
	}
	return map[string]any{k.one: rec.Entity}, nil
}

// updateEntity is UpdateTrustAnchor and UpdateCrl: an optional name and one optional
// field of the body (key, refused when check refuses it), set by set with the time.
func updateEntity[T, V any](a *API, k entityKind[T], key string, check func(V) error, set func(e *T, name *string, v *V, now time.Time)) func(context.Context, *input) (any, error) {
	return func(ctx context.Context, in *input) (any, error) {
		id, err := authorizedID(a, in, k)
		if err != nil {
			return nil, err
		}
		name, hasName, err := in.str("name")
		if err != nil {
			return nil, err
		}
		var v V
		hasV, err := in.decode(key, &v)
		if err == nil && hasV {
			err = check(v)
		}
		if err != nil {
			return nil, err
		}
		return edit(ctx, in, k, id, func(e *T) error {
			set(e, optionalOf(name, hasName), optionalOf(v, hasV), in.call.Now.UTC())
			return nil
		})
	}
}

// optionalOf is &v when ok, else nil.
func optionalOf[V any](v V, ok bool) *V {
	if !ok {
		return nil
	}
	return &v
}

// setIf sets *dst to *v when v is not nil.
func setIf[V any](dst *V, v *V) {
	if v != nil {
		*dst = *v
	}
}

func listEntities[T any](a *API, k entityKind[T]) func(context.Context, *input) (any, error) {
	return func(ctx context.Context, in *input) (any, error) {
		if err := a.authorize(in, "*"); err != nil {
			return nil, err
		}
		recs, err := list[T](ctx, in.call.Store(), k.kind)
		if err != nil {
			return nil, err
		}
		out := make([]T, 0, len(recs))
		for _, r := range recs {
			out = append(out, r.Entity)
		}
		return page(in, k.many, out)
	}
}

func (a *API) authorize(in *input, resource string) error {
	return in.call.Authorize(ServiceName+":"+in.call.Action, resource)
}

// Trust anchors.

// fresh is what every new entity has: a new id and its ARN, the body's name and
// enabled, and the time.
type fresh struct {
	id, arn, name string
	enabled       bool
	stamps        stamps
}

// createEntity is a Create* (or ImportCrl) operation of kind k: build makes the
// entity from the body and fresh; the caller must be allowed to act on its ARN; it is
// stored with the body's tags.
func createEntity[T any](a *API, k entityKind[T], build func(context.Context, *input, fresh) (T, error)) func(context.Context, *input) (any, error) {
	return func(ctx context.Context, in *input) (any, error) {
		name, err := in.name()
		enabled, _, err2 := in.boolean("enabled")
		tags, err3 := in.tags()
		id, err4 := newUUID()
		if err := firstErr(err, err2, err3, err4); err != nil {
			return nil, err
		}
		f := fresh{id: id, arn: in.arn(k.kind, id), name: name, enabled: enabled, stamps: newStamps(in.call.Now.UTC())}
		e, err := build(ctx, in, f)
		if err == nil {
			err = a.authorize(in, f.arn)
		}
		if err != nil {
			return nil, err
		}
		rec := &record[T]{Entity: e, Tags: tags}
		if err := in.call.Store().Update(ctx, func(tx *store.Tx) error { return save(tx, k.kind, id, rec) }); err != nil {
			return nil, err
		}
		return map[string]any{k.one: e}, nil
	}
}

// newTrustAnchor is CreateTrustAnchor's anchor: its source and notification settings.
func newTrustAnchor(_ context.Context, in *input, f fresh) (anchor, error) {
	var src source
	if ok, err := in.decode("source", &src); err != nil || !ok {
		return anchor{}, firstErr(err, invalid("source is required."))
	}
	var set []notificationSetting
	_, err := in.decode("notificationSettings", &set)
	if err == nil {
		err = checkSource(src)
	}
	var ns []notificationSetting
	if err == nil {
		ns, err = applyNotifications(nil, set, in.call.AccountID())
	}
	return anchor{ID: f.id, ARN: f.arn, Name: f.name, Enabled: f.enabled, Source: src, stamps: f.stamps, NotificationSettings: ns}, err
}

// Profiles.

func (in *input) profileFields(p *profile) error {
	if _, err := in.decode("roleArns", &p.RoleARNs); err != nil {
		return err
	}
	if _, err := in.decode("managedPolicyArns", &p.ManagedPolicyARNs); err != nil {
		return err
	}
	if s, ok, err := in.str("sessionPolicy"); err != nil {
		return err
	} else if ok {
		if !json.Valid([]byte(s)) {
			return invalid("sessionPolicy is not a valid JSON policy document.")
		}
		p.SessionPolicy = s
	}
	var d int32
	if ok, err := in.decode("durationSeconds", &d); err != nil {
		return err
	} else if ok {
		if d < 900 || d > 43200 {
			return invalid("durationSeconds must be between 900 and 43200.")
		}
		p.DurationSeconds = d
	}
	if b, ok, err := in.boolean("acceptRoleSessionName"); err != nil {
		return err
	} else if ok {
		p.AcceptRoleSessionName = b
	}
	if len(p.RoleARNs) > 250 {
		return invalid("roleArns may hold at most 250 roles.")
	}
	return nil
}

// newProfile is CreateProfile's profile: AWS's defaults, then the body's fields.
func newProfile(_ context.Context, in *input, f fresh) (profile, error) {
	p := profile{ID: f.id, ARN: f.arn, Name: f.name, Enabled: f.enabled, DurationSeconds: 3600,
		AttributeMappings: defaultProfileMappings(), CreatedBy: in.call.Caller.ARN, stamps: f.stamps}
	err := in.profileFields(&p)
	if err == nil {
		p.RequireInstanceProperties, _, err = in.boolean("requireInstanceProperties")
	}
	return p, err
}

func (a *API) updateProfile(ctx context.Context, in *input) (any, error) {
	id, authErr := authorizedID(a, in, profiles)
	name, hasName, err := in.str("name")
	if err = firstErr(authErr, err); err != nil {
		return nil, err
	}
	return edit(ctx, in, profiles, id, func(e *profile) error {
		setIf(&e.Name, optionalOf(name, hasName))
		e.UpdatedAt = in.call.Now.UTC()
		return in.profileFields(e)
	})
}

// CRLs.

// newCRL is ImportCrl's CRL: its data, for a trust anchor of the account.
func newCRL(ctx context.Context, in *input, f fresh) (crl, error) {
	var data []byte
	if ok, err := in.decode("crlData", &data); err != nil || !ok {
		return crl{}, firstErr(err, invalid("crlData is required."))
	}
	if err := checkCRL(data); err != nil {
		return crl{}, err
	}
	taARN, _, err := in.str("trustAnchorArn")
	if err != nil {
		return crl{}, err
	}
	kind, taID, ok := parseEntityARN(taARN, in.call.AccountID())
	if !ok || kind != kindAnchor {
		return crl{}, invalid("trustAnchorArn is not the ARN of a trust anchor of this account.")
	}
	if _, err := load[anchor](ctx, in.call.Store(), kindAnchor, taID); err != nil {
		return crl{}, err
	}
	return crl{ID: f.id, ARN: f.arn, Name: f.name, Enabled: f.enabled, TrustAnchorARN: taARN, Data: data, stamps: f.stamps}, nil
}

// checkCRL refuses what is no CRL.
func checkCRL(data []byte) error {
	_, err := parseCRL(data)
	return err
}

// parseCRL reads a CRL in DER or PEM.
func parseCRL(data []byte) (*x509.RevocationList, error) {
	if blk, _ := pem.Decode(data); blk != nil {
		data = blk.Bytes
	}
	l, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, invalid("crlData is not a valid X.509 CRL.")
	}
	return l, nil
}

// tagger reads and changes the tags of one kind of entity.
type tagger struct {
	get func(ctx context.Context, st storeView, id string) ([]tag, error)
	set func(ctx context.Context, st storeView, id string, fn func([]tag) ([]tag, error)) error
}

func taggerOf[T any](k entityKind[T]) tagger {
	return tagger{
		get: func(ctx context.Context, st storeView, id string) ([]tag, error) {
			rec, err := load[T](ctx, st, k.kind, id)
			if err != nil {
				return nil, err
			}
			return rec.Tags, nil
		},
		set: func(ctx context.Context, st storeView, id string, fn func([]tag) ([]tag, error)) error {
			_, err := update(ctx, st, k.kind, id, func(r *record[T]) (e error) { r.Tags, e = fn(r.Tags); return })
			return err
		},
	}
}

// taggers are the taggable kinds.
var taggers = map[string]tagger{kindAnchor: taggerOf(anchors), kindProfile: taggerOf(profiles), kindCRL: taggerOf(crls)}

// tagged is the tagger and id of the resource arn names, once the caller may act on it.
func (a *API) tagged(in *input, arn string) (tagger, string, error) {
	kind, id, ok := parseEntityARN(arn, in.call.AccountID())
	t, taggable := taggers[kind]
	if !ok || !taggable {
		return tagger{}, "", invalid("resourceArn is not the ARN of a Roles Anywhere resource of this account.")
	}
	return t, id, a.authorize(in, arn)
}

func (a *API) listTags(ctx context.Context, in *input) (any, error) {
	arn := ""
	if v := in.query["resourceArn"]; len(v) > 0 {
		arn = v[0]
	}
	t, id, err := a.tagged(in, arn)
	if err != nil {
		return nil, err
	}
	tags, err := t.get(ctx, in.call.Store(), id)
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []tag{}
	}
	return map[string]any{"tags": tags}, nil
}

// page returns one page of items under key, with nextToken (the index of the next
// item) when more follow: pageSize 1 to 100 (default 50), as AWS's lists.
func page[T any](in *input, key string, items []T) (any, error) {
	size, start := 50, 0
	if ps := in.query["pageSize"]; len(ps) > 0 {
		n, err := strconv.Atoi(ps[0])
		if err != nil || n < 1 || n > 100 {
			return nil, invalid("pageSize must be between 1 and 100.")
		}
		size = n
	}
	if nt := in.query["nextToken"]; len(nt) > 0 {
		n, err := strconv.Atoi(nt[0])
		if err != nil || n < 0 || n > len(items) {
			return nil, invalid("nextToken is not valid.")
		}
		start = n
	}
	end := min(start+size, len(items))
	out := map[string]any{key: items[start:end]}
	if end < len(items) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

// retag changes the tags of the resource named by the body's resourceArn.
func (a *API) retag(ctx context.Context, in *input, fn func([]tag) ([]tag, error)) (any, error) {
	arn, _, err := in.str("resourceArn")
	if err != nil {
		return nil, err
	}
	t, id, err := a.tagged(in, arn)
	if err == nil {
		err = t.set(ctx, in.call.Store(), id, fn)
	}
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *API) tagResource(ctx context.Context, in *input) (any, error) {
	add, err := in.tags()
	if err != nil {
		return nil, err
	}
	return a.retag(ctx, in, func(cur []tag) ([]tag, error) {
		for _, t := range add {
			i := slices.IndexFunc(cur, func(c tag) bool { return c.Key == t.Key })
			if i >= 0 {
				cur[i] = t
			} else {
				cur = append(cur, t)
			}
		}
		if len(cur) > 200 {
			return nil, invalid("A resource may have at most 200 tags.")
		}
		return cur, nil
	})
}

func (a *API) untagResource(ctx context.Context, in *input) (any, error) {
	var keys []string
	if _, err := in.decode("tagKeys", &keys); err != nil {
		return nil, err
	}
	return a.retag(ctx, in, func(cur []tag) ([]tag, error) {
		return slices.DeleteFunc(cur, func(c tag) bool { return slices.Contains(keys, c.Key) }), nil
	})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
