package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// An IAM API's CreateUser and CreateAccessKey, then the STS API's SigV4 lookup of the key.
func Example() {
	ctx := context.Background()
	// `serve --dev`: memory only. A real core uses store.OpenFile(ctx, path,
	// store.CredentialKey("master-key", os.Getenv)).
	s, err := store.OpenMemory(ctx, "123456789012")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	var key account.AccessKey
	err = s.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: "alice", Path: "/developers/"}); err != nil {
			return err // an *account.Error such as EntityAlreadyExists, for the client
		}
		key, err = tx.CreateAccessKey("alice") // the only time the secret is handed out
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	// On every request signed with a long-term key:
	k, err := s.LookupAccessKey(ctx, key.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.UserARN, k.Status, k.Secret == key.Secret)

	_, err = s.LookupAccessKey(ctx, "AKIAIOSFODNN7EXAMPLE")
	fmt.Println(errors.Is(err, account.ErrNoSuchEntity))
	// Output:
	// arn:aws:iam::123456789012:user/developers/alice Active true
	// true
}
