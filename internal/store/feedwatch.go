package store

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// FeedWatcher keeps the instruction feed's newest change number in memory,
// fed by PostgreSQL notifications, so that a provider polling with
// If-None-Match gets its 304 without a database round trip. While it is not
// listening (start-up, a lost connection) Head says so and callers ask the
// database instead.
type FeedWatcher struct {
	pool      *pgxpool.Pool
	log       *slog.Logger
	head      atomic.Int64
	listening atomic.Bool
	// resync bounds how stale the head can get if a notification is lost.
	resync time.Duration
}

// NewFeedWatcher returns a watcher; call Run to start it.
func NewFeedWatcher(pool *pgxpool.Pool, log *slog.Logger) *FeedWatcher {
	return &FeedWatcher{pool: pool, log: log, resync: 5 * time.Second}
}

// Head returns the newest change number and whether it is current.
func (w *FeedWatcher) Head() (int64, bool) {
	return w.head.Load(), w.listening.Load()
}

// Run listens until ctx ends, reconnecting with back-off.
func (w *FeedWatcher) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := w.listen(ctx)
		w.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		w.log.WarnContext(ctx, "instruction feed listener stopped; retrying", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (w *FeedWatcher) listen(ctx context.Context) error {
	pooled, err := w.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTENing connection must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+FeedChannel); err != nil {
		return err
	}
	for {
		var seq int64
		if err := conn.QueryRow(ctx, `SELECT seq FROM instruction_feed_counter`).Scan(&seq); err != nil {
			return err
		}
		w.advance(seq)
		w.listening.Store(true)
		deadline := time.Now().Add(w.resync)
		for time.Now().Before(deadline) {
			wctx, cancel := context.WithDeadline(ctx, deadline)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if wctx.Err() != nil {
					break
				}
				return err
			}
			if v, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
				w.advance(v)
			}
		}
	}
}

func (w *FeedWatcher) advance(seq int64) {
	for {
		cur := w.head.Load()
		if seq <= cur || w.head.CompareAndSwap(cur, seq) {
			return
		}
	}
}
