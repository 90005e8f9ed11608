package idempotency_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

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
