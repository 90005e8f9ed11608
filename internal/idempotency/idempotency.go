// Package idempotency makes pushes safe to retry. A push names itself with
// an Idempotency-Key; the gateway keeps, per client and key, a hash of the
// request and the result it gave. The record is written in the same
// PostgreSQL transaction as the work, so after a crash there is either a
// result to replay or no trace at all, never a half-done push. Records are
// kept for a retention (AVIS_IDEMPOTENCY_RETENTION, 30 days by default) and
// then purged by a Purger: a retry after that is a new request.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrKeyReused means the key was used before with a different request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// Request identifies one push: who, which operation, which key, and a hash
// of what was sent.
type Request struct {
	Scope string // e.g. "transactions:<client id>"
	Key   string
	Hash  [32]byte
	// Also are hashes of the same request in forms an earlier release
	// stored, so that a retry across an upgrade still replays.
	Also [][32]byte
}

// HashOf hashes the parts of a request that make it the same request.
func HashOf(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Claim takes the key inside tx. If an earlier push with the same key and
// hash has committed, it decodes that push's result into prior and returns
// true: the caller must replay it and do no work. A concurrent push with the
// same key waits here until the first commits or rolls back.
func Claim(ctx context.Context, tx pgx.Tx, r Request, prior any) (bool, error) {
	var hash, result []byte
	for attempt := 0; ; attempt++ {
		if _, err := tx.Exec(ctx, `
			INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
			ON CONFLICT (scope, key) DO NOTHING`, r.Scope, r.Key, r.Hash[:]); err != nil {
			return false, fmt.Errorf("claim idempotency key: %w", err)
		}
		err := tx.QueryRow(ctx, `
			SELECT request_hash, result FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE`,
			r.Scope, r.Key).Scan(&hash, &result)
		if errors.Is(err, pgx.ErrNoRows) && attempt == 0 {
			// The record existed at the insert and was purged (past its
			// retention) before it was locked: claim the key afresh.
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read idempotency key: %w", err)
		}
		break
	}
	if !r.matches(hash) {
		return false, ErrKeyReused
	}
	if result == nil {
		return false, nil
	}
	if err := json.Unmarshal(result, prior); err != nil {
		return false, fmt.Errorf("decode stored result: %w", err)
	}
	return true, nil
}

func (r Request) matches(hash []byte) bool {
	if string(hash) == string(r.Hash[:]) {
		return true
	}
	for _, h := range r.Also {
		if string(hash) == string(h[:]) {
			return true
		}
	}
	return false
}

// Complete stores the result of the work done under a claimed key, in the
// same transaction.
func Complete(ctx context.Context, tx pgx.Tx, r Request, result any) error {
	doc, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET result = $3 WHERE scope = $1 AND key = $2`, r.Scope, r.Key, doc); err != nil {
		return fmt.Errorf("store idempotency result: %w", err)
	}
	return nil
}

// DefaultRetention is how long a key is remembered when no retention is
// configured: the window in which a retry is answered from its record.
const DefaultRetention = 30 * 24 * time.Hour

// purgeBatch bounds the rows one DELETE removes, so a purge never holds
// many locks or a long transaction.
const purgeBatch = 5000

// Execer runs a statement; a *pgxpool.Pool is one.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Purge deletes the records created before cutoff, at most batch of them,
// oldest first (by the created_at index), and reports how many it deleted.
// Rows another transaction has locked (a retry being answered) are skipped
// this time.
func Purge(ctx context.Context, db Execer, cutoff time.Time, batch int) (int64, error) {
	tag, err := db.Exec(ctx, `
		DELETE FROM idempotency_keys WHERE (scope, key) IN (
			SELECT scope, key FROM idempotency_keys WHERE created_at < $1
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, batch)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Purger deletes records older than the retention, in batches, at start and
// then periodically. Several instances may run one.
type Purger struct {
	db        Execer
	retention time.Duration
	every     time.Duration
	log       *slog.Logger
	now       func() time.Time
}

// NewPurger returns a purger keeping records for retention
// (DefaultRetention when not positive).
func NewPurger(db Execer, retention time.Duration, log *slog.Logger) *Purger {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Purger{db: db, retention: retention, every: min(retention/4, 10*time.Minute), log: log, now: time.Now}
}

// Run purges until ctx ends.
func (p *Purger) Run(ctx context.Context) {
	for {
		p.PurgeNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.every):
		}
	}
}

// PurgeNow deletes every record past the retention, a batch at a time, and
// reports how many it deleted.
func (p *Purger) PurgeNow(ctx context.Context) int64 {
	cutoff := p.now().Add(-p.retention)
	var total int64
	for {
		n, err := Purge(ctx, p.db, cutoff, purgeBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("idempotency keys not purged this round", "error", err)
			}
			break
		}
		if n < purgeBatch {
			break
		}
	}
	if total > 0 {
		p.log.Info("idempotency keys past their retention purged", "keys", total)
	}
	return total
}
