package keystore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/awserr"
)

// IAMAPI is the part of the IAM client rotation uses.
type IAMAPI interface {
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(context.Context, *iam.CreateAccessKeyInput, ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	DeleteAccessKey(context.Context, *iam.DeleteAccessKeyInput, ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
}

// STSAPI is the part of the STS client rotation uses.
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// KeyStore is what rotation needs of a Store.
type KeyStore interface {
	Get(name string) (Key, error)
	Put(name string, k Key) error
}

// SDKClients returns a Clients function for Rotator: IAM and STS clients of
// cfg (region, endpoints such as AWS_ENDPOINT_URL_IAM/_STS, retries) that
// sign with the given key.
func SDKClients(cfg aws.Config) func(Key) (IAMAPI, STSAPI) {
	return func(k Key) (IAMAPI, STSAPI) {
		c := cfg.Copy()
		c.Credentials = credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")
		return iam.NewFromConfig(c), sts.NewFromConfig(c)
	}
}

// Rotator rotates a stored key the way AWS recommends: create a second
// key, store it, check it works, then delete the old one. Every step can
// be interrupted; running Rotate again finishes the job (see Rotate).
type Rotator struct {
	Store KeyStore
	// Clients returns IAM and STS clients signing with a key.
	Clients func(Key) (IAMAPI, STSAPI)
	// VerifyTimeout bounds the wait for a new key to work (AWS: seconds;
	// default 2 minutes).
	VerifyTimeout time.Duration
	// Sleep waits d or until ctx ends (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
	Log   hclog.Logger
}

// RotateResult says what Rotate did.
type RotateResult struct {
	UserARN  string
	OldKeyID string
	NewKeyID string
	// Resumed: an interrupted rotation was finished; no new key was made.
	Resumed bool
}

// Rotate replaces the key stored under name with a new key of the same
// IAM user:
//
//  1. check the stored key (GetCallerIdentity: it must be an IAM user's)
//     and that the user has room for a second key (ListAccessKeys);
//  2. CreateAccessKey, signed with the old key;
//  3. store the new key, keeping the old one as Key.Previous;
//  4. GetCallerIdentity with the new key until it works (new keys take
//     a few seconds on AWS) and names the same user;
//  5. DeleteAccessKey of the old key, signed with the new one;
//  6. store the new key alone.
//
// Interrupted after 3 (or a failure in 4 or 5), the keyring holds the new
// key and the old as Previous, and IAM both keys: running Rotate again
// resumes at 4 (a DeleteAccessKey that finds the old key gone counts as
// done). Interrupted between 2 and 3, IAM holds a key whose secret was
// lost; Rotate's step 1 then finds the user with two keys and names the
// stray one to delete. Before 2, nothing has changed.
func (r *Rotator) Rotate(ctx context.Context, name string) (RotateResult, error) {
	r.defaults()
	cur, err := r.Store.Get(name)
	if err != nil {
		return RotateResult{}, err
	}
	if cur.Previous != nil {
		return r.finish(ctx, name, cur, "", true)
	}

	iamOld, stsOld := r.Clients(cur)
	ident, err := stsOld.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return RotateResult{}, fmt.Errorf("checking key %q (%s) before rotating: %w", name, cur.AccessKeyID, err)
	}
	arn := aws.ToString(ident.Arn)
	if !strings.Contains(arn, ":user/") {
		return RotateResult{}, fmt.Errorf("key %q signs as %s, which is not an IAM user: only IAM users' access keys can be rotated", name, arn)
	}
	list, err := iamOld.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		return RotateResult{}, fmt.Errorf("listing the access keys of %s: %w", arn, err)
	}
	var others []string
	for _, m := range list.AccessKeyMetadata {
		if id := aws.ToString(m.AccessKeyId); id != cur.AccessKeyID {
			others = append(others, id)
		}
	}
	if len(others) > 0 {
		return RotateResult{}, fmt.Errorf("%s already has another access key, %s, besides the stored %s, and IAM allows two: rotation needs the second slot. If nothing uses %s (a rotation interrupted right after creating it leaves such a key, its secret lost), delete it with `aws iam delete-access-key --access-key-id %s` and run rotate again",
			arn, strings.Join(others, ", "), cur.AccessKeyID, others[0], others[0])
	}

	out, err := iamOld.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		return RotateResult{}, fmt.Errorf("creating a new access key for %s: %w", arn, err)
	}
	if out.AccessKey == nil || aws.ToString(out.AccessKey.AccessKeyId) == "" || aws.ToString(out.AccessKey.SecretAccessKey) == "" {
		return RotateResult{}, fmt.Errorf("creating a new access key for %s: the answer has no key", arn)
	}
	old := cur
	old.Previous = nil
	next := Key{
		AccessKeyID: aws.ToString(out.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey),
		Added: r.Now().UTC().Truncate(time.Second), Previous: &old,
	}
	r.Log.Info("created a new access key", "name", name, "user", arn, "new_key", next.AccessKeyID, "old_key", old.AccessKeyID)
	if err := r.Store.Put(name, next); err != nil {
		// The new key is of no use if it cannot be stored: take it back.
		if _, derr := iamOld.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: out.AccessKey.AccessKeyId}); derr != nil {
			return RotateResult{}, fmt.Errorf("storing the new key %s failed (%v), and deleting it again failed too (%v): delete it with `aws iam delete-access-key --access-key-id %s`; the old key %s is unchanged", next.AccessKeyID, err, derr, next.AccessKeyID, old.AccessKeyID)
		}
		return RotateResult{}, fmt.Errorf("storing the new key failed, so it was deleted again; the old key %s is unchanged: %w", old.AccessKeyID, err)
	}
	return r.finish(ctx, name, next, arn, false)
}

// finish does steps 4 to 6 for a stored key whose Previous is to go.
func (r *Rotator) finish(ctx context.Context, name string, k Key, wantARN string, resumed bool) (RotateResult, error) {
	res := RotateResult{OldKeyID: k.Previous.AccessKeyID, NewKeyID: k.AccessKeyID, Resumed: resumed}
	if resumed {
		r.Log.Info("finishing an interrupted rotation", "name", name, "new_key", k.AccessKeyID, "old_key", k.Previous.AccessKeyID)
	}
	iamNew, stsNew := r.Clients(k)
	arn, err := r.verify(ctx, stsNew)
	if err != nil {
		return res, fmt.Errorf("the new key %s does not work yet (%w); both keys are kept (the keyring holds %s, and %s as the previous key): run `credbroker keys rotate %s` again to finish", k.AccessKeyID, err, k.AccessKeyID, k.Previous.AccessKeyID, name)
	}
	res.UserARN = arn
	if wantARN != "" && arn != wantARN {
		return res, fmt.Errorf("the new key %s signs as %s, not as %s; nothing was deleted", k.AccessKeyID, arn, wantARN)
	}
	_, err = iamNew.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(k.Previous.AccessKeyID)})
	if err != nil && awserr.Code(err) != "NoSuchEntity" {
		return res, fmt.Errorf("deleting the old key %s: %w; the keyring holds the new key %s, which works: run `credbroker keys rotate %s` again to finish", k.Previous.AccessKeyID, err, k.AccessKeyID, name)
	}
	done := k
	done.Previous = nil
	if err := r.Store.Put(name, done); err != nil {
		return res, fmt.Errorf("the old key %s is deleted, but clearing it from the keyring failed: %w; run `credbroker keys rotate %s` again", k.Previous.AccessKeyID, err, name)
	}
	r.Log.Info("rotated access key", "name", name, "user", arn, "new_key", k.AccessKeyID, "deleted_key", res.OldKeyID)
	return res, nil
}

// verify calls GetCallerIdentity until the key is accepted, retrying the
// errors a key too new to have propagated gets.
func (r *Rotator) verify(ctx context.Context, c STSAPI) (string, error) {
	deadline := r.Now().Add(r.VerifyTimeout)
	wait := time.Second
	for {
		out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			return aws.ToString(out.Arn), nil
		}
		code := awserr.Code(err)
		if !slices.Contains([]string{"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied"}, code) {
			return "", err
		}
		if !r.Now().Add(wait).Before(deadline) {
			return "", fmt.Errorf("still refused after %s: %w", r.VerifyTimeout, err)
		}
		r.Log.Debug("new key not accepted yet; retrying", "code", code, "in", wait)
		if err := r.Sleep(ctx, wait); err != nil {
			return "", err
		}
		wait = min(wait*2, 16*time.Second)
	}
}

func (r *Rotator) defaults() {
	if r.VerifyTimeout <= 0 {
		r.VerifyTimeout = 2 * time.Minute
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = hclog.NewNullLogger()
	}
	if r.Sleep == nil {
		r.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
