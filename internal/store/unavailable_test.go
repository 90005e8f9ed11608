package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
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

// A pooled connection that went dead while it sat idle (reset by a
// restarted pooler or load balancer, or a firewall) fails the next query
// before any of it reached the server: the caller may try again (503), it
// is no defect (500).
func TestDeadPooledConnectionIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL := storetest.NewDatabase(t)
	proxy, proxied := storetest.NewProxy(t, dbURL)
	cfg, err := pgxpool.ParseConfig(proxied)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	// The pool pings a connection idle for over a second before lending
	// it; within that second it lends it unchecked, as here.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	_, err = pool.Exec(ctx, "SELECT 1")
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("query on a dead pooled connection: IsUnavailable(%v) = false", err)
	}
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("the pool did not replace the dead connection: %v", err)
	}
}

// A session the server ended (a restart, a fail-over, an operator's
// pg_terminate_backend) fails its next query with FATAL 57P01 over TCP:
// nothing was done and the next connection works, so it is 503, not 500.
func TestTerminatedSessionIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := storetest.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var pid int
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin, err := store.Open(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	for range 50 { // until the backend has gone
		var gone bool
		if err := admin.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", pid).Scan(&gone); err != nil || gone {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err = pool.Exec(ctx, "SELECT $1::int", 1)
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("the query on a terminated session: IsUnavailable(%v) = false", err)
	}
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("the pool did not recover: %v", err)
	}
}

// A connection string asking for the simple protocol or exec mode (as
// behind some poolers) gets describe-exec mode: with the simple protocol
// pgx calls a statement lost in flight safe to retry although it may have
// been committed (503 "repeat safely"), and both send parameters as text,
// which JSON held in []byte does not survive.
func TestSimpleProtocolIsNotUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.NewDatabase(t)
	for _, mode := range []string{"simple_protocol", "exec"} {
		pool, err := store.Open(ctx, url+"&default_query_exec_mode="+mode, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if got := pool.Config().ConnConfig.DefaultQueryExecMode; got != pgx.QueryExecModeDescribeExec {
			t.Fatalf("%s: query exec mode %v, want describe-exec", mode, got)
		}
		// A benefit's version is JSON held in []byte, as the store writes it.
		var doc string
		if err := pool.QueryRow(ctx, "SELECT $1::jsonb::text", []byte(`{"a": 1}`)).Scan(&doc); err != nil || doc != `{"a": 1}` {
			t.Fatalf("%s: JSON from []byte: %q %v", mode, doc, err)
		}
	}
}

// A COMMIT whose connection is lost while the server works on it may have
// taken effect: the store's transactions never call that unavailable (503
// "repeat safely"), whatever pgx says of retrying it.
func TestCommitLostInFlightIsNotUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL := storetest.NewDatabase(t)
	proxy, proxied := storetest.NewProxy(t, dbURL)
	admin, err := store.Open(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// A deferred constraint trigger makes the COMMIT itself take a while.
	if _, err := admin.Exec(ctx, `
		CREATE TABLE slow_commit (x int);
		CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();`); err != nil {
		t.Fatal(err)
	}
	pool, err := store.Open(ctx, proxied, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	go func() { // reset the connection while the COMMIT runs
		for ctx.Err() == nil {
			var committing bool
			if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'active' AND query ILIKE 'commit%')`).Scan(&committing); err == nil && committing {
				proxy.Reset()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	err = store.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO slow_commit VALUES ($1)", 1)
		return err
	})
	if err == nil {
		t.Fatal("the COMMIT was not cut short")
	}
	if store.IsUnavailable(err) {
		t.Fatalf("a COMMIT lost in flight counted as unavailable: %v", err)
	}
}

// A transaction whose work failed is rolled back; if the database stops
// answering just then, the rollback gives up after a few seconds instead
// of holding the caller, and its connection, for good.
func TestRollbackIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.NewDatabase(t)
	proxy, proxied := storetest.NewProxy(t, dbURL)
	pool, err := store.Open(ctx, proxied, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	defer proxy.Reset() // before the pool closes its stalled connection
	refused := errors.New("a business rule refused it")
	done := make(chan error, 1)
	go func() {
		done <- store.InTx(ctx, pool, func(pgx.Tx) error {
			proxy.Stall()
			return refused
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, refused) {
			t.Fatalf("InTx = %v, want the work's own error", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the rollback on a stalled connection did not give up")
	}
}
