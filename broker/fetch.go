package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/credbroker/credbroker/internal/awserr"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/session"
)

// fetcher returns what assumes role r for template values v: with the
// source's key (keyring), OIDC token (web_identity) or the source role's
// session (role), through the upstream's STS client.
func (b *Broker) fetcher(st *state, r *roleState, v config.Vars, sessionName string) session.Fetcher {
	switch r.src.Kind {
	case config.SourceKeyring:
		return session.FetchFunc(func(ctx context.Context) (aws.Credentials, error) {
			return b.fetchWithKey(ctx, st, r, v, sessionName)
		})
	case config.SourceWebIdentity:
		return session.FetchFunc(func(ctx context.Context) (aws.Credentials, error) {
			return b.fetchWithWebIdentity(ctx, st, r, sessionName)
		})
	case config.SourceRole:
		return session.FetchFunc(func(ctx context.Context) (aws.Credentials, error) {
			return b.fetchChained(ctx, st, r, v, sessionName)
		})
	case config.SourceX509:
		return session.FetchFunc(func(ctx context.Context) (aws.Credentials, error) {
			return b.fetchWithX509(ctx, st, r)
		})
	case config.SourceSAML:
		return session.FetchFunc(func(context.Context) (aws.Credentials, error) {
			return b.fetchWithSAML(r)
		})
	}
	return session.FetchFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, &session.Error{Kind: session.NonRecoverable, Code: "BadSource", Message: fmt.Sprintf("source %q has unknown kind %q", r.src.Name, r.src.Kind)}
	})
}

// assumeRoleInput is the AssumeRole request role r makes for template values v.
func assumeRoleInput(r *config.Role, v config.Vars, sessionName string, maxDuration time.Duration) *sts.AssumeRoleInput {
	d := r.Duration
	if maxDuration > 0 && d > maxDuration {
		d = maxDuration
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(r.ARN),
		RoleSessionName: aws.String(sessionName),
		DurationSeconds: aws.Int32(int32(d / time.Second)),
	}
	if r.ExternalID != "" {
		in.ExternalId = aws.String(r.ExternalID)
	}
	if r.Policy != "" {
		in.Policy = aws.String(r.Policy)
	}
	for _, a := range r.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	if tags := r.RenderedTags(v); len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		in.TransitiveTagKeys = r.TransitiveTagKeys
	}
	if si := r.RenderedSourceIdentity(v); si != "" {
		in.SourceIdentity = aws.String(si)
	}
	return in
}

// fromSTS converts STS's credentials.
func fromSTS(c *types.Credentials, accountID string) (aws.Credentials, error) {
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.Expiration == nil {
		return aws.Credentials{}, errors.New("STS answered without credentials")
	}
	return aws.Credentials{
		AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: aws.ToString(c.SessionToken),
		Source: "credbroker", CanExpire: true, Expires: c.Expiration.UTC(), AccountID: accountID,
	}, nil
}

// sourceKey reads the keyring source's key; a locked or missing keyring is
// a failure that needs a person.
func (b *Broker) sourceKey(st *state, src *config.Source) (keystore.Key, error) {
	if st.keys == nil {
		return keystore.Key{}, session.NeedsHuman(CodeKeyringLocked, "no keyring is open: the daemon could not open it at start-up (see its log); fix that and restart or reload", nil)
	}
	k, err := st.keys.Get(src.Key)
	switch {
	case errors.Is(err, keystore.ErrLocked):
		return keystore.Key{}, session.NeedsHuman(CodeKeyringLocked, "the keyring is locked: "+err.Error(), err)
	case errors.Is(err, keystore.ErrNotFound):
		return keystore.Key{}, &session.Error{Kind: session.NonRecoverable, Code: "NoSuchKey",
			Message: fmt.Sprintf("source %q: no key %q in the keyring; store it with `credbroker keys add %s`", src.Name, src.Key, src.Key), Err: err}
	case err != nil:
		return keystore.Key{}, &session.Error{Kind: session.Retryable, Code: CodeKeyringError, Message: err.Error(), Err: err}
	}
	return k, nil
}

func (b *Broker) fetchWithKey(ctx context.Context, st *state, r *roleState, v config.Vars, sessionName string) (aws.Credentials, error) {
	in := assumeRoleInput(r.cfg, v, sessionName, 0)
	if r.cfg.MFASerial != "" {
		mfa, ok := b.mfaSessionFor(r.src.Name, r.cfg.MFASerial)
		if !ok {
			return aws.Credentials{}, session.NeedsHuman(CodeMFARequired,
				fmt.Sprintf("role %s needs an MFA session of %s: run `credbroker mfa %s` (the daemon never prompts)", r.cfg.Name, r.cfg.MFASerial, r.cfg.Name), nil)
		}
		return b.assume(ctx, st, in, mfa, r.accountID)
	}
	k, err := b.sourceKey(st, r.src)
	if err != nil {
		return aws.Credentials{}, err
	}
	creds, err := b.assume(ctx, st, in, k.Credentials(), r.accountID)
	if err != nil && k.Previous != nil && awserr.Code(err) == "InvalidClientTokenId" {
		// A key just rotated in takes a few seconds to work; the old one
		// stays valid until rotation deletes it.
		b.log.Info("the new key is not accepted yet; using the previous one", "source", r.src.Name,
			"key", k.AccessKeyID, "previous", k.Previous.AccessKeyID)
		return b.assume(ctx, st, in, k.Previous.Credentials(), r.accountID)
	}
	return creds, err
}

func (b *Broker) assume(ctx context.Context, st *state, in *sts.AssumeRoleInput, with aws.Credentials, accountID string) (aws.Credentials, error) {
	out, err := st.up.Client.AssumeRole(ctx, in, signedWith(with))
	if err != nil {
		return aws.Credentials{}, err
	}
	return fromSTS(out.Credentials, accountID)
}

func (b *Broker) fetchWithWebIdentity(ctx context.Context, st *state, r *roleState, sessionName string) (aws.Credentials, error) {
	tok, err := b.webToken(ctx, r.src)
	if err != nil {
		return aws.Credentials{}, err
	}
	c := r.cfg
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(c.ARN),
		RoleSessionName:  aws.String(sessionName),
		WebIdentityToken: aws.String(tok),
		DurationSeconds:  aws.Int32(int32(c.Duration / time.Second)),
	}
	if c.Policy != "" {
		in.Policy = aws.String(c.Policy)
	}
	for _, a := range c.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	out, err := st.up.Client.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return aws.Credentials{}, err
	}
	return fromSTS(out.Credentials, r.accountID)
}

func (b *Broker) fetchChained(ctx context.Context, st *state, r *roleState, v config.Vars, sessionName string) (aws.Credentials, error) {
	if r.cfg.MFASerial != "" {
		return aws.Credentials{}, &session.Error{Kind: session.NonRecoverable, Code: "BadSource",
			Message: fmt.Sprintf("role %s: mfa_serial works on roles assumed with a keyring source; put it on the role at the start of the chain (%s)", r.cfg.Name, r.srcRole.cfg.Name)}
	}
	src := b.bindingFor(st, r.srcRole, v)
	if err := src.sess.Warm(ctx); err != nil {
		return aws.Credentials{}, chainErr(r, err)
	}
	with, err := src.sess.Get(ctx)
	if err != nil {
		return aws.Credentials{}, chainErr(r, err)
	}
	return b.assume(ctx, st, assumeRoleInput(r.cfg, v, sessionName, config.MaxChainedDuration), with, r.accountID)
}

// chainErr says which link of a chain failed, keeping the kind (and the
// needs-a-person code) of the source role's failure.
func chainErr(r *roleState, err error) error {
	ce := session.Classify(err)
	return &session.Error{Kind: ce.Kind, Code: ce.Code, Message: fmt.Sprintf("the source role %s has no session: %s", r.srcRole.cfg.Name, ce.Message), Err: err}
}
