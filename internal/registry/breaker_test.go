package registry

import (
	"fmt"
	"testing"
	"time"
)

// A request allowed while the breaker was closed may end while a probe is
// out, before or after the probe's own result. Only the probe decides the
// half-open breaker, and the late result counts for nothing afterwards.
func TestBreakerIgnoresResultsOfEarlierStates(t *testing.T) {
	t.Parallel()
	for _, probeFirst := range []bool{false, true} {
		for _, lateOK := range []bool{false, true} {
			t.Run(fmt.Sprintf("probe first %v, late result ok %v", probeFirst, lateOK), func(t *testing.T) {
				now := time.Unix(1_800_000_000, 0)
				b := newBreaker(2, time.Second, func() time.Time { return now }, nil)
				late, ok := b.allow()
				if !ok {
					t.Fatal("a closed breaker refused a request")
				}
				for range 2 {
					tk, _ := b.allow()
					b.done(tk, false)
				}
				if s := b.State(); s != Open {
					t.Fatalf("breaker %s after 2 failures, want open", s)
				}
				now = now.Add(time.Second)
				probe, ok := b.allow()
				if !ok || !probe.probe {
					t.Fatalf("no probe after the open period: %v %+v", ok, probe)
				}
				probeOK := !lateOK // the probe says the opposite, so it shows who decided
				want := Open
				if probeOK {
					want = Closed
				}

				if !probeFirst {
					b.done(late, lateOK)
					if s := b.State(); s != HalfOpen {
						t.Fatalf("the late result moved the half-open breaker to %s", s)
					}
					if _, ok := b.allow(); ok {
						t.Fatal("a second probe was let through while the first is out")
					}
					b.done(probe, probeOK)
				} else {
					b.done(probe, probeOK)
					b.done(late, lateOK)
				}
				if s := b.State(); s != want {
					t.Fatalf("breaker %s, want %s as the probe said", s, want)
				}
				if want == Closed {
					// A late failure after the close did not count towards
					// the next opening: one more failure is still one.
					tk, _ := b.allow()
					b.done(tk, false)
					if s := b.State(); s != Closed {
						t.Errorf("breaker %s after one failure since it closed", s)
					}
				} else if _, ok := b.allow(); ok {
					t.Error("the reopened breaker let a request through at once")
				}
			})
		}
	}
}
