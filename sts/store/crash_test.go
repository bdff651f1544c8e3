package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// The crash test runs a writer in a child process (this test binary, re-executed into
// TestCrashWriterProcess), kills it with SIGKILL at random points, reopens the file and
// checks that the store is sound and that every write the child acknowledged is there.

const (
	envCrashStore = "CREDBROKER_TEST_CRASH_STORE"
	envCrashKey   = "CREDBROKER_TEST_CRASH_KEY"
)

// TestCrashWriterProcess is the child: it writes users with access keys and a large
// inline policy (so that the file grows and bbolt remaps) until it is killed, printing
// "index key-id secret" after each committed Update.
func TestCrashWriterProcess(t *testing.T) {
	path := os.Getenv(envCrashStore)
	if path == "" {
		t.Skip("runs only as TestCrash's child process")
	}
	ctx := context.Background()
	s, err := OpenFile(ctx, path, FileKey(os.Getenv(envCrashKey)), func(o *Options) {
		o.AccountID = testAccount
		o.UsageFlushInterval = -1
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	i := 0
	for ; ; i++ { // continue after the last user a previous child committed
		var exists bool
		_ = s.View(ctx, func(tx *Tx) error { _, err := tx.User("u" + strconv.Itoa(i)); exists = err == nil; return nil })
		if !exists {
			break
		}
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 1800) + `/*"}]}`
	for ; ; i++ {
		var k account.AccessKey
		err := s.Update(ctx, func(tx *Tx) error {
			name := "u" + strconv.Itoa(i)
			if _, err := tx.CreateUser(account.User{Name: name, InlinePolicies: account.InlinePolicies{{Name: "p", Document: doc}}}); err != nil {
				return err
			}
			var err error
			k, err = tx.CreateAccessKey(name)
			if err != nil {
				return err
			}
			return tx.PutSecret("s/"+name, []byte(k.Secret))
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
			os.Exit(3)
		}
		fmt.Printf("%d %s %s\n", i, k.ID, k.Secret) // acknowledged: committed and synced
	}
}

func TestCrash(t *testing.T) {
	rounds := 40
	if testing.Short() {
		rounds = 5
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "core.db")
	keyPath := filepath.Join(dir, "master.key")
	ok(t, "WriteKeyFile", WriteKeyFile(keyPath, cryptoRand{}))
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	type ack struct{ id, secret string }
	acked := map[int]ack{}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashStore+"="+path, envCrashKey+"="+keyPath)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		ok(t, "StdoutPipe", err)
		ok(t, "start writer", cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() }) // never leave a writer behind a failed test
		lines := bufio.NewScanner(out)
		// Kill after a random number of acknowledged writes (0: during start-up), then
		// a random sub-millisecond to few-millisecond delay to land anywhere in the
		// next transaction.
		killAfter := rng.IntN(30)
		n := 0
		record := func(line string) {
			f := strings.Fields(line)
			if len(f) != 3 {
				return
			}
			i, err := strconv.Atoi(f[0])
			if err == nil {
				acked[i] = ack{f[1], f[2]}
			}
		}
		for n < killAfter && lines.Scan() {
			record(lines.Text())
			n++
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		_ = cmd.Process.Kill() // SIGKILL
		for lines.Scan() {     // acknowledgements still in the pipe count too
			record(lines.Text())
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		if strings.Contains(stderr.String(), "open:") || strings.Contains(stderr.String(), "update:") {
			t.Fatalf("round %d: writer failed: %s", round, stderr.String())
		}

		// Reopen as the writer does, with its account id: a kill before the store's
		// first commit (schema and account are written in one transaction) leaves
		// an empty store, which opening completes; anything else must be intact.
		s, err := OpenFile(context.Background(), path, FileKey(keyPath), func(o *Options) {
			o.AccountID = testAccount
			o.UsageFlushInterval = -1
		})
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		if err := s.Check(context.Background()); err != nil {
			t.Fatalf("round %d: store damaged after kill -9: %v", round, err)
		}
		for i, a := range acked {
			k, err := s.LookupAccessKey(context.Background(), a.id)
			if err != nil || k.Secret != a.secret || k.UserName != "u"+strconv.Itoa(i) {
				t.Fatalf("round %d: acknowledged write %d (key %s) lost or wrong: %+v, %v", round, i, a.id, k, err)
			}
		}
		ok(t, "close", s.Close())
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged in any round: the test proved nothing")
	}
	t.Logf("%d rounds, %d acknowledged writes, all present", rounds, len(acked))
}

// cryptoRand reads crypto/rand (io.Reader without importing it under another name).
type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return cryptoRandRead(p) }
