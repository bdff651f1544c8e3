package sts

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Encoded authorization failure messages. An action registered with EncodeDenials
// ends its AccessDenied message with the decision's details — allowed, explicit deny,
// the matched statements, the principal, action, resource and condition keys, in the
// JSON form DecodeAuthorizationMessage returns at AWS — sealed with AES-256-GCM under
// a key of the store's secrets, so that only a caller allowed
// sts:DecodeAuthorizationMessage reads them.

// authzKeySecret is the store secret holding the message key.
const authzKeySecret = "sts/authz-message-key"

// authzMessageTTL is how long an encoded message can be decoded. AWS says messages
// expire without saying when; a day keeps them useful while an operator looks.
const authzMessageTTL = 24 * time.Hour

// authzMessageVersion is the first byte of a sealed message.
const authzMessageVersion = 1

// authzSealer seals and opens messages; its key is read or made on first use.
type authzSealer struct {
	mu   sync.Mutex
	aead cipher.AEAD
}

func (c *Core) authzAEAD(ctx context.Context) (cipher.AEAD, error) {
	s := &c.authz
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aead != nil {
		return s.aead, nil
	}
	var key []byte
	err := c.st.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.Secret(authzKeySecret)
		if err == nil {
			key = k
			return nil
		}
		key = make([]byte, 32)
		if _, err := io.ReadFull(c.rand, key); err != nil {
			return err
		}
		return tx.PutSecret(authzKeySecret, key)
	})
	if err != nil {
		return nil, fmt.Errorf("authorization message key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("authorization message key: %w", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return s.aead, nil
}

// encodeAuthzMessage seals msg (the decoded JSON) issued at now.
func (c *Core) encodeAuthzMessage(ctx context.Context, msg []byte, now time.Time) (string, error) {
	aead, err := c.authzAEAD(ctx)
	if err != nil {
		return "", err
	}
	plain := make([]byte, 9, 9+len(msg))
	plain[0] = authzMessageVersion
	binary.BigEndian.PutUint64(plain[1:], uint64(now.Unix()))
	plain = append(plain, msg...)
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := io.ReadFull(c.rand, out); err != nil {
		return "", err
	}
	out = aead.Seal(out, out, plain, []byte(c.st.AccountID()))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// errBadAuthzMessage is DecodeAuthorizationMessage's answer to a message it cannot
// open, whatever the reason.
var errBadAuthzMessage = query.NewError("InvalidAuthorizationMessageException",
	"The encoded message is not valid: it is malformed, was not issued by this account, or has expired.")

// decodeAuthzMessage opens an encoded message issued less than authzMessageTTL
// before now.
func (c *Core) decodeAuthzMessage(ctx context.Context, enc string, now time.Time) ([]byte, error) {
	aead, err := c.authzAEAD(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead()+9 {
		return nil, errBadAuthzMessage
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(c.st.AccountID()))
	if err != nil || len(plain) < 9 || plain[0] != authzMessageVersion {
		return nil, errBadAuthzMessage
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(plain[1:9])), 0)
	if now.Sub(issued) > authzMessageTTL || issued.After(now.Add(time.Minute)) {
		return nil, errBadAuthzMessage
	}
	return plain[9:], nil
}

// The decoded message, in AWS's JSON form: lists are {"items": [...]}, values
// {"value": "..."}.
type (
	authzItems[T any] struct {
		Items []T `json:"items"`
	}
	authzValue struct {
		Value string `json:"value"`
	}
	authzStatement struct {
		StatementID     string                 `json:"statementId"`
		Effect          string                 `json:"effect"`
		Principals      authzItems[authzValue] `json:"principals"`
		PrincipalGroups authzItems[authzValue] `json:"principalGroups"`
		Actions         authzItems[authzValue] `json:"actions"`
		Resources       authzItems[authzValue] `json:"resources"`
		Conditions      authzItems[authzKey]   `json:"conditions"`
	}
	authzKey struct {
		Key    string                 `json:"key"`
		Values authzItems[authzValue] `json:"values"`
	}
	authzPrincipal struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
		ARN  string `json:"arn"`
	}
	authzContext struct {
		Principal  authzPrincipal       `json:"principal"`
		Action     string               `json:"action"`
		Resource   string               `json:"resource"`
		Conditions authzItems[authzKey] `json:"conditions"`
	}
	authzDecoded struct {
		Allowed           bool                       `json:"allowed"`
		ExplicitDeny      bool                       `json:"explicitDeny"`
		MatchedStatements authzItems[authzStatement] `json:"matchedStatements"`
		Failures          authzItems[authzValue]     `json:"failures"`
		Context           authzContext               `json:"context"`
	}
)

func authzValues(ss ...string) authzItems[authzValue] {
	out := authzItems[authzValue]{Items: make([]authzValue, 0, len(ss))}
	for _, s := range ss {
		out.Items = append(out.Items, authzValue{Value: s})
	}
	return out
}

// authzMessage renders a decision on req as the decoded message.
func authzMessage(req *policy.Request, d policy.Decision) ([]byte, error) {
	m := authzDecoded{
		Allowed:      d.Result == policy.Allowed,
		ExplicitDeny: d.Result == policy.ExplicitlyDenied,
		Failures:     authzValues(),
		Context: authzContext{
			Principal: authzPrincipal{ID: req.Principal.UserID, Name: req.Principal.Username, ARN: req.Principal.ARN},
			Action:    req.Action,
			Resource:  req.Resource.ARN,
		},
	}
	m.MatchedStatements.Items = []authzStatement{}
	for _, s := range d.Statements {
		st := s.Policy.Statements()[s.Statement]
		m.MatchedStatements.Items = append(m.MatchedStatements.Items, authzStatement{
			StatementID: s.Sid(), Effect: strings.ToUpper(s.Effect().String()),
			Principals: authzValues(req.Principal.UserID), PrincipalGroups: authzValues(),
			Actions: authzValues(st.Action...), Resources: authzValues(st.Resource...), Conditions: authzItems[authzKey]{Items: []authzKey{}},
		})
	}
	m.Context.Conditions.Items = requestKeys(req)
	return json.Marshal(m)
}

// requestKeys lists the condition keys of req with their values, as the decoded
// message shows them.
func requestKeys(req *policy.Request) []authzKey {
	var out []authzKey
	add := func(k string, vs ...string) {
		if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
			return
		}
		out = append(out, authzKey{Key: k, Values: authzValues(vs...)})
	}
	p, c := &req.Principal, &req.Context
	add("aws:username", p.Username)
	add("aws:userid", p.UserID)
	add("aws:PrincipalArn", principalARNKey(p))
	add("aws:PrincipalAccount", p.Account)
	add("aws:PrincipalType", p.Type.String())
	for _, t := range p.Tags {
		add("aws:PrincipalTag/"+t.Key, t.Value)
	}
	if !c.CurrentTime.IsZero() {
		add("aws:CurrentTime", c.CurrentTime.UTC().Format(time.RFC3339))
		add("aws:EpochTime", fmt.Sprint(c.CurrentTime.Unix()))
	}
	if c.SourceIP.IsValid() {
		add("aws:SourceIp", c.SourceIP.String())
	}
	if c.SecureTransport != policy.BoolUnset {
		add("aws:SecureTransport", fmt.Sprint(c.SecureTransport == policy.BoolTrue))
	}
	if c.MultiFactorAuthPresent != policy.BoolUnset {
		add("aws:MultiFactorAuthPresent", fmt.Sprint(c.MultiFactorAuthPresent == policy.BoolTrue))
	}
	add("aws:RequestedRegion", c.RequestedRegion)
	add("aws:SourceIdentity", c.SourceIdentity)
	for _, t := range c.RequestTags {
		add("aws:RequestTag/"+t.Key, t.Value)
	}
	for _, k := range c.Keys {
		add(k.Name, k.Values...)
	}
	return out
}

// principalARNKey is aws:PrincipalArn: a role session's role ARN.
func principalARNKey(p *policy.Principal) string {
	if p.RoleARN != "" {
		return p.RoleARN
	}
	return p.ARN
}

// decodedResult is DecodeAuthorizationMessage's result.
type decodedResult struct{ msg string }

// MarshalQueryXML writes the result's elements.
func (r *decodedResult) MarshalQueryXML(w *query.XMLWriter) { w.String("DecodedMessage", r.msg) }

// decodeAuthorizationMessage is STS DecodeAuthorizationMessage: the details of a
// denial, for a caller allowed sts:DecodeAuthorizationMessage.
func (c *Core) decodeAuthorizationMessage(ctx context.Context, call *Call) (any, error) {
	if err := call.Authorize("sts:DecodeAuthorizationMessage", "*"); err != nil {
		return nil, err
	}
	msg, err := c.decodeAuthzMessage(ctx, call.Params.String("EncodedMessage"), call.Now)
	if err != nil {
		return nil, err
	}
	return &decodedResult{msg: string(msg)}, nil
}

// encodedSuffix returns the ". Encoded authorization failure message: …" that ends a
// denial of an action registered with EncodeDenials, "" for the others (and when the
// message cannot be sealed, which is logged: the denial stands without it).
func (c *Call) encodedSuffix(action, resource string, d policy.Decision) string {
	if c.svc == nil || !c.svc.Actions[c.Action].EncodeDenials || c.Caller == nil {
		return ""
	}
	req := c.lastReq
	if req == nil || req.Action != action || req.Resource.ARN != resource {
		r, _ := c.request(action, resource)
		req = &r
	}
	msg, err := authzMessage(req, d)
	if err == nil {
		var enc string
		if enc, err = c.core.encodeAuthzMessage(context.Background(), msg, c.Now); err == nil {
			return ". Encoded authorization failure message: " + enc
		}
	}
	c.core.log.Error("encoding an authorization failure message", "request_id", c.RequestID, "error", err)
	return ""
}
