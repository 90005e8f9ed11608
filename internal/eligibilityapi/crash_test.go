package eligibilityapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/gateway/gatewaytest"
	"github.com/avis-lv/gateway/internal/store"
)

// TestKilledMidTransactions runs the gateway binary, reports transactions
// over many connections and kills it with SIGKILL while they are in
// flight: some were answered, some committed but not answered, some never
// reached the database. After a restart every report is sent again with
// its key: each gets 201 with the transaction it got before (if it got
// one), and every decision has exactly one transaction.
func TestKilledMidTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway binary")
	}
	t.Parallel()
	const n = 600
	const provider = "40000000077"
	g, pool, secret := gatewaytest.NewProcess(t,
		auth.Client{ID: "crash-till", OrgRegNo: provider, OrgName: "Crash till", Roles: []auth.Role{auth.RoleProvider}},
		"AVIS_SIGNING_KEY_FILE="+filepath.Join(t.TempDir(), "none.key"), "AVIS_SIGNING_REQUIRED=false", "AVIS_UPLOAD_WORKERS=0", "AVIS_LOG_LEVEL=warn")
	ctx := context.Background()
	// The decisions the tills got before the gateway went down.
	decisions := store.NewEligibility(pool, slog.New(slog.DiscardHandler))
	ids := make([]uuid.UUID, n)
	for i := range ids {
		cents := int64(150)
		now := time.Now().UTC().Truncate(time.Microsecond)
		ref := sha256.Sum256([]byte(fmt.Sprint("crash-person-", i)))
		d := eligibility.Decision{ID: uuid.Must(uuid.NewV7()), Provider: provider, PersonRef: ref[:], At: now, CreatedAt: now,
			ExpiresAt: now.Add(30 * time.Minute), WithLines: true, SaleCents: &cents, TotalCents: cents,
			Benefits: []eligibility.Applied{{BenefitID: "ride", Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: eligibility.StatusApplies,
				Priority: 1, Combinable: true, DiscountCents: &cents, MaxCents: &cents}}}
		if err := decisions.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		ids[i] = d.ID
	}

	g.Start()
	token := g.Token("crash-till", secret)

	occurred := time.Now().UTC().Format(time.RFC3339)
	send := func(i int) (int, txAnswer, error) {
		b, _ := json.Marshal(map[string]any{"decisionId": ids[i], "receiptNumber": fmt.Sprint("K-", i), "occurredAt": occurred,
			"totalCents": 150, "benefits": []any{claim("ride", 150)}})
		status, raw, err := g.Try("POST", "/v1/transactions", token, bytes.NewReader(b),
			map[string]string{"Content-Type": "application/json", "Idempotency-Key": fmt.Sprint("crash-key-", i)})
		var a txAnswer
		if err == nil && status == 201 {
			err = json.Unmarshal(raw, &a)
		} else if err == nil {
			err = fmt.Errorf("status %d: %s", status, raw)
		}
		return status, a, err
	}

	// First attempts over 16 connections; SIGKILL once a third are answered.
	first := make([]string, n)
	var answered atomic.Int64
	var next atomic.Int64
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				select {
				case <-killed:
					return
				default:
				}
				if _, a, err := send(i); err == nil {
					first[i] = a.ID
					answered.Add(1)
				}
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for answered.Load() < n/3 {
		if time.Now().After(deadline) {
			close(killed)
			wg.Wait()
			_, _, err := send(0)
			t.Fatalf("only %d of %d reports answered in a minute; a report now: %v", answered.Load(), n, err)
		}
		time.Sleep(time.Millisecond)
	}
	g.Kill()
	close(killed)
	wg.Wait()
	var before int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM transactions`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d reports answered and %d transactions committed", answered.Load(), before)
	if int64(before) < answered.Load() {
		t.Fatalf("%d reports were answered 201 but only %d transactions are in the database", answered.Load(), before)
	}

	// After a restart, every report again with its key.
	g.Start()
	for i := range n {
		status, a, err := send(i)
		if err != nil || status != 201 {
			t.Fatalf("report %d after restart: %v", i, err)
		}
		if first[i] != "" && a.ID != first[i] {
			t.Fatalf("report %d: answered %s before the kill, %s after", i, first[i], a.ID)
		}
	}
	var rows, distinct int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT decision_id) FROM transactions`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n {
		t.Fatalf("%d transactions for %d decisions; want one each for %d", rows, distinct, n)
	}
}
