package store

import (
	"context"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/transactions"
)

type eligibilityDecision = eligibility.Decision

// InsertInTx writes a transaction inside tx, which the test commits when it
// chooses: a commit held back while later ones go through.
func InsertInTx(ctx context.Context, tx pgx.Tx, in transactions.Insert) error {
	_, err := insertGroup(ctx, tx, []*insertJob{{in: in}})
	return err
}

// PurgeNow runs the hourly purge of decisions and audit rows.
func (s *Eligibility) PurgeNow(ctx context.Context) { s.purge(ctx) }

// MigrateDownTo rolls the schema back to version, so that a test can write
// data as an older gateway did and then apply the later migrations.
func MigrateDownTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// InTx runs fn in a transaction as the store's writes do.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return inTx(ctx, pool, fn)
}

// PurgeEvery sets how often Run purges; call it before Run.
func (s *Eligibility) PurgeEvery(d time.Duration) { s.purgeEvery = d }

// QueueForTest queues decisions as SaveDecision does while Run runs, and
// FlushOnce writes one batch of them; Queued is how many wait.
func (s *Eligibility) QueueForTest(ds []eligibilityDecision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.pending[d.ID] = d
		s.queue = append(s.queue, d)
	}
}

func (s *Eligibility) FlushOnce(ctx context.Context) { s.flush(ctx) }

func (s *Eligibility) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// MaxFlushBatch is the most decisions one write takes.
const MaxFlushBatch = maxFlushBatch
