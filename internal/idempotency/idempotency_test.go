package idempotency_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/idempotency"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

type result struct{ ID string }

func TestClaimReplayAndReuse(t *testing.T) {
	pool := storetest.NewPool(t)
	ctx := context.Background()
	req := idempotency.Request{Scope: "test:c1", Key: "key-00001", Hash: idempotency.HashOf([]byte("body-a"))}

	// First push: claims, does its work, completes.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var prior result
		replay, err := idempotency.Claim(ctx, tx, req, &prior)
		if err != nil || replay {
			t.Fatalf("first claim: replay=%v err=%v", replay, err)
		}
		return idempotency.Complete(ctx, tx, req, result{ID: "t-1"})
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		req        idempotency.Request
		wantReplay bool
		wantErr    error
	}{
		{"same key same body replays", req, true, nil},
		{"same key other body refused", idempotency.Request{Scope: req.Scope, Key: req.Key, Hash: idempotency.HashOf([]byte("body-b"))}, false, idempotency.ErrKeyReused},
		{"same key other client is separate", idempotency.Request{Scope: "test:c2", Key: req.Key, Hash: req.Hash}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			var prior result
			replay, err := idempotency.Claim(ctx, tx, tt.req, &prior)
			if !errors.Is(err, tt.wantErr) || replay != tt.wantReplay {
				t.Fatalf("Claim = %v, %v; want %v, %v", replay, err, tt.wantReplay, tt.wantErr)
			}
			if replay && prior.ID != "t-1" {
				t.Fatalf("replayed %+v", prior)
			}
		})
	}
}

func TestRolledBackWorkLeavesNoTrace(t *testing.T) {
	pool := storetest.NewPool(t)
	ctx := context.Background()
	req := idempotency.Request{Scope: "test:c1", Key: "key-crash", Hash: idempotency.HashOf([]byte("x"))}
	boom := errors.New("crash before commit")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var prior result
		if _, err := idempotency.Claim(ctx, tx, req, &prior); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var prior result
	replay, err := idempotency.Claim(ctx, tx, req, &prior)
	if err != nil || replay {
		t.Fatalf("after rollback: replay=%v err=%v; want a fresh claim", replay, err)
	}
}

// complete records a finished push under key, created age ago.
func complete(t *testing.T, pool *pgxpool.Pool, key string, age time.Duration) idempotency.Request {
	t.Helper()
	ctx := context.Background()
	req := idempotency.Request{Scope: "test:c1", Key: key, Hash: idempotency.HashOf([]byte(key))}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var prior result
		if _, err := idempotency.Claim(ctx, tx, req, &prior); err != nil {
			return err
		}
		if err := idempotency.Complete(ctx, tx, req, result{ID: key}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE key = $1`, key, age.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestPurgerKeepsTheReplayWindow(t *testing.T) {
	pool := storetest.NewPool(t)
	ctx := context.Background()
	day := 24 * time.Hour
	old := complete(t, pool, "key-old-1", 31*day)
	fresh := complete(t, pool, "key-fresh", 29*day)
	busy := complete(t, pool, "key-old-busy", 40*day)
	// A retry of the busy key is being answered while the purge runs: its
	// row is locked and left for the next round.
	retry, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer retry.Rollback(ctx)
	var prior result
	if replay, err := idempotency.Claim(ctx, retry, busy, &prior); err != nil || !replay {
		t.Fatalf("retry of the busy key: replay=%v err=%v", replay, err)
	}

	p := idempotency.NewPurger(pool, 30*day, slog.New(slog.DiscardHandler))
	if n := p.PurgeNow(ctx); n != 1 {
		t.Fatalf("purged %d records, want 1", n)
	}
	tests := []struct {
		name       string
		req        idempotency.Request
		wantReplay bool
	}{
		{"past the retention: a new request", old, false},
		{"within the retention: replayed", fresh, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			var prior result
			replay, err := idempotency.Claim(ctx, tx, tt.req, &prior)
			if err != nil || replay != tt.wantReplay {
				t.Fatalf("Claim = %v, %v; want %v", replay, err, tt.wantReplay)
			}
		})
	}
	if err := retry.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := p.PurgeNow(ctx); n != 1 {
		t.Fatalf("second round purged %d records, want the busy one", n)
	}
}

func TestPurgeIsBatched(t *testing.T) {
	pool := storetest.NewPool(t)
	ctx := context.Background()
	const rows = 12_000
	if _, err := pool.Exec(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at)
		SELECT 'test:bulk', 'key-' || i, sha256(i::text::bytea), '{}', now() - interval '60 days'
		FROM generate_series(1, $1) i`, rows); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	if n, err := idempotency.Purge(ctx, pool, cutoff, 100); err != nil || n != 100 {
		t.Fatalf("one batch: %d, %v; want 100", n, err)
	}
	if n := idempotency.NewPurger(pool, 0, slog.New(slog.DiscardHandler)).PurgeNow(ctx); n != rows-100 {
		t.Fatalf("purged %d, want %d", n, rows-100)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d records left (%v)", left, err)
	}
}
