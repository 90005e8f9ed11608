package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
)

// The gateway purges Idempotency-Key records past AVIS_IDEMPOTENCY_RETENTION
// in the background (which records a purge keeps is tested in
// internal/idempotency).
func TestIdempotencyKeysArePurged(t *testing.T) {
	t.Parallel()
	// A short retention makes the purger come round every quarter second.
	h := gatewaytest.New(t, func(c *config.Config) { c.IdempotencyRetention = time.Second })
	ctx := context.Background()
	if _, err := h.App.Pool.Exec(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at)
		VALUES ('lists:c1', 'key-old', sha256('a'), '{}', now() - interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		var n int
		if err := h.App.Pool.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}
