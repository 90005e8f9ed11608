package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

const listGrantor = "90000000001"

func newLists(t *testing.T) (*store.Lists, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.NewPool(t)
	clients := store.NewClients(pool)
	for _, org := range []string{"90000000001", "90000000002"} {
		if err := clients.AddClient(context.Background(), auth.Client{ID: "c-" + org, OrgRegNo: org, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
			t.Fatal(err)
		}
	}
	return store.NewLists(pool), pool
}

type rangeSource struct {
	from, to, i int64
	validFrom   time.Time
}

func (r *rangeSource) Next() bool { r.i++; return r.from+r.i-1 < r.to }
func (r *rangeSource) Member() lists.Member {
	return lists.Member{Code: r.from + r.i - 1, ValidFrom: r.validFrom}
}
func (r *rangeSource) Err() error { return nil }

// codesRange yields the codes from..to-1 (any 11-digit numbers will do for
// storage; they are validated before they reach it).
func codesRange(from, to int64) *rangeSource {
	return &rangeSource{from: from, to: to, validFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func apply(t *testing.T, st *store.Lists, list string, mode lists.Mode, src lists.MemberSource) lists.List {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	l, err := tx.LockList(ctx, list, listGrantor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.WriteMembers(ctx, mode, src); err != nil {
		t.Fatal(err)
	}
	nl, err := tx.Publish(ctx, l, lists.VersionMeta{Mode: mode, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return nl
}

func TestListVersionsAndMembership(t *testing.T) {
	t.Parallel()
	st, pool := newLists(t)
	ctx := context.Background()
	code := personcode.MustParse("320000-00005")
	n := lists.CodeNumber(code)
	if v, err := st.CurrentVersion(ctx, "l"); err != nil || v != 0 {
		t.Fatalf("unknown list: %d %v", v, err)
	}
	if ok, v, err := st.IsMember(ctx, "l", code, time.Now()); ok || v != 0 || err != nil {
		t.Fatalf("unknown list member: %v %d %v", ok, v, err)
	}
	l := apply(t, st, "l", lists.ModeReplace, &sliceMembers{ms: []lists.Member{
		{Code: n, ValidFrom: day(2026, 1, 1), ValidTo: day(2026, 6, 30)},
		{Code: n + 1},
		{Code: n + 2, ValidFrom: day(1995, 6, 15), ValidTo: day(2199, 12, 31)},
	}})
	if l.Version != 1 || l.Size != 3 || l.Added != 3 {
		t.Fatalf("%+v", l)
	}
	for _, tc := range []struct {
		day  time.Time
		want bool
	}{
		{day(2025, 12, 31), false},
		{day(2026, 1, 1), true},
		{time.Date(2026, 6, 30, 23, 59, 0, 0, time.UTC), true},
		{day(2026, 7, 1), false},
	} {
		ok, v, err := st.IsMember(ctx, "l", code, tc.day)
		if err != nil || ok != tc.want || v != 1 {
			t.Errorf("%s: %v v%d %v, want %v", tc.day, ok, v, err, tc.want)
		}
	}
	if ok, _, _ := st.IsMember(ctx, "l", lists.FormatCode(n+1), day(1999, 1, 1)); !ok {
		t.Error("open-ended member not found")
	}
	if m, found, _, err := st.Membership(ctx, "l", lists.FormatCode(n+2)); !found || err != nil ||
		!m.ValidFrom.Equal(day(1995, 6, 15)) || !m.ValidTo.Equal(day(2199, 12, 31)) {
		t.Errorf("dates far from 2000 do not survive the binary copy: %+v %v %v", m, found, err)
	}
	if m, found, v, err := st.Membership(ctx, "l", code); !found || v != 1 || err != nil || !m.ValidTo.Equal(day(2026, 6, 30)) {
		t.Errorf("membership %+v %v %d %v", m, found, v, err)
	}
	l = apply(t, st, "l", lists.ModeRemove, &sliceMembers{ms: []lists.Member{{Code: n}}})
	if l.Version != 2 || l.Size != 2 || l.Removed != 1 || l.PreviousVersion != 1 {
		t.Fatalf("%+v", l)
	}
	if ok, v, _ := st.IsMember(ctx, "l", code, day(2026, 2, 1)); ok || v != 2 {
		t.Fatalf("removed member still there (v%d)", v)
	}
	if got, _ := st.List(ctx, "l"); got.Version != 2 || got.Size != 2 || got.Removed != 1 {
		t.Fatalf("%+v", got)
	}
	// Versions are kept for audit: both sets are still stored.
	var sets int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM person_list_versions WHERE list_id = 'l'`).Scan(&sets); err != nil || sets != 2 {
		t.Fatalf("versions kept: %d %v", sets, err)
	}
}

func day(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

type sliceMembers struct {
	ms []lists.Member
	i  int
}

func (s *sliceMembers) Next() bool           { s.i++; return s.i <= len(s.ms) }
func (s *sliceMembers) Member() lists.Member { return s.ms[s.i-1] }
func (s *sliceMembers) Err() error           { return nil }

func TestListOwnership(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	apply(t, st, "owned", lists.ModeReplace, codesRange(1, 3))
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.LockList(ctx, "owned", "90000000002"); !errors.Is(err, lists.ErrNotOwner) {
		t.Fatalf("another grantor locked the list: %v", err)
	}
	utx, err := st.BeginUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer utx.Rollback(ctx)
	if err := utx.EnsureList(ctx, "owned", "90000000002"); !errors.Is(err, lists.ErrNotOwner) {
		t.Fatalf("another grantor uploads to the list: %v", err)
	}
}

// TestApplyIsAtomic replaces a list back and forth between two disjoint
// sets while readers count, in one statement, how many members of each set
// the current version holds: they must see all of one and none of the
// other, never a mixture.
func TestApplyIsAtomic(t *testing.T) {
	t.Parallel()
	st, pool := newLists(t)
	ctx := context.Background()
	const n = 20000
	apply(t, st, "atomic", lists.ModeReplace, codesRange(32_000_000_000, 32_000_000_000+n))
	ctx, cancel := context.WithCancel(ctx)
	var reads, bad atomic.Int64
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range 3 {
		wg.Go(func() {
			for ctx.Err() == nil {
				a, b, err := countCurrent(ctx, pool, "atomic", 32000100000)
				if err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				reads.Add(1)
				if !(a == n && b == 0) && !(a == 0 && b == n) {
					bad.Add(1)
					t.Errorf("mixture: %d old and %d new members", a, b)
				}
			}
		})
	}
	for i := range 6 {
		from := int64(32_000_000_000)
		if i%2 == 0 {
			from = 32_000_100_000
		}
		apply(t, st, "atomic", lists.ModeReplace, codesRange(from, from+n))
	}
	cancel()
	wg.Wait()
	if reads.Load() < 6 {
		t.Fatalf("only %d reads overlapped the writes", reads.Load())
	}
	if l, _ := st.List(context.Background(), "atomic"); l.Version != 7 || l.Size != n {
		t.Fatalf("%+v", l)
	}
}

// newUpload stores an upload as the HTTP handler does.
func newUpload(t *testing.T, st *store.Lists, list string, file []byte) uuid.UUID {
	t.Helper()
	return newUploadAt(t, st, list, file, time.Now())
}

// newUploadAt stores an upload whose accepting instance's clock said at.
func newUploadAt(t *testing.T, st *store.Lists, list string, file []byte, at time.Time) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	tx, err := st.BeginUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := tx.EnsureList(ctx, list, listGrantor); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	// Tiny chunks, so that reading crosses them.
	if n, err := tx.WriteFile(ctx, id, bytes.NewReader(file), 4); err != nil || n != int64(len(file)) {
		t.Fatalf("stored %d of %d bytes: %v", n, len(file), err)
	}
	if err := tx.Insert(ctx, lists.Upload{
		ID: id, ListID: list, Grantor: listGrantor, CreatedBy: "c-" + listGrantor, Status: lists.StatusQueued,
		Format: listfile.FormatCSV, Policy: lists.PolicyAllOrNothing, Mode: lists.ModeReplace,
		Bytes: int64(len(file)), CreatedAt: at,
	}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUploadFileRoundTrip(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	file := []byte("person_code,valid_from,valid_to\n320000-00001,2026-01-01,\n")
	id := newUpload(t, st, "files", file)
	r, err := st.OpenFile(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != string(file) {
		t.Fatalf("%q %v", got, err)
	}
}

// Two workers ask for work at the same moment: exactly one gets the upload.
func TestLeaseTwoWorkersOneUpload(t *testing.T) {
	t.Parallel()
	st, pool := newLists(t)
	ctx := context.Background()
	id := newUpload(t, st, "lease", []byte("x"))
	for round := range 5 {
		var got atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range 2 {
			wg.Go(func() {
				<-start
				u, ok, err := st.Lease(ctx, fmt.Sprintf("worker-%d-%d", round, w), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					got.Add(1)
					if u.ID != id || u.Status != lists.StatusProcessing || u.Attempts != 1 {
						t.Errorf("%+v", u)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if got.Load() != 1 {
			t.Fatalf("round %d: %d workers got the upload", round, got.Load())
		}
		// Put it back for the next round.
		if _, err := pool.Exec(ctx, `UPDATE list_uploads SET status = 'queued', attempts = 0, lease_owner = NULL WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
}

// A worker that stops renewing loses the upload to another after the lease;
// its late writes are refused.
func TestLeaseExpiryAndFencing(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	id := newUpload(t, st, "expiry", []byte("x"))
	if _, ok, err := st.Lease(ctx, "dead", 200*time.Millisecond); !ok || err != nil {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	if _, ok, _ := st.Lease(ctx, "other", time.Minute); ok {
		t.Fatal("leased while the first lease is live")
	}
	if err := st.Heartbeat(ctx, id, "dead", lists.Progress{RowsRead: 5}, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	u, ok, err := st.Lease(ctx, "other", time.Minute)
	if !ok || err != nil || u.Attempts != 2 || u.RowsRead != 0 {
		t.Fatalf("takeover: %v %v %+v", ok, err, u)
	}
	if err := st.Heartbeat(ctx, id, "dead", lists.Progress{}, time.Minute); !errors.Is(err, lists.ErrLeaseLost) {
		t.Fatalf("stale heartbeat: %v", err)
	}
	if err := st.Finish(ctx, id, "dead", lists.Outcome{Status: lists.StatusFailed}); !errors.Is(err, lists.ErrLeaseLost) {
		t.Fatalf("stale finish: %v", err)
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.FinishUpload(ctx, id, "dead", lists.Outcome{Status: lists.StatusApplied}); !errors.Is(err, lists.ErrLeaseLost) {
		t.Fatalf("stale apply: %v", err)
	}
	tx.Rollback(ctx)
	issues := []lists.Issue{{Seq: 1, Row: 3, Column: "person_code", Code: "person_code.length", Value: "'=1+1"}, {Seq: 2, Fatal: true, Code: "line.too_long", Value: "64 KiB"}}
	if err := st.Finish(ctx, id, "other", lists.Outcome{Status: lists.StatusRejected, RowsTotal: 3, BytesRead: 1, InvalidRows: 1,
		Failure: &lists.Failure{Code: "line.too_long", Row: 4, Detail: "64 KiB"}, Issues: issues}); err != nil {
		t.Fatal(err)
	}
	u, err = st.Upload(ctx, id)
	if err != nil || u.Status != lists.StatusRejected || u.Failure == nil || u.Failure.Row != 4 || *u.RowsTotal != 3 || u.RowsRead != 3 || u.BytesRead != 1 || u.FinishedAt == nil {
		t.Fatalf("%+v %v", u, err)
	}
	got, err := st.Issues(ctx, id, 1, 10)
	if err != nil || len(got) != 1 || !got[0].Fatal || got[0].Value != "64 KiB" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, ok, _ := st.Lease(ctx, "third", time.Minute); ok {
		t.Fatal("a finished upload was leased again")
	}
	r, _ := st.OpenFile(ctx, id)
	if b, err := io.ReadAll(r); len(b) != 0 || err != nil {
		t.Fatalf("the file outlived its upload: %d bytes, %v", len(b), err)
	}
}

// A graceful release (shutdown) gives back the attempt its lease counted;
// a release after a failure does not.
func TestGracefulReleaseGivesTheAttemptBack(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	id := newUpload(t, st, "deploys", []byte("x"))
	for round := range 5 {
		u, ok, err := st.Lease(ctx, fmt.Sprintf("w%d", round), time.Minute)
		if !ok || err != nil || u.ID != id || u.Attempts != 1 {
			t.Fatalf("round %d: %v %v %+v", round, ok, err, u)
		}
		if err := st.Release(ctx, id, fmt.Sprintf("w%d", round), 0, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := st.Lease(ctx, "failing", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := st.Release(ctx, id, "failing", 0, false); err != nil {
		t.Fatal(err)
	}
	if u, ok, err := st.Lease(ctx, "next", time.Minute); !ok || err != nil || u.Attempts != 2 {
		t.Fatalf("after a failed attempt: %v %v %+v", ok, err, u)
	}
}

// Uploads that finished more than the retention ago are deleted with their
// error reports, a slice at a time; younger and unfinished ones stay; while
// another instance purges, a purge skips its round.
func TestPurgeUploadReports(t *testing.T) {
	t.Parallel()
	st, pool := newLists(t)
	ctx := context.Background()
	finish := func(list string, finishedAgo time.Duration, issues int) uuid.UUID {
		t.Helper()
		id := newUpload(t, st, list, []byte("x"))
		if _, ok, err := st.Lease(ctx, "w", time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
		o := lists.Outcome{Status: lists.StatusRejected, Failure: &lists.Failure{Code: "upload.invalid_rows"}}
		for i := range issues {
			o.Issues = append(o.Issues, lists.Issue{Seq: i + 1, Row: i + 2, Column: "person_code", Code: "person_code.invalid_checksum", Value: "320000-00002"})
		}
		if err := st.Finish(ctx, id, "w", o); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE list_uploads SET finished_at = now() - $2 * interval '1 second' WHERE id = $1`, id, finishedAgo.Seconds()); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// More error rows than one slice deletes.
	old := finish("old", 100*24*time.Hour, 7000)
	old2 := finish("old2", 91*24*time.Hour, 3)
	young := finish("young", 80*24*time.Hour, 2)
	queued := newUpload(t, st, "queued", []byte("x"))
	if _, err := pool.Exec(ctx, `UPDATE list_uploads SET created_at = now() - interval '200 days' WHERE id = $1`, queued); err != nil {
		t.Fatal(err)
	}
	count := func(q string) (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('avis-purge:upload-reports', 0))`); err != nil {
		t.Fatal(err)
	}
	if n, ran, err := st.PurgeUploadReports(ctx, 90*24*time.Hour); n != 0 || ran || err != nil {
		t.Fatalf("purged while another instance holds the lock: %d %v %v", n, ran, err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}
	holder.Release()

	n, ran, err := st.PurgeUploadReports(ctx, 90*24*time.Hour)
	if n != 2 || !ran || err != nil {
		t.Fatalf("purged %d uploads, ran %v: %v", n, ran, err)
	}
	for _, id := range []uuid.UUID{old, old2} {
		if _, err := st.Upload(ctx, id); !errors.Is(err, lists.ErrUploadNotFound) {
			t.Errorf("upload past the retention: %v", err)
		}
		if is, err := st.Issues(ctx, id, 0, 10); len(is) != 0 || err != nil {
			t.Errorf("report past the retention: %d lines, %v", len(is), err)
		}
	}
	if u, err := st.Upload(ctx, young); err != nil || u.Status != lists.StatusRejected {
		t.Errorf("young upload: %+v %v", u, err)
	}
	if u, err := st.Upload(ctx, queued); err != nil || u.Status != lists.StatusQueued {
		t.Errorf("queued upload: %+v %v", u, err)
	}
	if n := count(`SELECT count(*) FROM list_upload_errors`); n != 2 {
		t.Errorf("%d error rows left, want the young upload's 2", n)
	}
}

func TestGrantorCertificates(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	_, cert, err := signing.GenerateSelfSigned("Grantor", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pemData := signing.EncodeCertificatePEM(cert)
	if _, err := st.AddGrantorCertificates(ctx, "99999999999", pemData); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("unknown organisation: %v", err)
	}
	if _, err := st.AddGrantorCertificates(ctx, listGrantor, []byte("junk")); err == nil {
		t.Fatal("junk accepted")
	}
	added, err := st.AddGrantorCertificates(ctx, listGrantor, pemData)
	if err != nil || len(added) != 1 || added[0].Fingerprint != signing.Fingerprint(cert) {
		t.Fatalf("%+v %v", added, err)
	}
	got, err := st.GrantorCertificates(ctx, listGrantor)
	if err != nil || len(got) != 1 {
		t.Fatalf("%d %v", len(got), err)
	}
	if err := st.RevokeGrantorCertificate(ctx, listGrantor, added[0].Fingerprint); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GrantorCertificates(ctx, listGrantor); len(got) != 0 {
		t.Fatal("revoked certificate still trusted")
	}
	all, err := st.ListGrantorCertificates(ctx, listGrantor)
	if err != nil || len(all) != 1 || all[0].RevokedAt == nil {
		t.Fatalf("%+v %v", all, err)
	}
	if _, err := st.AddGrantorCertificates(ctx, listGrantor, pemData); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GrantorCertificates(ctx, listGrantor); len(got) != 1 {
		t.Fatal("re-registered certificate not trusted")
	}
}

// Uploads to one list are processed in the order they arrived; another
// list's upload does not wait.
func TestLeaseKeepsUploadOrderPerList(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	first := newUpload(t, st, "ordered", []byte("1"))
	second := newUpload(t, st, "ordered", []byte("2"))
	other := newUpload(t, st, "other", []byte("3"))
	u, ok, err := st.Lease(ctx, "w1", time.Minute)
	if !ok || err != nil || u.ID != first {
		t.Fatalf("first lease: %v %v %v", u.ID, ok, err)
	}
	u, ok, err = st.Lease(ctx, "w2", time.Minute)
	if !ok || err != nil || u.ID != other {
		t.Fatalf("second lease got %v (%v %v), want the other list's upload", u.ID, ok, err)
	}
	if u, ok, _ := st.Lease(ctx, "w3", time.Minute); ok {
		t.Fatalf("leased %v while an earlier upload of its list is processing", u.ID)
	}
	if err := st.Finish(ctx, first, "w1", lists.Outcome{Status: lists.StatusRejected}); err != nil {
		t.Fatal(err)
	}
	if u, ok, _ := st.Lease(ctx, "w3", time.Minute); !ok || u.ID != second {
		t.Fatalf("after the first ended: %v %v", u.ID, ok)
	}
}

// Uploads of a list are applied in the order they were accepted, even when
// the instance that accepted the later one has a clock that is behind.
func TestUploadOrderIgnoresClocks(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	first := newUploadAt(t, st, "skewed", []byte("1"), time.Now())
	newUploadAt(t, st, "skewed", []byte("2"), time.Now().Add(-time.Minute))
	if u, ok, err := st.Lease(ctx, "w1", time.Minute); !ok || err != nil || u.ID != first {
		t.Fatalf("leased %v (%v %v), want the upload accepted first", u.ID, ok, err)
	}
}

// countCurrent counts, in one snapshot, the members of the list's current
// version below and from split.
func countCurrent(ctx context.Context, pool *pgxpool.Pool, list string, split int64) (below, from int64, err error) {
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var set int64
		if err := tx.QueryRow(ctx, `SELECT current_set FROM person_lists WHERE id = $1`, list).Scan(&set); err != nil {
			return err
		}
		return tx.QueryRow(ctx, fmt.Sprintf(`
			SELECT count(*) FILTER (WHERE person_code < $1), count(*) FILTER (WHERE person_code >= $1)
			FROM list_sets.s%d`, set), split).Scan(&below, &from)
	})
	return below, from, err
}

// Member sets of versions replaced longer ago than the retention are
// dropped; the current set, younger ones and every version record stay.
func TestPruneMemberSets(t *testing.T) {
	t.Parallel()
	st, pool := newLists(t)
	ctx := context.Background()
	for range 3 {
		apply(t, st, "p", lists.ModeAdd, codesRange(32000000000, 32000000010))
	}
	// Version 1 was replaced (by version 2) two hours ago.
	if _, err := pool.Exec(ctx, `UPDATE person_list_versions SET created_at = now() - interval '2 hours' WHERE list_id = 'p' AND version = 2`); err != nil {
		t.Fatal(err)
	}
	tables := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'list_sets'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := tables(); n != 3 {
		t.Fatalf("%d member tables before pruning", n)
	}
	if n, err := st.PruneMemberSets(ctx, time.Hour, 50); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	if n := tables(); n != 2 {
		t.Errorf("%d member tables after pruning, want 2", n)
	}
	var dropped []int
	rows, _ := pool.Query(ctx, `SELECT version FROM person_list_versions WHERE list_id = 'p' AND set_dropped_at IS NOT NULL`)
	for rows.Next() {
		var v int
		_ = rows.Scan(&v)
		dropped = append(dropped, v)
	}
	rows.Close()
	if fmt.Sprint(dropped) != "[1]" {
		t.Errorf("versions whose sets were dropped: %v", dropped)
	}
	if n, err := st.PruneMemberSets(ctx, time.Hour, 50); err != nil || n != 0 {
		t.Errorf("pruned again: %d (%v)", n, err)
	}
	if ok, v, err := st.IsMember(ctx, "p", lists.FormatCode(32000000003), day(2026, 2, 1)); !ok || v != 3 || err != nil {
		t.Errorf("the current version after pruning: %v v%d %v", ok, v, err)
	}
}

// Claims of one new list racing each other all answer, and agree on the
// one owner.
func TestClaimListRace(t *testing.T) {
	t.Parallel()
	st, _ := newLists(t)
	ctx := context.Background()
	for round := range 50 {
		id := fmt.Sprintf("claimed-%d", round)
		owners := make([]string, 4)
		errs := make([]error, len(owners))
		var wg sync.WaitGroup
		for i := range owners {
			wg.Go(func() { owners[i], errs[i] = st.ClaimList(ctx, id, fmt.Sprintf("9000000000%d", 1+i%2)) })
		}
		wg.Wait()
		for i := range owners {
			if errs[i] != nil || owners[i] != owners[0] {
				t.Fatalf("round %d: claims answered %v %v", round, owners, errs)
			}
		}
	}
}
