package session_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/signer/session"
)

// The core mints a session with Seal and, on the session's requests, finds its secret
// with Lookup, inside the signer.KeyLookup it gives the Verifier.
func ExampleSealer() {
	serverKey := make([]byte, 32)
	if _, err := rand.Read(serverKey); err != nil {
		panic(err)
	}
	sealer, err := session.New(session.Key{ID: "2024-01", Secret: serverKey})
	if err != nil {
		panic(err)
	}

	// AssumeRole: a fresh ASIA key id, the claims, and the token and secret to return.
	keyID, err := signer.KeyGenerator{}.AccessKeyID(signer.PrefixSessionAccessKey)
	if err != nil {
		panic(err)
	}
	now := time.Now().Truncate(time.Second)
	token, secret, err := sealer.Seal(&session.Claims{
		Kind:         session.KindAssumedRole,
		AccountID:    "123456789012",
		PrincipalARN: "arn:aws:sts::123456789012:assumed-role/dev-admin/alice",
		IdentityARN:  "arn:aws:iam::123456789012:role/dev-admin",
		UniqueID:     "AROA3XFRBF535PLBIFPI4:alice",
		AccessKeyID:  keyID,
		IssuedAt:     now,
		Expiry:       now.Add(time.Hour),
		CallerARN:    "arn:aws:iam::123456789012:user/alice",
	})
	if err != nil {
		panic(err)
	}

	// A later request signed with the session: the Verifier's lookup.
	lookup := signer.KeyLookupFunc(func(_ context.Context, id, tok string) (string, error) {
		if !strings.HasPrefix(id, signer.PrefixSessionAccessKey) {
			return "", signer.InvalidToken() // long-term keys: the store
		}
		_, s, err := sealer.Lookup(id, tok)
		return s, err
	})
	got, err := lookup.LookupKey(context.Background(), keyID, token)
	fmt.Println(got == secret, err)

	header, rest, _ := strings.Cut(token, ".")
	_, err = lookup.LookupKey(context.Background(), keyID, header+".f"+rest[1:]) // claims changed
	fmt.Println(err)
	// Output:
	// true <nil>
	// InvalidClientTokenId: The security token included in the request is invalid.
}
