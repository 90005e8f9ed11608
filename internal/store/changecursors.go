package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/registry"
)

// ChangeCursors keeps where the gateway got to in each registry changes
// feed.
type ChangeCursors struct{ pool *pgxpool.Pool }

// NewChangeCursors returns the cursor storage on pool.
func NewChangeCursors(pool *pgxpool.Pool) *ChangeCursors { return &ChangeCursors{pool: pool} }

// ChangeCursor returns the saved cursor of d, "" when the feed was never
// followed.
func (s *ChangeCursors) ChangeCursor(ctx context.Context, d registry.Dataset) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `SELECT cursor FROM registry_change_cursors WHERE dataset = $1`, string(d)).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read changes cursor of %s: %w", d, err)
	}
	return c, nil
}

// SaveChangeCursor records the cursor of d.
func (s *ChangeCursors) SaveChangeCursor(ctx context.Context, d registry.Dataset, cursor string) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO registry_change_cursors (dataset, cursor) VALUES ($1, $2)
		ON CONFLICT (dataset) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`, string(d), cursor)
	if err != nil {
		return fmt.Errorf("save changes cursor of %s: %w", d, err)
	}
	return nil
}
