package clocktest

import (
	"slices"
	"testing"
	"time"
)

func TestAdvanceRunsTimersInOrderAtTheirTime(t *testing.T) {
	c := New(Start)
	var got []time.Duration
	at := func() { got = append(got, c.Now().Sub(Start)) }
	c.AfterFunc(3*time.Second, at)
	c.AfterFunc(time.Second, at)
	stopped := c.AfterFunc(2*time.Second, at)
	c.AfterFunc(time.Hour, at)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	if p := c.Pending(); !slices.Equal(p, []time.Duration{time.Second, 3 * time.Second, time.Hour}) {
		t.Fatalf("Pending = %v", p)
	}
	c.Advance(5 * time.Second)
	if want := []time.Duration{time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("timers ran at %v, want %v", got, want)
	}
	if d := c.Now().Sub(Start); d != 5*time.Second {
		t.Errorf("Now = start+%v, want start+5s", d)
	}
	c.Set(Start)
	if !c.Now().Equal(Start) || len(got) != 2 {
		t.Errorf("Set: Now = %v, %d timers ran", c.Now(), len(got))
	}
}

func TestBlockUntil(t *testing.T) {
	c := New(Start)
	done := make(chan struct{})
	go func() { c.BlockUntil(1); close(done) }()
	c.AfterFunc(time.Second, func() {})
	<-done
}

func TestRunFollowsWallClock(t *testing.T) {
	c := New(Start)
	c.Run()
	time.Sleep(2 * time.Millisecond)
	if d := c.Now().Sub(Start); d < 2*time.Millisecond || d > time.Minute {
		t.Errorf("running clock moved %v, want at least 2ms", d)
	}
	c.Advance(time.Hour)
	if d := c.Now().Sub(Start); d < time.Hour {
		t.Errorf("Advance on a running clock: moved %v, want at least 1h", d)
	}
}
