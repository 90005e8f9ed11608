package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// A purge of a long backlog runs beside the flusher: a decision saved
// meanwhile is in the database, for another instance to read, within a
// batch or two, not after the purge.
func TestPurgeDoesNotHoldDecisions(t *testing.T) {
	t.Parallel()
	url := storetest.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	open := func() *store.Eligibility {
		pool, err := store.Open(ctx, url, 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return store.NewEligibility(pool, slog.New(slog.DiscardHandler))
	}
	pool, err := store.Open(ctx, url, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	const old = 300_000
	if _, err := pool.Exec(ctx, `
		INSERT INTO eligibility_audit (decision_id, checked_at, provider_reg_no, person_ref, applied, unknown)
		SELECT (lpad(to_hex((extract(epoch FROM now() - interval '2 years') * 1000)::bigint), 12, '0') || '7' || substr(md5(i::text), 1, 19))::uuid,
			now() - interval '2 years', '40000000001', decode(md5(i::text), 'hex'), 1, 0
		FROM generate_series(1, $1::int) i`, old); err != nil {
		t.Fatal(err)
	}

	el, other := open(), open()
	el.PurgeEvery(10 * time.Millisecond)
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// Wait for the purge to be under way.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_audit`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left < old {
			if left == 0 {
				t.Fatal("the purge was over before a decision could be saved during it; seed more rows")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the purge did not start")
		}
	}
	for i := range 3 {
		d := decision("40000000001", "during-purge")
		if err := el.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := other.Decision(ctx, d.ID); err != nil {
			t.Fatalf("decision %d saved during the purge, read by another instance: %v", i, err)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Fatalf("decision %d saved during the purge was written after %v", i, took)
		}
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_audit WHERE checked_at < now() - interval '1 year'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left == 0 {
		t.Error("the purge was over before the decisions were saved: the test proves nothing; seed more rows")
	}
}

// Instances purge one at a time: while another holds the purge's lock,
// a purge leaves the rows to it.
func TestPurgeOneInstanceAtATime(t *testing.T) {
	t.Parallel()
	pool := storetest.NewPool(t)
	ctx := context.Background()
	el := store.NewEligibility(pool, slog.New(slog.DiscardHandler))
	if _, err := pool.Exec(ctx, `
		INSERT INTO eligibility_audit (decision_id, checked_at, provider_reg_no, person_ref, applied, unknown)
		SELECT (lpad(to_hex((extract(epoch FROM now() - interval '2 years') * 1000)::bigint), 12, '0') || '7' || substr(md5(i::text), 1, 19))::uuid,
			now() - interval '2 years', '40000000001', decode(md5(i::text), 'hex'), 1, 0
		FROM generate_series(1, 10) i`); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_audit`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('avis-purge:eligibility', 0))`); err != nil {
		t.Fatal(err)
	}
	el.PurgeNow(ctx)
	if n := count(); n != 10 {
		t.Fatalf("purged %d rows while another instance held the lock", 10-n)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}
	holder.Release()
	el.PurgeNow(ctx)
	if n := count(); n != 0 {
		t.Fatalf("%d old rows left after the purge", n)
	}
	// The purge gave its lock back.
	var free bool
	if err := pool.QueryRow(ctx, `SELECT count(*) = 0 FROM pg_locks WHERE locktype = 'advisory'
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&free); err != nil || !free {
		t.Fatalf("the purge kept its lock: %v", err)
	}
}
