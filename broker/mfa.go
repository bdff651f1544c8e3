package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/session"
)

// An MFA session is the GetSessionToken session of one keyring source made
// with one MFA device: roles with that source and mfa_serial are assumed
// with it instead of the long-term key, so STS sees MFA. It is held in
// memory for its life; `credbroker mfa ROLE` makes it, the daemon never
// prompts.
type mfaKey struct {
	source, serial string
}

type mfaSession struct {
	creds aws.Credentials
}

// mfaMargin: an MFA session this close to its end is not used for a new
// role session (the role session would outlive nothing, but STS refuses
// expired signing credentials mid-call).
const mfaMargin = time.Minute

func (b *Broker) mfaSessionFor(source, serial string) (aws.Credentials, bool) {
	b.mfaMu.Lock()
	defer b.mfaMu.Unlock()
	s, ok := b.mfa[mfaKey{source, serial}]
	if !ok || !b.o.Now().Add(mfaMargin).Before(s.creds.Expires) {
		return aws.Credentials{}, false
	}
	return s.creds, true
}

// StartMFA makes the MFA session role needs, with code (a TOTP code the
// person just read), through GetSessionToken signed with the role's
// source key; then fetches the sessions waiting for it. It returns when
// the MFA session expires.
func (b *Broker) StartMFA(ctx context.Context, c Caller, role, code string) (time.Time, error) {
	st := b.state.Load()
	r, err := b.allowed(st, c, role)
	if err != nil {
		return time.Time{}, err
	}
	if r.cfg.MFASerial == "" {
		return time.Time{}, fmt.Errorf("role %s has no mfa_serial: it needs no MFA session", role)
	}
	if r.src.Kind != config.SourceKeyring {
		return time.Time{}, fmt.Errorf("role %s: MFA sessions are made with an IAM user's key (a keyring source); its source %s is %s", role, r.src.Name, r.src.Kind)
	}
	if len(code) != 6 {
		return time.Time{}, fmt.Errorf("an MFA code is 6 digits")
	}
	for _, ch := range code {
		if ch < '0' || ch > '9' {
			return time.Time{}, fmt.Errorf("an MFA code is 6 digits")
		}
	}
	k, err := b.sourceKey(st, r.src)
	if err != nil {
		return time.Time{}, err
	}
	start := b.o.Now()
	out, err := st.up.Client.GetSessionToken(ctx, &sts.GetSessionTokenInput{
		DurationSeconds: aws.Int32(int32(b.o.MFADuration / time.Second)),
		SerialNumber:    aws.String(r.cfg.MFASerial),
		TokenCode:       aws.String(code),
	}, signedWith(k.Credentials()))
	b.metrics.observeUpstream(b.o.Now().Sub(start), err)
	if err != nil {
		return time.Time{}, session.Classify(err)
	}
	creds, err := fromSTS(out.Credentials, r.accountID)
	if err != nil {
		return time.Time{}, err
	}
	b.mfaMu.Lock()
	b.mfa[mfaKey{r.src.Name, r.cfg.MFASerial}] = mfaSession{creds: creds}
	b.mfaMu.Unlock()
	b.log.Info("MFA session started", "source", r.src.Name, "mfa_serial", r.cfg.MFASerial, "access_key_id", creds.AccessKeyID, "expires", creds.Expires)

	// Fetch now every session that waits for this MFA session (they would
	// otherwise wait for their slow retry).
	for _, bd := range *b.bindings.Load() {
		if rr := bd.role; rr.src.Name == r.src.Name && rr.cfg.MFASerial == r.cfg.MFASerial {
			go bd.sess.Warm(context.Background())
		}
	}
	if err := b.binding(st, r, c).sess.Warm(ctx); err != nil {
		return creds.Expires, fmt.Errorf("the MFA session works, but assuming role %s with it failed: %w", role, err)
	}
	return creds.Expires, nil
}
