package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// A transaction left idle is ended by PostgreSQL after a minute, unless the
// database URL says otherwise; the pool goes on with fresh connections.
func TestIdleTransactionsAreEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	show := func(url string) string {
		t.Helper()
		pool, err := store.Open(ctx, url, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var v string
		if err := pool.QueryRow(ctx, `SHOW idle_in_transaction_session_timeout`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := show(url); v != "1min" {
		t.Fatalf("idle_in_transaction_session_timeout %s, want 1min", v)
	}
	if v := show(url + "&idle_in_transaction_session_timeout=0"); v != "0" {
		t.Fatalf("the database URL's idle_in_transaction_session_timeout=0 became %s", v)
	}
	if v := show(url + "&options=-c%20idle_in_transaction_session_timeout%3D5min"); v != "5min" {
		t.Fatalf("the database URL's options -c idle_in_transaction_session_timeout=5min became %s", v)
	}

	pool, err := store.Open(ctx, url+"&idle_in_transaction_session_timeout=200ms", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT txid_current()`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := tx.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("a transaction idle past the timeout went on")
	}
	_ = tx.Rollback(ctx)
	var one int
	if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("the pool after its connection was ended: %v", err)
	}
}
