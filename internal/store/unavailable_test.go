package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/store"
)

func TestIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Nothing listens on port 1: every acquisition fails to connect.
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/avis?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, "SELECT 1")
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("connection refused: IsUnavailable(%v) = false", err)
	}
	if store.IsUnavailable(errors.New("duplicate key value violates unique constraint")) || store.IsUnavailable(nil) {
		t.Fatal("a failed query counted as an unreachable database")
	}
}
