package broker

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/credbroker/credbroker/imds"
)

// containerAs asks for role's credentials as caller c presenting tok, the
// way the container endpoint does: the token's binding, then the Source.
func containerAs(e *env, c Caller, tok, role string) error {
	tb, ok := e.b.Tokens().Binding(tok)
	if !ok {
		return errors.New("token not accepted")
	}
	ic := imds.Caller{Endpoint: imds.EndpointContainer, BoundRole: tb.Role, UIDBound: tb.UIDBound, BoundUID: tb.UID}
	ctx := as(context.Background(), c)
	if role == "" {
		ri, err := e.b.Role(ctx, ic)
		if err != nil {
			return err
		}
		role = ri.Name
	}
	_, err := e.b.Credentials(ctx, ic, role)
	return err
}

// TestExecTokenBoundToUIDAndProcess: an exec token works for the uid it
// was issued to only (another uid presenting it gets nothing), and it is
// withdrawn when the issuing process is SIGKILLed (before the fix it
// stayed valid, for any uid, forever).
func TestExecTokenBoundToUIDAndProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("exec tokens are watched through a pidfd: Linux only")
	}
	e := newEnv(t, baseConfig)
	proc := exec.Command("sleep", "60")
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Process.Kill(); proc.Wait() })
	execAlice := &fakeCaller{uid: 1001, user: "alice", pid: proc.Process.Pid}
	tok, err := e.b.IssueToken(context.Background(), execAlice, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if err := containerAs(e, alice, tok, "mine"); err != nil {
		t.Fatalf("alice with her token: %v", err)
	}
	// bob's rules give him readonly, never mine; eve has no rule at all.
	for _, c := range []*fakeCaller{bob, eve} {
		if err := containerAs(e, c, tok, "mine"); !errors.Is(err, imds.ErrNoRole) {
			t.Errorf("uid %d with alice's exec token: %v, want ErrNoRole", c.uid, err)
		}
	}

	proc.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := e.b.Tokens().Binding(tok); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token of a SIGKILLed exec is still accepted after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.log.WaitLine(t, "container token withdrawn: its process exited")
	if err := containerAs(e, alice, tok, "mine"); err == nil {
		t.Error("the token of a SIGKILLed exec still works")
	}
	if e.b.RevokeToken(tok) {
		t.Error("RevokeToken of a withdrawn token reported it present")
	}

	// A process that is already gone (and reaped) gets no token.
	proc.Wait()
	if _, err := e.b.IssueToken(context.Background(), execAlice, "mine"); err == nil {
		t.Error("a token was issued to a process that has exited")
	}
}

// TestUserToken: `credbroker env`'s token is the same on every call, works
// for its uid only, and gets that uid's own role; a uid without a role gets
// none.
func TestUserToken(t *testing.T) {
	e := newEnv(t, baseConfig)
	if _, err := e.b.UserToken(alice); err == nil {
		t.Fatal("a user token without a user key")
	}
	if err := e.b.Tokens().SetUserKey([]byte("daemon-container-token-0123456789")); err != nil {
		t.Fatal(err)
	}
	tok, err := e.b.UserToken(alice)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := e.b.UserToken(alice)
	bobs, _ := e.b.UserToken(bob)
	if tok != again || tok == bobs {
		t.Errorf("user tokens: alice %q then %q, bob %q", tok, again, bobs)
	}
	if _, err := e.b.UserToken(eve); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("eve (no rule): %v", err)
	}
	e.session("deploy", nil).sess.Warm(context.Background())
	e.session("readonly", nil).sess.Warm(context.Background())
	if err := containerAs(e, alice, tok, ""); err != nil {
		t.Errorf("alice with her user token: %v", err)
	}
	if err := containerAs(e, bob, bobs, ""); err != nil {
		t.Errorf("bob with his user token: %v", err)
	}
	for _, c := range []*fakeCaller{bob, eve} {
		if err := containerAs(e, c, tok, ""); !errors.Is(err, imds.ErrNoRole) {
			t.Errorf("uid %d with alice's user token: %v, want ErrNoRole", c.uid, err)
		}
	}
	if err := containerAs(e, bob, tok, "deploy"); !errors.Is(err, imds.ErrNoRole) {
		t.Errorf("bob asking deploy with alice's token: %v", err)
	}
	// A new key (a new daemon token) retires the old user tokens.
	e.b.Tokens().SetUserKey([]byte("another-daemon-token-9876543210"))
	if _, ok := e.b.Tokens().Binding(tok); ok {
		t.Error("a user token outlived its key")
	}
}

// fakeWatch is a WatchExit whose processes exit when the test says so.
type fakeWatch struct {
	mu      sync.Mutex
	gone    map[int]func()
	stopped int
	exitNow bool // the process exits while the watch starts
}

func (f *fakeWatch) watch(pid int, gone func()) (func(), error) {
	if f.exitNow {
		gone()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone == nil {
		f.gone = map[int]func(){}
	}
	f.gone[pid] = gone
	return func() { f.mu.Lock(); f.stopped++; f.mu.Unlock() }, nil
}

// TestExecTokensPerUIDCap: one uid holds at most MaxExecTokensPerUID exec
// tokens (each costs the daemon a pidfd); another uid is not affected; a
// token freed makes room again.
func TestExecTokensPerUIDCap(t *testing.T) {
	fw := &fakeWatch{}
	e := newEnv(t, baseConfig, func(o *envOptions) {
		o.broker = append(o.broker, func(o *Options) { o.WatchExit = fw.watch })
	})
	ctx := context.Background()
	var toks []string
	for i := range MaxExecTokensPerUID {
		tok, err := e.b.IssueToken(ctx, &fakeCaller{uid: 1001, user: "alice", pid: 10000 + i}, "mine")
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		toks = append(toks, tok)
	}
	if _, err := e.b.IssueToken(ctx, &fakeCaller{uid: 1001, user: "alice", pid: 20000}, "mine"); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("token %d of one uid: %v, want ErrNotAllowed", MaxExecTokensPerUID+1, err)
	}
	if _, err := e.b.IssueToken(ctx, &fakeCaller{uid: 1002, user: "bob", pid: 30000}, "readonly"); err != nil {
		t.Errorf("bob, while alice is at her cap: %v", err)
	}
	if !e.b.RevokeToken(toks[0]) || fw.stopped != 1 {
		t.Fatalf("revoke: stopped %d watches", fw.stopped)
	}
	fw.gone[10001]() // a process exits: its token goes, and its slot
	if _, ok := e.b.Tokens().Binding(toks[1]); ok {
		t.Error("the token of an exited process is still accepted")
	}
	for i := range 2 {
		if _, err := e.b.IssueToken(ctx, &fakeCaller{uid: 1001, user: "alice", pid: 40000 + i}, "mine"); err != nil {
			t.Errorf("after two slots freed, token %d: %v", i, err)
		}
	}
}

// TestExecTokenProcessExitsDuringIssue: a process that exits while its
// watch starts gets no token, and none stays accepted.
func TestExecTokenProcessExitsDuringIssue(t *testing.T) {
	fw := &fakeWatch{exitNow: true}
	e := newEnv(t, baseConfig, func(o *envOptions) {
		o.broker = append(o.broker, func(o *Options) { o.WatchExit = fw.watch })
	})
	if tok, err := e.b.IssueToken(context.Background(), &fakeCaller{uid: 1001, user: "alice", pid: 50000}, "mine"); err == nil {
		t.Errorf("a token %q for a process that exited", tok)
	}
	if n := e.b.Tokens().Len(); n != 0 {
		t.Errorf("%d tokens accepted after the process exited", n)
	}
}
