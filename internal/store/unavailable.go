package store

import (
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUnavailable reports whether err means the database could not be
// reached at all, as opposed to a query that failed: the caller may try
// again later, and nothing was done.
func IsUnavailable(err error) bool {
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	// A pooled connection found dead before anything of the query was
	// sent (the server went away): pgx says it is safe to retry. A
	// connection lost mid-query is not: its outcome is unknown.
	if err != nil && pgconn.SafeToRetry(err) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
