package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// blackHole is a database address that takes connections and never
// answers: a hung failover or a frozen primary.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return "postgres://postgres@" + ln.Addr().String() + "/avis?sslmode=disable"
}

func TestOpenGivesUpOnADatabaseThatNeverAnswers(t *testing.T) {
	t.Parallel()
	start := time.Now()
	pool, err := store.Open(context.Background(), blackHole(t), 2)
	if err == nil {
		pool.Close()
		t.Fatal("opened a database that never answers")
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("gave up after %s", time.Since(start))
	}
}

// Decisions still queued at shutdown are tried for a bounded time, also
// when the database hangs instead of refusing: the process must exit.
func TestShutdownFlushEndsWhenTheDatabaseHangs(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(blackHole(t))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg) // connects lazily, with no connect timeout
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	el := store.NewEligibility(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	time.Sleep(10 * time.Millisecond) // Run has started
	if err := el.SaveDecision(ctx, decision("40000000001", "p1", applied("b", 150, nil))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // its batch is being written, and hangs
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return 20 s after its context ended")
	}
}

// Instances starting together agree on a gateway secret: one that finds
// another's insert in flight waits for it and takes its secret.
func TestSecretWhileAnotherInstanceInserts(t *testing.T) {
	t.Parallel()
	pool := storetest.NewPool(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	theirs := bytes.Repeat([]byte{7}, 32)
	if _, err := tx.Exec(ctx, `INSERT INTO gateway_secrets (name, secret) VALUES ('race', $1)`, theirs); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	errs := make(chan error, 1)
	go func() {
		s, err := store.Secret(ctx, pool, "race")
		errs <- err
		got <- s
	}()
	time.Sleep(200 * time.Millisecond) // the other instance's insert waits on ours
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("secret while another instance inserted it: %v", err)
	}
	if s := <-got; !bytes.Equal(s, theirs) {
		t.Errorf("secret %x, want the other instance's %x", s, theirs)
	}
}

// A queue grown during an outage is written in slices: one write never
// takes more than MaxFlushBatch decisions, so none grows past what can be
// written within its timeout.
func TestLongQueueIsWrittenInSlices(t *testing.T) {
	t.Parallel()
	_, el, pool := newTxStore(t)
	ds := make([]eligibility.Decision, store.MaxFlushBatch+500)
	for i := range ds {
		ds[i] = decision("40000000001", fmt.Sprint("p", i), applied("b", 150, nil))
	}
	el.QueueForTest(ds)
	ctx := context.Background()
	el.FlushOnce(ctx)
	if n := el.Queued(); n != 500 {
		t.Fatalf("after one write %d decisions wait, want 500", n)
	}
	el.FlushOnce(ctx)
	var written int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_decisions`).Scan(&written); err != nil {
		t.Fatal(err)
	}
	if el.Queued() != 0 || written != len(ds) {
		t.Errorf("%d written, %d still queued, want all %d written", written, el.Queued(), len(ds))
	}
}
