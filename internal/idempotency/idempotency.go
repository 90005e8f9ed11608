// Package idempotency makes pushes safe to retry. A push names itself with
// an Idempotency-Key; the gateway keeps, per client and key, a hash of the
// request and the result it gave. The record is written in the same
// PostgreSQL transaction as the work, so after a crash there is either a
// result to replay or no trace at all, never a half-done push.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrKeyReused means the key was used before with a different request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// Request identifies one push: who, which operation, which key, and a hash
// of what was sent.
type Request struct {
	Scope string // e.g. "transactions:<client id>"
	Key   string
	Hash  [32]byte
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
	if _, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
		ON CONFLICT (scope, key) DO NOTHING`, r.Scope, r.Key, r.Hash[:]); err != nil {
		return false, fmt.Errorf("claim idempotency key: %w", err)
	}
	var hash, result []byte
	if err := tx.QueryRow(ctx, `
		SELECT request_hash, result FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE`,
		r.Scope, r.Key).Scan(&hash, &result); err != nil {
		return false, fmt.Errorf("read idempotency key: %w", err)
	}
	if string(hash) != string(r.Hash[:]) {
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
