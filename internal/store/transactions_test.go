package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
	"github.com/avis-lv/gateway/internal/transactions"
)

func newTxStore(t testing.TB) (*store.Transactions, *store.Eligibility, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.NewPool(t)
	el := store.NewEligibility(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return store.NewTransactions(pool, el, nil), el, pool
}

func ref(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func decision(provider, person string, benefits ...eligibility.Applied) eligibility.Decision {
	now := time.Now().UTC()
	return eligibility.Decision{ID: uuid.Must(uuid.NewV7()), Provider: provider, PersonRef: ref(person), At: now, CreatedAt: now,
		ExpiresAt: now.Add(5 * time.Minute), WithLines: true, Benefits: benefits}
}

func applied(id string, cents int64, limit *int64) eligibility.Applied {
	a := eligibility.Applied{BenefitID: id, Version: 1, Grantor: "90000000001", EKKCode: "6421", Status: eligibility.StatusApplies,
		Priority: 1, Combinable: true, DiscountCents: &cents, MaxCents: &cents}
	if limit != nil {
		a.Limit = &benefits.PeriodLimit{AmountCents: *limit, Period: "month"}
	}
	return a
}

func insertFor(d eligibility.Decision, key string, claims ...transactions.Line) transactions.Insert {
	t := transactions.Transaction{ID: uuid.Must(uuid.NewV7()), Status: transactions.StatusAccepted, Provider: d.Provider, DecisionID: d.ID,
		PersonRef: d.PersonRef, ReceiptNumber: "R-" + key, OccurredAt: time.Now().UTC(), AcceptedAt: time.Now().UTC(),
		ReceiptID: uuid.Must(uuid.NewV7()), Benefits: claims}
	content := []byte("<Receipt>" + key + "</Receipt>")
	return transactions.Insert{Transaction: t, IdempotencyKey: key, RequestHash: sha256.Sum256([]byte(key)),
		Receipt: transactions.Receipt{ID: t.ReceiptID, Kind: transactions.KindTransaction, SubjectID: t.ID.String(), Owner: d.Provider,
			AcceptedAt: t.AcceptedAt, Digest: sha256.Sum256(content), Content: content}}
}

func line(id string, cents int64) transactions.Line {
	return transactions.Line{BenefitID: id, Version: 1, Grantor: "90000000001", EKKCode: "6421", DiscountCents: cents}
}

func TestDecisionsBatchedAndRead(t *testing.T) {
	t.Parallel()
	txs, el, _ := newTxStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(10 * time.Millisecond) // Run has started

	d := decision("40000000001", "p1", applied("b", 150, nil))
	if err := el.SaveDecision(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := txs.Decision(ctx, d.ID)
	if err != nil || got.Provider != d.Provider || len(got.Benefits) != 1 || *got.Benefits[0].DiscountCents != 150 {
		t.Fatalf("decision read back: %+v, %v", got, err)
	}
	// After its batch it comes from the database, the same.
	time.Sleep(50 * time.Millisecond)
	got, err = txs.Decision(ctx, d.ID)
	if err != nil || got.ExpiresAt.Unix() != d.ExpiresAt.Unix() || string(got.PersonRef) != string(d.PersonRef) {
		t.Fatalf("decision from the database: %+v, %v", got, err)
	}
	if _, err := txs.Decision(ctx, uuid.New()); !errors.Is(err, transactions.ErrDecisionNotFound) {
		t.Errorf("unknown decision: %v", err)
	}
	// An id no instance can have minted yet is unknown at once: only a
	// young one may still be in another instance's batch.
	for _, ahead := range []time.Duration{20 * time.Second, 50 * time.Second} {
		forged, err := uuid.NewV7FromReader(bytes.NewReader(make([]byte, 64)))
		if err != nil {
			t.Fatal(err)
		}
		ms := uint64(time.Now().Add(ahead).UnixMilli())
		for i := range 6 {
			forged[i] = byte(ms >> (40 - 8*i))
		}
		start := time.Now()
		if _, err := txs.Decision(ctx, forged); !errors.Is(err, transactions.ErrDecisionNotFound) || time.Since(start) > time.Second {
			t.Errorf("decision dated %s ahead: %v after %s", ahead, err, time.Since(start))
		}
	}
	start := time.Now()
	if _, err := txs.Decision(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, transactions.ErrDecisionNotFound) || time.Since(start) > 4*time.Second {
		t.Errorf("a young unknown decision: %v after %s", err, time.Since(start))
	}
}

// grouped starts the group committers for the test's lifetime.
func grouped(t *testing.T, txs *store.Transactions) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { txs.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(10 * time.Millisecond) // Run has started
}

// A decision batch written twice (its first answer lost) is no error and
// no second row.
func TestDecisionWrittenTwice(t *testing.T) {
	t.Parallel()
	_, el, pool := newTxStore(t) // no Run: each decision is written at once
	ctx := context.Background()
	d := decision("40000000001", "twice", applied("b", 150, nil))
	for range 2 {
		if err := el.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_decisions WHERE id = $1`, d.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows: %d, %v", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_audit WHERE decision_id = $1`, d.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit rows: %d, %v", n, err)
	}
}

// Every check is audited, batched with its decision: who asked about the
// person, when, and how many benefits applied or were unknown, never
// which. The audit outlives the decisions and is purged after its own
// retention.
func TestChecksAudited(t *testing.T) {
	t.Parallel()
	_, el, pool := newTxStore(t)
	el.KeepAuditFor(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(10 * time.Millisecond) // Run has started

	unknown := applied("u", 0, nil)
	unknown.Status = eligibility.StatusUnknown
	first := decision("40000000001", "audited", applied("b", 150, nil), unknown)
	second := decision("40000000002", "audited", applied("b", 150, nil))
	other := decision("40000000001", "someone else")
	for _, d := range []eligibility.Decision{first, second, other} {
		if err := el.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var checks []store.AuditedCheck
	for deadline := time.Now().Add(5 * time.Second); len(checks) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if checks, err = el.ChecksOf(ctx, ref("audited"), time.Time{}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(checks) != 2 || checks[0].DecisionID != first.ID || checks[0].Provider != "40000000001" ||
		checks[0].Applied != 1 || checks[0].Unknown != 1 || checks[1].Provider != "40000000002" {
		t.Fatalf("audited checks: %+v", checks)
	}
	// The decisions go after an hour; the audit stays until its retention.
	if _, err := pool.Exec(ctx, `DELETE FROM eligibility_decisions`); err != nil {
		t.Fatal(err)
	}
	if checks, _ := el.ChecksOf(ctx, ref("audited"), time.Time{}, 10); len(checks) != 2 {
		t.Fatalf("after the decisions were purged: %+v", checks)
	}
	// A check from two hours ago (its UUIDv7 says when) is past the
	// retention of an hour.
	old := decision("40000000003", "audited")
	ms := uint64(time.Now().Add(-2 * time.Hour).UnixMilli())
	old.ID[0], old.ID[1], old.ID[2], old.ID[3], old.ID[4], old.ID[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	old.CreatedAt = time.Now().Add(-2 * time.Hour)
	if err := el.SaveDecision(ctx, old); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if checks, _ := el.ChecksOf(ctx, ref("audited"), time.Time{}, 10); len(checks) == 3 {
			break
		}
	}
	el.PurgeNow(ctx)
	if checks, _ := el.ChecksOf(ctx, ref("audited"), time.Time{}, 10); len(checks) != 2 || checks[0].DecisionID != first.ID {
		t.Errorf("after the retention: %+v", checks)
	}
}

func TestInsertIdempotentAndOnce(t *testing.T) {
	t.Parallel()
	for _, group := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "group-commit"}[group], func(t *testing.T) {
			t.Parallel()
			txs, el, _ := newTxStore(t)
			if group {
				grouped(t, txs)
			}
			testInsertIdempotentAndOnce(t, txs, el)
		})
	}
}

func testInsertIdempotentAndOnce(t *testing.T, txs *store.Transactions, el *store.Eligibility) {
	ctx := context.Background()
	d := decision("40000000001", "p2", applied("b", 150, nil))
	if err := el.SaveDecision(ctx, d); err != nil {
		t.Fatal(err)
	}
	in := insertFor(d, "key-1", line("b", 150))
	first, replay, err := txs.Insert(ctx, in)
	if err != nil || replay || first.Seq == 0 {
		t.Fatalf("insert: %+v %v %v", first, replay, err)
	}
	// The same key and hash, even with new ids: the stored one comes back.
	again := insertFor(d, "key-1", line("b", 150))
	got, replay, err := txs.Insert(ctx, again)
	if err != nil || !replay || got.ID != first.ID || got.ReceiptID != first.ReceiptID || len(got.Benefits) != 1 {
		t.Fatalf("replay: %+v %v %v", got, replay, err)
	}
	// The same key with another body.
	other := insertFor(d, "key-1", line("b", 100))
	other.RequestHash = sha256.Sum256([]byte("other"))
	if _, _, err := txs.Insert(ctx, other); !errors.Is(err, transactions.ErrKeyReused) {
		t.Errorf("reused key: %v", err)
	}
	// Another key for the same decision.
	if _, _, err := txs.Insert(ctx, insertFor(d, "key-2", line("b", 150))); !errors.Is(err, transactions.ErrDecisionUsed) {
		t.Errorf("decision used twice: %v", err)
	}
	// Racing retries make exactly one transaction.
	d2 := decision("40000000001", "p2", applied("b", 150, nil))
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 10)
	for i := range ids {
		wg.Go(func() {
			tr, _, err := txs.Insert(ctx, insertFor(d2, "race", line("b", 150)))
			if err != nil {
				t.Error(err)
			}
			ids[i] = tr.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing retries made different transactions: %v", ids)
		}
	}
}

// TestGroupCommitOutcomes sends many reports at once, so that they share
// group commits with their own retries and with reports of used decisions:
// each is answered for itself, and only first reports make rows.
func TestGroupCommitOutcomes(t *testing.T) {
	t.Parallel()
	txs, el, pool := newTxStore(t)
	grouped(t, txs)
	ctx := context.Background()
	const n = 300
	ds := make([]eligibility.Decision, n)
	for i := range ds {
		ds[i] = decision("40000000001", fmt.Sprint("g", i), applied("b", 150, nil))
		if err := el.SaveDecision(ctx, ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	type outcome struct {
		id     uuid.UUID
		replay bool
		err    error
	}
	first, retry, thief := make([]outcome, n), make([]outcome, n), make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		key := fmt.Sprint("k", i)
		wg.Go(func() {
			tr, replay, err := txs.Insert(ctx, insertFor(ds[i], key, line("b", 150)))
			first[i] = outcome{tr.ID, replay, err}
		})
		wg.Go(func() { // the same report again, new ids: one of the two wins
			tr, replay, err := txs.Insert(ctx, insertFor(ds[i], key, line("b", 150)))
			retry[i] = outcome{tr.ID, replay, err}
		})
		wg.Go(func() { // another key for the same decision
			_, _, err := txs.Insert(ctx, insertFor(ds[i], "other-"+key, line("b", 150)))
			thief[i] = outcome{err: err}
		})
	}
	wg.Wait()
	for i := range n {
		a, b, c := first[i], retry[i], thief[i]
		if a.err != nil || b.err != nil || a.id != b.id || a.replay == b.replay {
			// Unless the other key took the decision first.
			if errors.Is(a.err, transactions.ErrDecisionUsed) && errors.Is(b.err, transactions.ErrDecisionUsed) && c.err == nil {
				continue
			}
			t.Fatalf("report %d: first %+v, retry %+v", i, a, b)
		}
		if !errors.Is(c.err, transactions.ErrDecisionUsed) {
			t.Fatalf("report %d with another key: %v", i, c.err)
		}
	}
	var rows, lines, receipts int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM transaction_benefits),
		(SELECT count(*) FROM receipts)`).Scan(&rows, &lines, &receipts); err != nil {
		t.Fatal(err)
	}
	if rows != n || lines != n || receipts != n {
		t.Errorf("rows: %d transactions, %d lines, %d receipts; want %d each", rows, lines, receipts, n)
	}
}

func TestPerPersonLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	txs, el, _ := newTxStore(t)
	ctx := context.Background()
	limit := int64(500)
	from := time.Now().Add(-time.Hour)
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			d := decision("40000000001", "limited", applied("meal", 200, &limit))
			if err := el.SaveDecision(ctx, d); err != nil {
				t.Error(err)
				return
			}
			l := line("meal", 200)
			l.Limited = true
			in := insertFor(d, fmt.Sprintf("lim-%d", i), l)
			in.Limits = []transactions.LimitCheck{{BenefitID: "meal", From: from, To: time.Now().Add(time.Hour), LimitCents: limit, ClaimedCents: 200}}
			_, _, err := txs.Insert(ctx, in)
			var le *transactions.LimitError
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.As(err, &le):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// 500 cents allow two claims of 200: never three, whatever the timing.
	if accepted.Load() != 2 || refused.Load() != 6 {
		t.Errorf("%d accepted, %d refused; want 2 and 6", accepted.Load(), refused.Load())
	}
	sum, err := el.Spent(ctx, ref("limited"), []eligibility.SpendQuery{{BenefitID: "meal", From: from, To: time.Now().Add(time.Hour)}})
	if err != nil || sum["meal"] != 400 {
		t.Errorf("spent = %v, %v; want 400", sum, err)
	}
}

func TestReverseListSpendReceipts(t *testing.T) {
	t.Parallel()
	txs, el, pool := newTxStore(t)
	ctx := context.Background()
	var made []transactions.Transaction
	for i := range 3 {
		d := decision("40000000001", "p3", applied("b", 100, nil))
		if err := el.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		tr, _, err := txs.Insert(ctx, insertFor(d, fmt.Sprintf("k-%d", i), line("b", 100)))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, tr)
	}
	loc := time.UTC
	page, err := listSettled(t, txs, pool, "90000000001", transactions.Position{}, 2)
	if err != nil || len(page) != 2 || page[0].ID != made[0].ID || page[1].ID != made[1].ID {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = listSettled(t, txs, pool, "90000000001", page[1].Position, 1)
	if err != nil || len(page) != 1 || page[0].ID != made[2].ID {
		t.Fatalf("second page: %+v %v", page, err)
	}
	if page, _ := txs.ListForGrantor(ctx, "90000000002", transactions.Filter{}, loc, transactions.Position{}, 10); len(page) != 0 {
		t.Errorf("another grantor sees %d transactions", len(page))
	}

	rec := transactions.Receipt{ID: uuid.Must(uuid.NewV7()), Kind: transactions.KindReversal, SubjectID: made[0].ID.String(), Owner: made[0].Provider,
		AcceptedAt: time.Now().UTC(), Content: []byte("<Receipt/>")}
	ok, err := txs.Reverse(ctx, made[0].ID, "rev-1", "till error", time.Now().UTC(), rec)
	if err != nil || !ok {
		t.Fatalf("reverse: %v %v", ok, err)
	}
	if ok, _ := txs.Reverse(ctx, made[0].ID, "rev-2", "", time.Now().UTC(), rec); ok {
		t.Error("a transaction was reversed twice")
	}
	got, err := txs.Get(ctx, made[0].ID)
	if err != nil || got.Status != transactions.StatusReversed || got.ReversalKey != "rev-1" || got.ReversalReason != "till error" || got.ReversalReceiptID == nil {
		t.Fatalf("reversed: %+v %v", got, err)
	}
	groups, err := txs.Spend(ctx, "90000000001", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "benefit")
	if err != nil || len(groups) != 1 || groups[0].Transactions != 2 || groups[0].DiscountCents != 200 {
		t.Fatalf("spend: %+v %v", groups, err)
	}

	all := func() []transactions.Receipt {
		t.Helper()
		rs, _, err := txs.UnsignedReceipts(ctx, uuid.UUID{}, uuid.Max, 100)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if n := len(all()); n != 4 {
		t.Fatalf("%d unsigned receipts, want 4 (3 transactions, 1 reversal)", n)
	}
	der := []byte("not really DER")
	if err := txs.RegisterCertificate(ctx, der); err != nil {
		t.Fatal(err)
	}
	cert := sha256.Sum256(der)
	if err := txs.SaveSignatures(ctx, cert, map[uuid.UUID][]byte{made[1].ReceiptID: []byte("first")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := txs.SaveSignatures(ctx, cert, map[uuid.UUID][]byte{made[1].ReceiptID: []byte("second")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(all()); n != 3 {
		t.Errorf("%d unsigned receipts after one was signed, want 3", n)
	}
	rs, last, err := txs.UnsignedReceipts(ctx, made[0].ReceiptID, uuid.Max, 1)
	if err != nil || last != made[1].ReceiptID || len(rs) != 0 {
		t.Errorf("walking on from the first receipt: %d unsigned, last %s, %v", len(rs), last, err)
	}
	// The stored certificate is not a certificate: reading says so rather
	// than answering a signature nobody can check.
	if _, err := txs.Receipt(ctx, made[1].ReceiptID); err == nil {
		t.Error("a signature with an unreadable certificate was returned")
	}
	r, err := txs.Receipt(ctx, made[2].ReceiptID)
	if err != nil || r.Signature != nil || r.Owner != made[2].Provider || r.Digest == ([32]byte{}) {
		t.Errorf("unsigned receipt: %+v %v", r, err)
	}
}

// BenchmarkInsert measures recording transactions with their receipts, as
// the transactions benchmark does, without HTTP.
func BenchmarkInsert(b *testing.B) {
	txs, el, _ := newTxStore(b)
	ctx := context.Background()
	ds := make([]eligibility.Decision, b.N)
	for i := range ds {
		ds[i] = decision("40000000001", fmt.Sprint(i%1000), applied("b", 150, nil))
		if err := el.SaveDecision(ctx, ds[i]); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if _, err := txs.Decision(ctx, ds[i].ID); err != nil {
				b.Fatal(err)
			}
			if _, _, err := txs.Insert(ctx, insertFor(ds[i], fmt.Sprintf("bench-%d", i), line("b", 150))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The in-memory ring of written decisions grows as checks come; every
// decision is still found as itself after it grew.
func TestRecentDecisionsGrow(t *testing.T) {
	t.Parallel()
	txs, el, _ := newTxStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(10 * time.Millisecond) // Run has started
	ds := make([]eligibility.Decision, 5000)
	for i := range ds {
		ds[i] = decision("40000000001", fmt.Sprint("grow-", i), applied("b", int64(i), nil))
		if err := el.SaveDecision(ctx, ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the batches are written
	for i, d := range ds {
		got, err := txs.Decision(ctx, d.ID)
		if err != nil || got.ID != d.ID || *got.Benefits[0].DiscountCents != int64(i) {
			t.Fatalf("decision %d: %v %+v", i, err, got)
		}
	}
}

// listSettled lists a grantor's transactions once n of them are there: a
// page holds only what committed before the oldest database transaction
// still running on the whole server, and parallel tests keep some running.
// After 10 s it fails the test naming the oldest one.
func listSettled(t *testing.T, txs *store.Transactions, pool *pgxpool.Pool, grantor string, after transactions.Position, n int) ([]transactions.Transaction, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := txs.ListForGrantor(context.Background(), grantor, transactions.Filter{}, time.UTC, after, n)
		if err != nil || len(page) >= n {
			return page, err
		}
		if time.Now().After(deadline) {
			t.Errorf("after 10 s the listing holds %d transactions, want %d; %s", len(page), n, storetest.OldestTransaction(context.Background(), pool))
			return page, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A transaction whose commit is held back while later ones commit is not
// skipped by a grantor paging meanwhile: the later ones wait for it.
func TestListingWaitsForEarlierCommits(t *testing.T) {
	t.Parallel()
	txs, el, pool := newTxStore(t)
	ctx := context.Background()
	mk := func(key string) transactions.Insert {
		d := decision("40000000001", "p-"+key, applied("b", 100, nil))
		if err := el.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		return insertFor(d, key, line("b", 100))
	}
	held, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(ctx)
	early := mk("early")
	if err := store.InsertInTx(ctx, held, early); err != nil {
		t.Fatal(err)
	}
	later, _, err := txs.Insert(ctx, mk("later"))
	if err != nil {
		t.Fatal(err)
	}
	if page, err := txs.ListForGrantor(ctx, "90000000001", transactions.Filter{}, time.UTC, transactions.Position{}, 10); err != nil || len(page) != 0 {
		t.Fatalf("while an earlier transaction is uncommitted the listing shows %d (%v)", len(page), err)
	}
	if err := held.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := listSettled(t, txs, pool, "90000000001", transactions.Position{}, 2)
	if err != nil || len(page) != 2 || page[0].ID != early.Transaction.ID || page[1].ID != later.ID {
		t.Fatalf("after the commit: %+v %v", page, err)
	}
	if more, err := txs.ListForGrantor(ctx, "90000000001", transactions.Filter{}, time.UTC, page[1].Position, 10); err != nil || len(more) != 0 {
		t.Errorf("after the last: %d more (%v)", len(more), err)
	}
	// A cursor of the seq-ordered listing (a seq alone) goes on from that
	// transaction's place in the commit order.
	legacy, err := txs.ListForGrantor(ctx, "90000000001", transactions.Filter{}, time.UTC, transactions.Position{Seq: page[0].Seq}, 10)
	if err != nil || len(legacy) != 1 || legacy[0].ID != later.ID {
		t.Errorf("after a seq-only cursor: %+v %v", legacy, err)
	}
}

// A database error at shutdown does not lose the decisions still queued:
// the last flush tries again until it can write them.
func TestDecisionsWrittenDespiteFailureAtShutdown(t *testing.T) {
	t.Parallel()
	_, el, pool := newTxStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	time.Sleep(10 * time.Millisecond) // Run has started

	if _, err := pool.Exec(context.Background(), `ALTER TABLE eligibility_decisions RENAME TO eligibility_decisions_away`); err != nil {
		t.Fatal(err)
	}
	d := decision("40000000001", "p1", applied("b", 150, nil))
	if err := el.SaveDecision(ctx, d); err != nil {
		t.Fatal(err)
	}
	cancel() // shutdown while the table is away, for longer than a few failed flushes take
	time.Sleep(1500 * time.Millisecond)
	if _, err := pool.Exec(context.Background(), `ALTER TABLE eligibility_decisions_away RENAME TO eligibility_decisions`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not end")
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM eligibility_decisions WHERE id = $1`, d.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("decision rows after shutdown: %d, %v", n, err)
	}
}
