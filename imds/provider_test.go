package imds

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestBudget: the source's context ends at the source timeout, or with
// the request's, or at cancel, whether or not anything waited before.
func TestBudget(t *testing.T) {
	p := &provider{timeout: 20 * time.Millisecond}
	ctx, cancel := p.bound(context.Background())
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
		t.Errorf("deadline %v %v", d, ok)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the budget did not end at its timeout")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Err %v", ctx.Err())
	}
	cancel()

	// The request's end ends it; its values pass through.
	type key struct{}
	req, reqCancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ctx, cancel = p.bound(req)
	defer cancel()
	if ctx.Value(key{}) != "v" {
		t.Error("request values lost")
	}
	reqCancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err %v after the request ended", ctx.Err())
	}

	// Canceled before anything waited: done at once, no timer.
	p.timeout = time.Hour
	ctx, cancel = p.bound(context.Background())
	cancel()
	select {
	case <-ctx.Done():
	default:
		t.Error("not done after cancel")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err %v after cancel", ctx.Err())
	}
	// A request deadline earlier than the timeout is the deadline.
	early, c2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer c2()
	ctx, cancel = p.bound(early)
	defer cancel()
	if d, _ := ctx.Deadline(); time.Until(d) > time.Millisecond {
		t.Errorf("deadline %v, want the request's", d)
	}
}
