package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/registry"
)

// ChangeCursors keeps where the gateway got to in each registry changes
// feed, and which instance follows it.
type ChangeCursors struct{ pool *pgxpool.Pool }

// NewChangeCursors returns the cursor storage on pool.
func NewChangeCursors(pool *pgxpool.Pool) *ChangeCursors { return &ChangeCursors{pool: pool} }

var _ eligibility.ChangeCursors = (*ChangeCursors)(nil)

// ClaimChangeFeed leases d's feed to holder for lease, unless another
// holder's lease is running, and returns the saved cursor ("" when the
// feed was never followed).
func (s *ChangeCursors) ClaimChangeFeed(ctx context.Context, d registry.Dataset, holder string, lease time.Duration) (string, bool, error) {
	var c string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO registry_change_cursors AS r (dataset, cursor, leased_by, leased_until)
		VALUES ($1, '', $2, now() + $3 * interval '1 microsecond')
		ON CONFLICT (dataset) DO UPDATE SET leased_by = excluded.leased_by, leased_until = excluded.leased_until
		WHERE r.leased_until < now() OR r.leased_by = excluded.leased_by
		RETURNING r.cursor`, string(d), holder, lease.Microseconds()).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("claim changes feed of %s: %w", d, err)
	}
	return c, true, nil
}

// SaveChangeCursor records the cursor of d and extends holder's lease;
// eligibility.ErrFeedLeaseLost if the lease has gone to another holder.
func (s *ChangeCursors) SaveChangeCursor(ctx context.Context, d registry.Dataset, holder, cursor string, lease time.Duration) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE registry_change_cursors
		SET cursor = $3, updated_at = now(), leased_until = now() + $4 * interval '1 microsecond'
		WHERE dataset = $1 AND leased_by = $2`, string(d), holder, cursor, lease.Microseconds())
	if err != nil {
		return fmt.Errorf("save changes cursor of %s: %w", d, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save changes cursor of %s: %w", d, eligibility.ErrFeedLeaseLost)
	}
	return nil
}

// ReleaseChangeFeed ends holder's lease on d, so that another instance
// can take the feed over at once.
func (s *ChangeCursors) ReleaseChangeFeed(ctx context.Context, d registry.Dataset, holder string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE registry_change_cursors SET leased_until = '-infinity'
		WHERE dataset = $1 AND leased_by = $2`, string(d), holder)
	if err != nil {
		return fmt.Errorf("release changes feed of %s: %w", d, err)
	}
	return nil
}
