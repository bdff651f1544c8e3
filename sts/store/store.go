package store

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

// schemaVersion is the layout of the records; Open refuses other versions.
const schemaVersion = "1"

// Buckets.
const (
	bMeta     = "meta"
	bUsers    = "users"
	bGroups   = "groups"
	bRoles    = "roles"
	bPolicies = "policies"
	bVersions = "versions"
	bProfiles = "profiles"
	bNames    = "names"
	bKeys     = "keys"
	bLogins   = "logins"
	bMFA      = "mfa"
	bOIDC     = "oidc"
	bSecrets  = "secrets"
	bRel      = "rel"
	bUsage    = "usage"
)

// Meta keys.
const (
	mSchema  = "schema"
	mAccount = "account"
	mStoreID = "store-id"
	mDataKey = "data-key"
	mGen     = "generation"
)

// Options configure a Store.
type Options struct {
	// AccountID is the 12-digit account a new store is created for. Opening an existing
	// store, it may be empty; when set it must match.
	AccountID string
	// Now is the clock (default time.Now). Dates are kept in UTC, to the second.
	Now func() time.Time
	// Rand is the source of ids, secrets, keys and nonces (default crypto/rand).
	Rand io.Reader
	// Logger receives store events (default: a null logger). Secrets never reach it.
	Logger hclog.Logger
	// UsageFlushInterval is how often recorded "last used" data is written (default one
	// minute); a negative value leaves it to FlushUsage and Close.
	UsageFlushInterval time.Duration
	// AWSManagedPolicyExists reports whether an AWS managed policy ARN may be attached
	// (the policy package's built-ins). Default: any arn:aws:iam::aws:policy/… ARN.
	AWSManagedPolicyExists func(arn string) bool
}

// Store is one account's IAM entities and secrets, over a kv.DB. It is safe for
// concurrent use. Reads run in View, changes in Update; the methods of Tx do the work.
type Store struct {
	db        kv.DB
	o         Options
	accountID string
	sealer    sealer

	gen       atomic.Uint64
	changedMu sync.Mutex
	changed   chan struct{}

	usage     usageLog
	stopFlush chan struct{}
	flushDone chan struct{}
	stopWatch context.CancelFunc
	closeOnce sync.Once
}

// OpenFile opens (or creates) the store in the bbolt file at path.
func OpenFile(ctx context.Context, path string, keys KeySource, optFns ...func(*Options)) (*Store, error) {
	db, err := kv.OpenBolt(path)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, db, keys, optFns...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// OpenMemory returns a new store in memory for accountID, its master key in memory too:
// everything is gone when the process ends (`serve --dev`, tests).
func OpenMemory(ctx context.Context, accountID string, optFns ...func(*Options)) (*Store, error) {
	fns := append([]func(*Options){func(o *Options) { o.AccountID = accountID }}, optFns...)
	var o Options
	for _, fn := range fns {
		fn(&o)
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	return Open(ctx, kv.NewMemory(), MemoryKey(r), fns...)
}

// Open opens the store held in db, creating it when db is empty (Options.AccountID is
// then required). keys supplies the master key, which must be the one the store was
// created with. Close releases db.
func Open(ctx context.Context, db kv.DB, keys KeySource, optFns ...func(*Options)) (*Store, error) {
	o := Options{UsageFlushInterval: time.Minute}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.AWSManagedPolicyExists == nil {
		o.AWSManagedPolicyExists = func(arn string) bool {
			return account.IsAWSManagedPolicyARN(arn) && account.ValidatePolicyARN(arn) == nil
		}
	}
	if o.AccountID != "" {
		if err := account.ValidateAccountID(o.AccountID); err != nil {
			return nil, err
		}
	}
	master, err := keys.MasterKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	defer clear(master)
	wrap, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("opening store: master key: %w", err)
	}
	s := &Store{db: db, o: o, changed: make(chan struct{})}
	s.usage.pending = map[string]usageRecord{}
	err = db.Update(ctx, func(t kv.Tx) error { return s.init(t, wrap) })
	if err != nil {
		return nil, err
	}
	if w, ok := db.(kv.Watcher); ok {
		// Other replicas change the database too: follow their generation.
		wctx, cancel := context.WithCancel(context.Background())
		s.stopWatch = cancel
		w.Watch(wctx, s.refresh)
	}
	if o.UsageFlushInterval > 0 {
		s.stopFlush, s.flushDone = make(chan struct{}), make(chan struct{})
		go s.flushLoop(o.UsageFlushInterval)
	}
	return s, nil
}

// init creates the store's meta records in an empty db, or checks and loads them.
func (s *Store) init(t kv.Tx, wrap cipher.AEAD) error {
	schema, err := t.Get(bMeta, []byte(mSchema))
	if err != nil {
		return err
	}
	if schema == nil {
		if s.o.AccountID == "" {
			return errors.New("opening store: it is empty and no account id was given to create it")
		}
		storeID := make([]byte, 16)
		dataKey := make([]byte, MasterKeySize)
		if _, err := io.ReadFull(s.o.Rand, storeID); err != nil {
			return err
		}
		if _, err := io.ReadFull(s.o.Rand, dataKey); err != nil {
			return err
		}
		defer clear(dataKey)
		nonce := make([]byte, wrap.NonceSize())
		if _, err := io.ReadFull(s.o.Rand, nonce); err != nil {
			return err
		}
		wrapped := wrap.Seal(nonce, nonce, dataKey, aad(storeID, "data-key", ""))
		acct, _ := json.Marshal(account.Account{ID: s.o.AccountID, Created: s.now()})
		var gen [8]byte
		binary.BigEndian.PutUint64(gen[:], 1)
		for k, v := range map[string][]byte{mSchema: []byte(schemaVersion), mStoreID: storeID, mDataKey: wrapped, mAccount: acct, mGen: gen[:]} {
			if err := t.Put(bMeta, []byte(k), v); err != nil {
				return err
			}
		}
		s.o.Logger.Info("created store", "account", s.o.AccountID)
		return s.load(storeID, dataKey, s.o.AccountID, 1)
	}
	if string(schema) != schemaVersion {
		return fmt.Errorf("opening store: schema version %q, this credbroker reads %q", schema, schemaVersion)
	}
	get := func(k string) []byte { v, _ := t.Get(bMeta, []byte(k)); return v }
	storeID, wrapped, acctJSON, gen := get(mStoreID), get(mDataKey), get(mAccount), get(mGen)
	if storeID == nil || wrapped == nil || acctJSON == nil || len(gen) != 8 {
		return errors.New("opening store: its meta records are incomplete")
	}
	var acct account.Account
	if err := json.Unmarshal(acctJSON, &acct); err != nil {
		return fmt.Errorf("opening store: account record: %w", err)
	}
	if s.o.AccountID != "" && s.o.AccountID != acct.ID {
		return fmt.Errorf("opening store: it holds account %s, not %s", acct.ID, s.o.AccountID)
	}
	n := wrap.NonceSize()
	if len(wrapped) < n {
		return errors.New("opening store: its data key record is truncated")
	}
	dataKey, err := wrap.Open(nil, wrapped[:n], wrapped[n:], aad(storeID, "data-key", ""))
	if err != nil {
		return errors.New("opening store: the master key does not open it (a different key than the store was created with?)")
	}
	defer clear(dataKey)
	return s.load(storeID, dataKey, acct.ID, binary.BigEndian.Uint64(gen))
}

func (s *Store) load(storeID, dataKey []byte, accountID string, gen uint64) error {
	aead, err := newAEAD(dataKey)
	if err != nil {
		return err
	}
	s.sealer = sealer{aead: aead, storeID: append([]byte(nil), storeID...), rand: s.o.Rand}
	s.accountID = accountID
	s.gen.Store(gen)
	return nil
}

// AccountID returns the account the store holds.
func (s *Store) AccountID() string { return s.accountID }

// Generation returns a counter that grows with every committed change that can affect
// authorization (entities, policies, keys, secrets; not "last used" data). Caches of
// compiled policies keep the generation they were built at and rebuild when it moves. It
// is one atomic load.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// Changed returns a channel that is closed at the next change that moves Generation.
func (s *Store) Changed() <-chan struct{} {
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	return s.changed
}

// publish makes gen visible after its Update committed. Updates are serialised by the
// backend but may reach publish out of order, so the counter only moves forward.
func (s *Store) publish(gen uint64) {
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	if gen > s.gen.Load() {
		s.gen.Store(gen)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// refresh reads the generation that the database holds and publishes it when another
// process moved it (kv.Watcher calls it after commits elsewhere).
func (s *Store) refresh() {
	var g uint64
	err := s.db.View(context.Background(), func(t kv.Tx) error {
		v, err := t.Get(bMeta, []byte(mGen))
		if err == nil && len(v) == 8 {
			g = binary.BigEndian.Uint64(v)
		}
		return err
	})
	if err != nil {
		s.o.Logger.Warn("reading the store's generation after a change elsewhere", "error", err)
		return
	}
	if g > s.gen.Load() {
		s.publish(g)
	}
}

// View runs fn in a read-only transaction: a consistent snapshot of the account.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	return s.db.View(ctx, func(t kv.Tx) error { return fn(&Tx{s: s, kv: t}) })
}

// Update runs fn in a read-write transaction. Either all of fn's changes are committed
// and durable when Update returns nil, or (fn returned an error) none is. fn may run
// once only; it must not call View or Update.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	var newGen uint64
	err := s.db.Update(ctx, func(t kv.Tx) error {
		tx := &Tx{s: s, kv: t, writable: true}
		if err := fn(tx); err != nil {
			return err
		}
		if !tx.changed {
			return nil
		}
		g, err := tx.Generation()
		if err != nil {
			return err
		}
		newGen = g + 1
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], newGen)
		return t.Put(bMeta, []byte(mGen), b[:])
	})
	if err == nil && newGen != 0 {
		s.publish(newGen)
	}
	return err
}

// LookupAccessKey returns the access key id with its secret and its owner's id, name and
// ARN, for SigV4 verification (LastUsed is left empty: see Tx.AccessKey). It is the hot
// path: one read of a compact record and one decryption; the user is not decoded. An
// unknown id is NoSuchEntity; the caller checks Status. (The core keeps the answers for
// the current Generation: see sts.Core.)
func (s *Store) LookupAccessKey(ctx context.Context, id string) (account.AccessKey, error) {
	var k account.AccessKey
	err := s.View(ctx, func(tx *Tx) error {
		var err error
		k, err = tx.accessKey(id)
		return err
	})
	return k, err
}

// Close flushes usage data and releases the backend.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stopFlush != nil {
			close(s.stopFlush)
			<-s.flushDone
		}
		if s.stopWatch != nil {
			s.stopWatch()
		}
		ferr := s.FlushUsage(context.Background())
		err = errors.Join(ferr, s.db.Close())
	})
	return err
}

func (s *Store) now() time.Time { return s.o.Now().UTC().Truncate(time.Second) }

// nameKey is the names-index key of an entity name: names are unique without regard to
// case, as IAM's.
func nameKey(kind byte, name string) []byte {
	return append([]byte{kind, '/'}, strings.ToLower(name)...)
}
