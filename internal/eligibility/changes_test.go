package eligibility

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/registry"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
)

type fakeFeed struct {
	pages map[string]registry.ChangesPage // by cursor
	calls []string
}

func (f *fakeFeed) Changes(_ context.Context, _ registry.Dataset, cursor string, _ int) (registry.ChangesPage, error) {
	f.calls = append(f.calls, cursor)
	p, ok := f.pages[cursor]
	if !ok {
		return registry.ChangesPage{}, fmt.Errorf("pensioners: %w", registry.ErrCursorExpired)
	}
	return p, nil
}

type memCursors map[registry.Dataset]string

func (m memCursors) ClaimChangeFeed(_ context.Context, d registry.Dataset, _ string, _ time.Duration) (string, bool, error) {
	return m[d], true, nil
}
func (m memCursors) SaveChangeCursor(_ context.Context, d registry.Dataset, _, c string, _ time.Duration) error {
	m[d] = c
	return nil
}
func (m memCursors) ReleaseChangeFeed(context.Context, registry.Dataset, string) error { return nil }

// An expired cursor drops every cached fact of the data set and follows
// the feed again from its start; changed persons' facts are dropped, and
// others' kept.
func TestChangeFollower(t *testing.T) {
	rdb, prefix := testRedis(t)
	_, _, _, cache := newTestService(t, rdb, prefix)
	ctx := context.Background()
	other := "32345678901"
	put := func(d registry.Dataset, code string) string {
		k := cache.factsKey(d, cache.PersonKey(code))
		if err := rdb.Set(ctx, k, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		return k
	}
	exists := func(k string) bool { return rdb.Exists(ctx, k).Val() == 1 }

	feed := &fakeFeed{pages: map[string]registry.ChangesPage{
		"":   {Changes: []registry.Change{{PersonCode: testCode}}, NextCursor: "c1", HasMore: true},
		"c1": {NextCursor: "c1"},
	}}
	cursors := memCursors{registry.Pensioners: "gone"}
	f, err := NewChangeFollower(feed, cursors, cache, 0, "test", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	changed, kept, elsewhere := put(registry.Pensioners, testCode), put(registry.Pensioners, other), put(registry.Person, other)
	if err := f.Follow(ctx, registry.Pensioners); err != nil {
		t.Fatal(err)
	}
	if exists(changed) || exists(kept) {
		t.Error("an expired cursor must drop every cached fact of the data set")
	}
	if !exists(elsewhere) {
		t.Error("another data set's facts were dropped")
	}
	if cursors[registry.Pensioners] != "c1" || fmt.Sprint(feed.calls) != "[gone  c1]" {
		t.Errorf("cursor %q after calls %v", cursors[registry.Pensioners], feed.calls)
	}

	// Caught up: a new change drops that person's facts only.
	feed.pages["c1"] = registry.ChangesPage{Changes: []registry.Change{{PersonCode: other, Removed: true}}, NextCursor: "c2"}
	feed.pages["c2"] = registry.ChangesPage{NextCursor: "c2"}
	changed, kept = put(registry.Pensioners, other), put(registry.Pensioners, testCode)
	if err := f.Follow(ctx, registry.Pensioners); err != nil {
		t.Fatal(err)
	}
	if exists(changed) || !exists(kept) {
		t.Errorf("after a change: changed person's facts exist %v, other's %v", exists(changed), exists(kept))
	}
	if cursors[registry.Pensioners] != "c2" {
		t.Errorf("cursor %q", cursors[registry.Pensioners])
	}
}

// A changed eID record drops the cached resolution of each card it lists,
// and leaves other cards' alone.
func TestChangeFollowerDropsCardResolutions(t *testing.T) {
	rdb, prefix := testRedis(t)
	_, _, _, cache := newTestService(t, rdb, prefix)
	ctx := context.Background()
	put := func(k string) string {
		if err := rdb.Set(ctx, k, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		return k
	}
	exists := func(k string) bool { return rdb.Exists(ctx, k).Val() == 1 }
	record := `{"personCode":"` + testCode + `","cards":[{"number":"PA1111111","status":"invalid"},{"number":"PA2222222","status":"valid"}]}`
	feed := &fakeFeed{pages: map[string]registry.ChangesPage{
		"": {Changes: []registry.Change{{PersonCode: testCode, Record: []byte(record)}, {PersonCode: "32345678901", Removed: true, Record: []byte("null")}}, NextCursor: "c1"},
	}}
	f, err := NewChangeFollower(feed, memCursors{}, cache, 0, "test", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	old, renewed := put(cache.meansKey("eid_card", "PA1111111")), put(cache.meansKey("eid_card", "PA2222222"))
	other, school := put(cache.meansKey("eid_card", "PA3333333")), put(cache.meansKey("school_card", "PA1111111"))
	facts := put(cache.factsKey(registry.EID, cache.PersonKey(testCode)))
	if err := f.Follow(ctx, registry.EID); err != nil {
		t.Fatal(err)
	}
	if exists(old) || exists(renewed) || exists(facts) {
		t.Errorf("after the change: invalid card cached %v, new card %v, facts %v", exists(old), exists(renewed), exists(facts))
	}
	if !exists(other) || !exists(school) {
		t.Errorf("unrelated resolutions dropped: other card %v, school card %v", exists(other), exists(school))
	}
}

// End to end with the mocks: the gateway keeps its cursor while the mocks
// restart with another seed; the new run refuses it, and the follower drops
// every cached fact of the data set and follows the new run's feed from its
// start, instead of reading the old position against other persons.
func TestChangeFollowerAfterRegistryRestart(t *testing.T) {
	rdb, prefix := testRedis(t)
	_, _, _, cache := newTestService(t, rdb, prefix)
	ctx := context.Background()
	m := registrytest.Start(t)
	client, err := registry.New(registry.Config{BaseURL: m.URL, Signer: m.Signer, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	cursors := memCursors{}
	f, err := NewChangeFollower(client, cursors, cache, 0, "test", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	put := func(d registry.Dataset) string {
		k := cache.factsKey(d, cache.PersonKey(testCode))
		if err := rdb.Set(ctx, k, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		return k
	}
	exists := func(k string) bool { return rdb.Exists(ctx, k).Val() == 1 }

	if err := f.Follow(ctx, registry.Pensioners); err != nil {
		t.Fatal(err)
	}
	old := cursors[registry.Pensioners]
	cached, elsewhere := put(registry.Pensioners), put(registry.Person)
	if err := f.Follow(ctx, registry.Pensioners); err != nil || !exists(cached) {
		t.Fatalf("caught up: %v, facts kept %v", err, exists(cached))
	}

	m.Restart(2)
	seq := m.LastSeq()
	if err := f.Follow(ctx, registry.Pensioners); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if exists(cached) || !exists(elsewhere) {
		t.Errorf("after the restart: the data set's facts kept %v, another data set's %v", exists(cached), exists(elsewhere))
	}
	var got []string
	for _, e := range m.Journal("pensioners", seq) {
		if e.Authorized { // not the one the new run's token refusal sent back
			got = append(got, fmt.Sprintf("%s %d %s", e.Query, e.Status, e.ProblemType))
		}
	}
	want := []string{"limit=1000&since=" + old + " 400 invalid-cursor", "limit=1000 200 "}
	if fmt.Sprint(got[:min(len(got), 2)]) != fmt.Sprint(want) {
		t.Errorf("requests to the new run: %q, want it to start with %q", got, want)
	}
	now := cursors[registry.Pensioners]
	if _, err := client.Changes(ctx, registry.Pensioners, now, 1); now == old || err != nil {
		t.Errorf("cursor %q after the restart (was %q): %v", now, old, err)
	}
}

// When the eID feed's cursor expires, card resolutions go too: they are
// read from eID records but cached under the means keys. Other means types'
// resolutions, and other deployments' keys in the same Redis, stay.
func TestChangeFollowerExpiredEIDDropsCardResolutions(t *testing.T) {
	rdb, prefix := testRedis(t)
	s, reg, _, cache := newTestService(t, rdb, prefix)
	ctx := context.Background()
	day := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	card := func(status string) string {
		return `{"personCode":"` + testCode + `","cards":[{"number":"PA1111111","status":"` + status + `","validFrom":"2024-01-01","validTo":"2029-01-01"}]}`
	}
	reg.mu.Lock()
	reg.cards = map[string]string{"PA1111111": card("valid")}
	reg.mu.Unlock()
	if code, _, err := s.resolveMeans(ctx, means.EIDCard, "PA1111111", day); err != nil || code != testCode {
		t.Fatalf("card resolved to %q, %v", code, err)
	}
	if _, _, err := s.resolveMeans(ctx, means.Etalons, "ET-1", day); !errors.Is(err, ErrUnknownMeans) {
		t.Fatalf("unregistered e-talons: %v", err)
	}
	neighbour := prefix + "neighbour:elig:m:eid_card:x"
	if err := rdb.Set(ctx, neighbour, "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// PMLP cancels the card; the change is missed (the cursor expires).
	reg.mu.Lock()
	reg.cards["PA1111111"] = card("invalid")
	reg.mu.Unlock()
	if code, _, _ := s.resolveMeans(ctx, means.EIDCard, "PA1111111", day); code != testCode {
		t.Fatalf("the resolution was not cached: %q", code)
	}

	feed := &fakeFeed{pages: map[string]registry.ChangesPage{"": {NextCursor: "c1"}}}
	f, err := NewChangeFollower(feed, memCursors{registry.EID: "gone"}, cache, 0, "test", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Follow(ctx, registry.EID); err != nil {
		t.Fatal(err)
	}
	if code, _, err := s.resolveMeans(ctx, means.EIDCard, "PA1111111", day); !errors.Is(err, ErrUnknownMeans) {
		t.Errorf("after the eID cursor expired, the cancelled card still resolves to %q (%v)", code, err)
	}
	for _, k := range []string{cache.meansKey(string(means.Etalons), "ET-1"), neighbour} {
		if rdb.Exists(ctx, k).Val() != 1 {
			t.Errorf("%s dropped with the eID card resolutions", k)
		}
	}
}

type leasedElsewhere struct{ memCursors }

func (leasedElsewhere) ClaimChangeFeed(context.Context, registry.Dataset, string, time.Duration) (string, bool, error) {
	return "", false, nil
}

// While another instance holds a feed's lease, the follower leaves it alone.
func TestChangeFollowerLeavesLeasedFeed(t *testing.T) {
	rdb, prefix := testRedis(t)
	_, _, _, cache := newTestService(t, rdb, prefix)
	feed := &fakeFeed{pages: map[string]registry.ChangesPage{"": {NextCursor: "c1"}}}
	f, err := NewChangeFollower(feed, leasedElsewhere{memCursors{}}, cache, 0, "test", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Follow(context.Background(), registry.Pensioners); err != nil || len(feed.calls) != 0 {
		t.Errorf("followed a feed leased elsewhere: %v, calls %v", err, feed.calls)
	}
}

// A check that read a value just before its invalidation may write it back
// just after; the second deletion, a rewrite window later, removes it.
func TestInvalidationDeletesAgain(t *testing.T) {
	rdb, prefix := testRedis(t)
	keys, err := DeriveKeys([]byte(strings.Repeat("k", 32)), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := NewCache(CacheConfig{Client: rdb, Prefix: prefix, Keys: keys, RewriteWindow: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cache.Run(ctx)
	means, facts := cache.meansKey("etalons", "ET-1"), cache.factsKey(registry.Pensioners, cache.PersonKey(testCode))
	cache.invalidate(ctx, means)
	if err := cache.drop(ctx, []string{facts}); err != nil {
		t.Fatal(err)
	}
	// The stale write-backs of checks that were in flight.
	for _, k := range []string{means, facts} {
		if err := rdb.Set(ctx, k, "stale", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for rdb.Exists(ctx, means, facts).Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a value written back after its invalidation outlived the rewrite window")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A means change drops the resolution the previous release cached under
// its key form too, so its instances do not answer the old person while a
// rolling deploy runs.
func TestInvalidateMeansDropsLegacyKey(t *testing.T) {
	rdb, prefix := testRedis(t)
	s, _, _, cache := newTestService(t, rdb, prefix)
	ctx := context.Background()
	legacy, current := cache.legacyMeansKey("etalons", "ET-1"), cache.meansKey("etalons", "ET-1")
	for _, k := range []string{legacy, current} {
		if err := rdb.Set(ctx, k, "x", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s.InvalidateMeans(ctx, means.Etalons, "ET-1")
	if n, err := rdb.Exists(ctx, legacy, current).Result(); err != nil || n != 0 {
		t.Errorf("%d of the two key forms left (%v)", n, err)
	}
}
