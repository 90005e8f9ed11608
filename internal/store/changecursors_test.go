package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/registry"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// One follower at a time holds a feed: the other is refused while the
// lease runs, loses nothing it saved, and takes over when the lease is
// released or runs out; a follower whose lease was taken cannot save.
func TestChangeFeedLease(t *testing.T) {
	t.Parallel()
	s := store.NewChangeCursors(storetest.NewPool(t))
	ctx := context.Background()
	const d = registry.Pensioners
	claim := func(holder string, lease time.Duration) (string, bool) {
		t.Helper()
		c, ok, err := s.ClaimChangeFeed(ctx, d, holder, lease)
		if err != nil {
			t.Fatal(err)
		}
		return c, ok
	}

	if c, ok := claim("a", time.Minute); !ok || c != "" {
		t.Fatalf("first claim: %q %v", c, ok)
	}
	if _, ok := claim("b", time.Minute); ok {
		t.Fatal("b got a feed a holds")
	}
	if err := s.SaveChangeCursor(ctx, d, "a", "c1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if c, ok := claim("a", time.Minute); !ok || c != "c1" {
		t.Fatalf("a again: %q %v", c, ok)
	}
	if err := s.SaveChangeCursor(ctx, d, "b", "x", time.Minute); !errors.Is(err, eligibility.ErrFeedLeaseLost) {
		t.Fatalf("b saved without the lease: %v", err)
	}

	if err := s.ReleaseChangeFeed(ctx, d, "a"); err != nil {
		t.Fatal(err)
	}
	if c, ok := claim("b", 50*time.Millisecond); !ok || c != "c1" {
		t.Fatalf("b after a released: %q %v", c, ok)
	}
	if err := s.SaveChangeCursor(ctx, d, "a", "stale", time.Minute); !errors.Is(err, eligibility.ErrFeedLeaseLost) {
		t.Fatalf("a saved after losing the lease: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if c, ok := claim("a", time.Minute); !ok || c != "c1" {
		t.Fatalf("a after b's lease ran out: %q %v", c, ok)
	}
	if _, ok, err := s.ClaimChangeFeed(ctx, registry.Needy, "b", time.Minute); err != nil || !ok {
		t.Fatalf("another data set is leased apart: %v %v", ok, err)
	}
}
