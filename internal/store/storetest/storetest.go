// Package storetest gives each test its own PostgreSQL database and Redis key
// prefix on the real servers, and removes them when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/store"
)

// AdminURL is the database used to create and drop the per-test databases.
func AdminURL() string {
	if u := os.Getenv("AVIS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisAddr is the Redis server the tests use.
func RedisAddr() string {
	if a := os.Getenv("AVIS_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewDatabase creates an empty migrated database and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("connect to PostgreSQL (run scripts/services.sh): %v", err)
	}
	defer admin.Close(context.Background())
	name := "avis_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	cfg, err := pgx.ParseConfig(AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	pool, err := store.Open(ctx, url, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return url
}

// NewPool is NewDatabase plus a pool that is closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := NewDatabase(t)
	pool, err := store.Open(context.Background(), url, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewRedis returns a client and a key prefix private to this test; keys under
// the prefix are deleted when the test ends.
func NewRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("connect to Redis (run scripts/services.sh): %v", err)
	}
	prefix := "avistest:" + randomSuffix() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// OldestTransaction describes the oldest transaction running on the whole
// PostgreSQL server, for the failure message of a test that waited in vain
// for a grantor's listing: the listing shows only what committed before
// every transaction still running began, in any database, so one long
// transaction elsewhere (another test run, a psql session) holds it back.
func OldestTransaction(ctx context.Context, pool *pgxpool.Pool) string {
	var (
		pid              int
		db, state, query string
		started          time.Time
		age              float64
	)
	err := pool.QueryRow(ctx, `
		SELECT pid, coalesce(datname, ''), coalesce(state, ''), xact_start, extract(epoch FROM now() - xact_start)::float8, left(query, 200)
		FROM pg_stat_activity
		WHERE xact_start IS NOT NULL AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) AND pid <> pg_backend_pid()
		ORDER BY xact_start LIMIT 1`).Scan(&pid, &db, &state, &started, &age, &query)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "no other transaction is running on the PostgreSQL server"
	case err != nil:
		return fmt.Sprintf("the oldest running transaction could not be read from pg_stat_activity: %v", err)
	}
	return fmt.Sprintf("the oldest transaction running on the PostgreSQL server began at %s (%s ago; pid %d, database %q, %s: %q), "+
		"and a grantor's listing shows only what committed before it", started.UTC().Format(time.RFC3339Nano), time.Duration(age*float64(time.Second)).Round(time.Millisecond), pid, db, state, query)
}
