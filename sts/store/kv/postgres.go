package kv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresOptions configure OpenPostgres.
type PostgresOptions struct {
	// PasswordFile names a file holding the database password (one line; a trailing
	// newline is ignored), e.g. a systemd credential. The password never travels in the
	// URL, argv or the environment.
	PasswordFile string
	// MaxConns bounds the pool (default: pgxpool's, four per CPU at least).
	MaxConns int32
	// Migrations applies only the first Migrations schema migrations (0: all). Tests use
	// it to build an old schema and open it with a newer credbroker.
	Migrations int
}

// Postgres is a DB in one table of a PostgreSQL database, shared by every process that
// opens the same database: Updates are serialised across processes by a transaction-level
// advisory lock, Views run in REPEATABLE READ READ ONLY transactions (one snapshot), and
// a commit returns after PostgreSQL has made it durable (synchronous_commit). Committed
// changes are announced with NOTIFY (see Watch).
type Postgres struct {
	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig

	mu     sync.Mutex
	closed bool
	life   context.Context // ends at Close
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// ErrUnavailable wraps a failure to reach the database (connection refused, lost,
// shut down): the caller may retry later; AWS APIs answer ServiceUnavailable.
var ErrUnavailable = errors.New("kv: database unavailable")

// advisoryLockID is the key of the advisory lock that serialises Updates ("credkv").
const advisoryLockID = 0x637265646b76

// notifyChannel is the channel on which each committed change is announced.
const notifyChannel = "credbroker_kv"

// scanBatch is the number of rows Scan fetches per query.
const scanBatch = 256

// migrations are the schema, in order; each runs once, in a transaction, recorded in
// credbroker_schema. Never edit one that has shipped: append.
var migrations = []string{
	// 1: the buckets of ordered byte keys.
	`CREATE TABLE credbroker_kv (
		bucket text NOT NULL,
		k bytea NOT NULL,
		v bytea NOT NULL,
		PRIMARY KEY (bucket, k)
	)`,
	// 2: announce every committed change to the other replicas (LISTEN/NOTIFY; PostgreSQL
	// delivers a notification only at commit and folds duplicates of one transaction).
	`CREATE FUNCTION credbroker_kv_notify() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM pg_notify('` + notifyChannel + `', '');
		RETURN NULL;
	END $$;
	CREATE TRIGGER credbroker_kv_changed AFTER INSERT OR UPDATE OR DELETE ON credbroker_kv
		FOR EACH STATEMENT EXECUTE FUNCTION credbroker_kv_notify()`,
}

// OpenPostgres connects to the PostgreSQL database of url (postgres://user@host/db?…,
// no password in it: see PostgresOptions.PasswordFile) and brings its schema up to date.
func OpenPostgres(ctx context.Context, url string, optFns ...func(*PostgresOptions)) (*Postgres, error) {
	var o PostgresOptions
	for _, fn := range optFns {
		fn(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse error may quote the URL, password included: say only what failed.
		return nil, errors.New("opening store: the PostgreSQL URL does not parse (want postgres://user@host:port/database?sslmode=…)")
	}
	if cfg.ConnConfig.Password != "" {
		return nil, errors.New("opening store: the PostgreSQL URL carries a password: give it in a file instead (store_password_file, or the systemd credential core-store-password)")
	}
	if o.PasswordFile != "" {
		pw, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("opening store: reading the PostgreSQL password file: %w", err)
		}
		cfg.ConnConfig.Password = strings.TrimRight(string(pw), "\r\n")
		clear(pw)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", pgErr(err))
	}
	p := &Postgres{pool: pool, cfg: cfg.ConnConfig}
	if err := p.migrate(ctx, o.Migrations); err != nil {
		pool.Close()
		return nil, err
	}
	p.life, p.stop = context.WithCancel(context.Background())
	return p, nil
}

// migrate applies the migrations not yet recorded, under the advisory lock so that
// replicas starting together migrate once.
func (p *Postgres) migrate(ctx context.Context, upTo int) error {
	if upTo <= 0 || upTo > len(migrations) {
		upTo = len(migrations)
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(advisoryLockID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS credbroker_schema (version int PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM credbroker_schema`).Scan(&cur); err != nil {
			return err
		}
		if cur > len(migrations) {
			return fmt.Errorf("the database's schema is version %d, this credbroker knows %d: upgrade credbroker", cur, len(migrations))
		}
		for v := cur + 1; v <= upTo; v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("schema migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO credbroker_schema (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("opening store: migrating the PostgreSQL schema: %w", pgErr(err))
	}
	return nil
}

// SchemaVersion returns the number of migrations the database has applied.
func (p *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := p.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM credbroker_schema`).Scan(&v)
	return v, pgErr(err)
}

func (p *Postgres) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// View implements DB.
func (p *Postgres) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.isClosed() {
		return ErrClosed
	}
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return pgErr(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return pgErr(fn(&pgTx{ctx: ctx, tx: tx}))
}

// Update implements DB.
func (p *Postgres) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.isClosed() {
		return ErrClosed
	}
	return pgErr(pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(advisoryLockID)); err != nil {
			return err
		}
		return fn(&pgTx{ctx: ctx, tx: tx, writable: true})
	}))
}

// Close implements DB.
func (p *Postgres) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stop()
	p.wg.Wait()
	p.pool.Close()
	return nil
}

// Watch calls fn after each change that any process commits to the database (its own
// included), and once each time its listening connection is (re)established (changes
// committed before were not announced to it), until ctx ends or the DB is
// closed. It runs in its own goroutine and returns at once.
func (p *Postgres) Watch(ctx context.Context, fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.listen(ctx, fn)
	}()
}

func (p *Postgres) listen(ctx context.Context, fn func()) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.life, cancel)()
	backoff := 50 * time.Millisecond
	for {
		if ctx.Err() != nil {
			return
		}
		_ = p.listenOnce(ctx, fn) // a lost connection: reconnect after a pause
		if ctx.Err() != nil {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (p *Postgres) listenOnce(ctx context.Context, fn func()) error {
	wctx := ctx
	conn, err := pgx.ConnectConfig(wctx, p.cfg.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(wctx, `LISTEN `+notifyChannel); err != nil {
		return err
	}
	// Changes committed before LISTEN took effect were not announced to this connection.
	fn()
	for {
		if _, err := conn.WaitForNotification(wctx); err != nil {
			return err
		}
		fn()
	}
}

// pgErr marks errors of an unreachable database with ErrUnavailable, keeping the rest.
func pgErr(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		// 57P01..57P03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection.
		if strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08") {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.SafeToRetry(err), errors.Is(err, pgx.ErrTxClosed):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

type pgTx struct {
	ctx      context.Context
	tx       pgx.Tx
	writable bool
}

func (t *pgTx) Get(bucket string, key []byte) ([]byte, error) {
	var v []byte
	err := t.tx.QueryRow(t.ctx, `SELECT v FROM credbroker_kv WHERE bucket = $1 AND k = $2`, bucket, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, pgErr(err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (t *pgTx) Put(bucket string, key, value []byte) error {
	if !t.writable {
		return ErrReadOnly
	}
	if value == nil {
		value = []byte{}
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO credbroker_kv (bucket, k, v) VALUES ($1, $2, $3)
		ON CONFLICT (bucket, k) DO UPDATE SET v = excluded.v`, bucket, key, value)
	return pgErr(err)
}

func (t *pgTx) Delete(bucket string, key []byte) error {
	if !t.writable {
		return ErrReadOnly
	}
	_, err := t.tx.Exec(t.ctx, `DELETE FROM credbroker_kv WHERE bucket = $1 AND k = $2`, bucket, key)
	return pgErr(err)
}

func (t *pgTx) Scan(bucket string, prefix, start []byte, fn func(k, v []byte) bool) error {
	from := start
	if string(from) < string(prefix) {
		from = prefix
	}
	end := prefixEnd(prefix)
	for {
		rows, err := t.tx.Query(t.ctx, `SELECT k, v FROM credbroker_kv
			WHERE bucket = $1 AND k >= $2 AND ($3::bytea IS NULL OR k < $3)
			ORDER BY k LIMIT $4`, bucket, nonNil(from), end, scanBatch)
		if err != nil {
			return pgErr(err)
		}
		var ks, vs [][]byte
		for rows.Next() {
			var k, v []byte
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return pgErr(err)
			}
			if v == nil {
				v = []byte{}
			}
			ks, vs = append(ks, k), append(vs, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return pgErr(err)
		}
		for i := range ks {
			if !fn(ks[i], vs[i]) {
				return nil
			}
		}
		if len(ks) < scanBatch {
			return nil
		}
		from = append(append([]byte(nil), ks[len(ks)-1]...), 0)
	}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// prefixEnd returns the least key greater than every key with prefix, or nil when there
// is none (an empty prefix, or one of 0xff bytes only).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func (t *pgTx) Buckets() ([]string, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT DISTINCT bucket COLLATE "C" AS b FROM credbroker_kv ORDER BY b`)
	if err != nil {
		return nil, pgErr(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, pgErr(err)
}
