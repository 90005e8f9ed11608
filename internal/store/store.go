// Package store owns the PostgreSQL core store: the connection pool, the
// embedded migrations and the queries of each domain package's storage
// interface.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNotFound is returned by lookups that find no row.
var ErrNotFound = errors.New("not found")

const (
	idleInTxParam   = "idle_in_transaction_session_timeout"
	idleInTxTimeout = "60s"
	connectTimeout  = 5 * time.Second
)

// Open connects a pool to the database at dsn and checks that it answers.
func Open(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	// With the simple protocol pgx calls a statement lost in flight safe
	// to retry although it may have been committed, and IsUnavailable
	// would answer 503 "repeat safely" for it; and it (like exec mode)
	// sends parameters as text for the server to guess, which JSON held
	// in []byte does not survive. Behind a pooler that wants no named
	// prepared statements, describe-exec mode uses unnamed ones by the
	// extended protocol, with the parameters' types known.
	switch cfg.ConnConfig.DefaultQueryExecMode {
	case pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec:
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	}
	// A safety net under every transaction: one left open and idle (a bug
	// that waits on a client, or on anything but the database, between two
	// statements) holds a pooled connection and the xmin horizon that the
	// grantors' transaction listing waits for (tx_xid < pg_snapshot_xmin),
	// so it stalls every listing and, a few at a time, starves the pool.
	// PostgreSQL ends such a session after this long. No transaction of the
	// gateway pauses between its statements for anything like it: an upload
	// is spooled to disk before its transaction begins; a worker's COPY and
	// a version's publishing (CREATE TABLE AS, ADD PRIMARY KEY) are active
	// however long they take, as is a statement waiting for a lock; a
	// worker rolls back before it reads on past a bad row; migrations hold
	// a session lock, not a transaction, while they wait for each other,
	// and build indexes CONCURRENTLY outside a transaction. The database
	// URL may set another value (idle_in_transaction_session_timeout=...,
	// 0 for none).
	// A value given in options (-c idle_in_transaction_session_timeout=…)
	// counts as set: a startup parameter would override it.
	if _, set := cfg.ConnConfig.RuntimeParams[idleInTxParam]; !set && !strings.Contains(cfg.ConnConfig.RuntimeParams["options"], idleInTxParam) {
		cfg.ConnConfig.RuntimeParams[idleInTxParam] = idleInTxTimeout
	}
	// A database that takes the connection and never answers (a hung
	// failover, a frozen primary) must fail the connect, not hold it: the
	// request waiting on it is answered 503 and the start-up reports it.
	// connect_timeout in the URL sets another value.
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return pool, nil
}

// Migrate applies every pending migration. It holds a PostgreSQL advisory
// lock while it works, so gateway instances starting together apply each
// migration exactly once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrateDB(ctx, db, log)
}

func migrateDB(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Instances starting together wait for the first one's migrations;
	// asking every second (goose's default is every 5) lets them start as
	// soon as it is done. Up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
