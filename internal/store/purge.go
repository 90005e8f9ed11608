package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// purgeSlice bounds the rows one DELETE of a purge removes, so that no
	// statement holds its locks, or the WAL, for long.
	purgeSlice = 5000
	// purgePause is the rest between two slices: a purge of a long backlog
	// (the first one after a retention was shortened, or after a week
	// down) leaves the disk and the pool to the traffic in between.
	purgePause = 50 * time.Millisecond
)

// exclusively runs fn on a connection of its own that holds the session
// advisory lock named name, and reports whether it did: while another
// instance holds the lock, fn is skipped, so that purges every instance
// schedules at the same moment are done once, not raced by all of them.
// A session lock belongs to one connection: fn must use conn, never the
// pool, and the lock is released (or the connection dropped, which
// releases it) before conn goes back to the pool.
func exclusively(ctx context.Context, pool *pgxpool.Pool, name string, fn func(ctx context.Context, conn *pgxpool.Conn) error) (bool, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, name).Scan(&got); err != nil {
		conn.Release()
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		conn.Release()
		return false, nil
	}
	defer func() {
		// Unlocked even when ctx has ended; a connection that cannot say
		// so is closed, which ends its session and so its lock.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var unlocked bool
		if err := conn.QueryRow(unlockCtx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, name).Scan(&unlocked); err != nil || !unlocked {
			_ = conn.Conn().Close(unlockCtx)
		}
		conn.Release()
	}()
	return true, fn(ctx, conn)
}

// deleteInSlices runs query, a DELETE of at most $1 rows (purgeSlice) with
// further arguments args, until it deletes fewer than purgeSlice, resting
// purgePause between slices; it returns how many rows it deleted.
func deleteInSlices(ctx context.Context, conn *pgxpool.Conn, query string, args ...any) (int64, error) {
	var total int64
	for {
		tag, err := conn.Exec(ctx, query, append([]any{purgeSlice}, args...)...)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeSlice {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(purgePause):
		}
	}
}
