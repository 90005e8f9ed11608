package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/problem"
)

// An unreachable database answers 503 with Retry-After, not 500: tills
// retry, and nobody is paged for a defect that is an outage.
func TestDatabaseUnavailableIs503(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/avis?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pool.Exec(context.Background(), "SELECT 1")
	p := databaseUnavailable(fmt.Errorf("save transaction: %w", err))
	if p == nil || p.Kind != problem.Unavailable || p.Headers["Retry-After"] == "" {
		t.Fatalf("connection refused mapped to %+v", p)
	}
	if databaseUnavailable(errors.New("some query failed")) != nil {
		t.Fatal("an ordinary error mapped to 503")
	}
}
