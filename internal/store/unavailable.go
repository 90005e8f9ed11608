package store

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IsUnavailable reports whether err means the database could not be
// reached at all, as opposed to a query that failed: the caller may try
// again later, and nothing was done.
func IsUnavailable(err error) bool {
	var commit *commitError
	if errors.As(err, &commit) {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	// A pooled connection found dead before anything of the query was
	// sent (the server went away): pgx says it is safe to retry. A
	// connection lost mid-query is not: its outcome is unknown. (pgx also
	// calls a simple-protocol statement lost mid-flight safe to retry;
	// the one where that matters, COMMIT, is marked by commit below.)
	if err != nil && pgconn.SafeToRetry(err) {
		return true
	}
	// The server ended the session (a restart, a fail-over,
	// pg_terminate_backend): its transaction was rolled back, nothing was
	// done. (A COMMIT cut short so is marked by commit, and stays 500.)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03") {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// commitError is a COMMIT that failed: whether it took effect is unknown,
// so it is never "unavailable" (503, repeat safely) but a 500, whatever
// pgx says of retrying it.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// commit commits tx, marking a failure as one of unknown outcome.
func commit(ctx context.Context, tx pgx.Tx) error {
	if err := tx.Commit(ctx); err != nil {
		return &commitError{err: err}
	}
	return nil
}

// inTx runs fn in a transaction on pool and commits it (pgx.BeginFunc,
// with a failed COMMIT marked by commit).
func inTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// After a commit it does nothing. Bounded: a database that stopped
		// answering must not hold the caller (and a connection) for good.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return commit(ctx, tx)
}
