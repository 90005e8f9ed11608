package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/avis-lv/gateway/internal/transactions"
)

// InsertInTx writes a transaction inside tx, which the test commits when it
// chooses: a commit held back while later ones go through.
func InsertInTx(ctx context.Context, tx pgx.Tx, in transactions.Insert) error {
	_, err := insertGroup(ctx, tx, []*insertJob{{in: in}})
	return err
}

// PurgeNow runs the hourly purge of decisions and audit rows.
func (s *Eligibility) PurgeNow(ctx context.Context) { s.purge(ctx) }
