// Package pgtest runs throwaway PostgreSQL clusters for tests, from Debian's
// `postgresql` package (initdb and pg_ctl under /usr/lib/postgresql/N/bin). A cluster
// listens on 127.0.0.1 at a free port and on a Unix socket in its own directory, with
// scram-sha-256 password authentication (the password in a file, as the core reads it),
// and runs as an unprivileged user (initdb refuses root: as root the cluster runs as
// `nobody`).
//
// Shared returns one cluster per test binary (stopped by Main); New returns one of the
// test's own (which it may Stop and Start). NewDatabase gives each test a fresh database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Superuser is the cluster's superuser role.
const Superuser = "credbroker"

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	dir, bin     string
	port         int
	pwFile       string
	cred         *syscall.Credential
	dbs          atomic.Int64
	mu           sync.Mutex
	running      bool
	logFile      string
	passwordText string
}

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error
)

// Main runs the tests of m and stops the shared cluster after them. Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops and removes the shared cluster, if one was started (for a TestMain
// of its own).
func StopShared() {
	if shared != nil {
		shared.destroy()
	}
}

// Bin returns the directory of PostgreSQL's server programs, or "" when none is installed.
func Bin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Shared returns the test binary's shared cluster, starting it on first use. It skips
// the test, saying what to install, when PostgreSQL is not installed.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	skipWithout(t)
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// New starts a cluster of the test's own, destroyed when the test ends.
func New(t testing.TB) *Cluster {
	t.Helper()
	skipWithout(t)
	c, err := start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.destroy)
	return c
}

func skipWithout(t testing.TB) {
	t.Helper()
	if Bin() == "" {
		t.Skip("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
	}
}

func start() (*Cluster, error) {
	dir, err := os.MkdirTemp("", "credbroker-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: Bin(), passwordText: randomPassword()}
	if os.Getuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("pgtest: as root the cluster runs as nobody: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	// The password file: readable by the cluster's user for initdb, and by the test.
	c.pwFile = filepath.Join(dir, "password")
	if err := os.WriteFile(c.pwFile, []byte(c.passwordText+"\n"), 0o600); err != nil {
		return nil, err
	}
	if c.cred != nil {
		_ = os.Chown(c.pwFile, int(c.cred.Uid), int(c.cred.Gid))
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", Superuser, "--pwfile", c.pwFile,
		"--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C"); err != nil {
		c.destroy()
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	c.logFile = filepath.Join(dir, "log")
	if err := c.Start(); err != nil {
		c.destroy()
		return nil, err
	}
	return c, nil
}

func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the cluster (again, after Stop) on its port, the first time a free one.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	if c.port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		c.port = p
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.port, c.dir)
	if out, err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", filepath.Join(c.dir, "data"), "-l", c.logFile, "-o", opts); err != nil {
		log, _ := os.ReadFile(c.logFile)
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	c.running = true
	return nil
}

// Stop stops the cluster (fast shutdown: connections are cut, committed data stays).
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if out, err := c.run("pg_ctl", "stop", "-w", "-m", "fast", "-D", filepath.Join(c.dir, "data")); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
	c.running = false
	return nil
}

func (c *Cluster) destroy() {
	_ = c.Stop()
	_ = os.RemoveAll(c.dir)
}

// PasswordFile returns the path of a file holding the superuser's password.
func (c *Cluster) PasswordFile() string { return c.pwFile }

// URL returns the URL (no password in it) of database db as the superuser.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, c.port, db)
}

// Connect opens a connection to database db as the superuser.
func (c *Cluster) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(c.URL(db))
	if err != nil {
		return nil, err
	}
	cfg.Password = c.passwordText
	return pgx.ConnectConfig(ctx, cfg)
}

// NewDatabase creates an empty database for the test and returns its URL; it is
// dropped when the test ends.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs.Add(1))
	ctx := context.Background()
	conn, err := c.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := c.Connect(ctx, "postgres")
		if err != nil {
			return // the cluster is gone with its databases
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("pgtest: dropping %s: %v", name, err)
		}
	})
	return c.URL(name)
}
