package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/eligibility"
)

// Eligibility is the storage of eligibility checks: the benefits that admit
// a provider, per-person spend, and decisions. A decision is answered at
// once and written a few milliseconds later in a batch (one COPY for all
// the checks of that moment) by Run; until then it is kept in memory, where
// a transaction reported to the same instance finds it. Another instance
// that does not find a decision younger than a few seconds waits for the
// batch before it gives up.
type Eligibility struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu      sync.Mutex
	pending map[uuid.UUID]eligibility.Decision
	queue   []eligibility.Decision
	spare   []eligibility.Decision // the last batch's array, for the next queue
	// recent keeps written decisions for the transactions that follow them
	// within seconds, oldest first in order, so that most reports need no
	// database read for their decision.
	// Kept compact (see recentDecision) so that the collector has little
	// to scan in what is most of the gateway's heap.
	recent  map[uuid.UUID]int32 // index into ring
	ring    []recentDecision    // oldest at head
	head    int
	count   int
	wake    chan struct{}
	running atomic.Bool

	// auditFor is how long the audit rows of checks are kept.
	auditFor time.Duration
	// purgeEvery is how often Run purges (tests shorten it).
	purgeEvery time.Duration
}

const (
	// flushEvery bounds how long a decision waits for its batch. Each COPY
	// has a fixed cost (a describe round trip, a statement); at 5 ms the
	// batches of a busy gateway were ~65 rows and PostgreSQL spent 7 µs per
	// check, at 20 ms ~5 µs. The wait costs nobody: this instance answers
	// from pending, others poll for up to decisionWait.
	flushEvery = 20 * time.Millisecond
	// maxPendingDecisions bounds memory when the database is slow or down:
	// beyond it checks write their decision themselves (and fail if the
	// database does).
	maxPendingDecisions = 200_000
	// decisionWait is how long a reader waits for a young decision that
	// another instance may not have written yet.
	decisionWait = 3 * time.Second
	// clockSkew is how far ahead of this instance's clock another
	// instance's may run.
	clockSkew = 5 * time.Second
	// maxRecentDecisions bounds the written decisions kept in memory
	// (about 40 MB).
	maxRecentDecisions = 100_000
)

// NewEligibility returns the storage on pool. Call Run to batch decision
// writes; without it each decision is written on its own.
func NewEligibility(pool *pgxpool.Pool, log *slog.Logger) *Eligibility {
	return &Eligibility{pool: pool, log: log, pending: map[uuid.UUID]eligibility.Decision{},
		recent: map[uuid.UUID]int32{}, ring: make([]recentDecision, 1024), wake: make(chan struct{}, 1),
		auditFor: defaultAuditRetention, purgeEvery: 10 * time.Minute}
}

// defaultAuditRetention is how long checks stay in the audit by default.
const defaultAuditRetention = 365 * 24 * time.Hour

// KeepAuditFor sets how long the audit rows of checks are kept; call it
// before Run.
func (s *Eligibility) KeepAuditFor(d time.Duration) {
	if d > 0 {
		s.auditFor = d
	}
}

var _ eligibility.Store = (*Eligibility)(nil)

// AdmittedBenefits implements eligibility.Store.
func (s *Eligibility) AdmittedBenefits(ctx context.Context, provider string) ([]eligibility.Benefit, error) {
	// A benefit naming another grantor's person list (possible only for
	// benefits written before list.not_owner) is left out: its answers
	// would tell its grantor who is on that list.
	rows, err := s.pool.Query(ctx, `
		SELECT b.id, b.grantor_reg_no, v.version, v.instruction,
			COALESCE(pl.grantor_reg_no <> b.grantor_reg_no, false) AS foreign_list
		FROM provider_instructions p
		JOIN benefits b ON b.id = p.benefit_id
		JOIN benefit_versions v ON v.benefit_id = p.benefit_id AND v.version = p.version
		LEFT JOIN person_lists pl ON pl.id = v.list_id
		WHERE p.provider_reg_no = $1 AND p.admitted AND v.status = 'active'
		ORDER BY v.priority, b.id`, provider)
	if err != nil {
		return nil, fmt.Errorf("admitted benefits: %w", err)
	}
	defer rows.Close()
	var out []eligibility.Benefit
	for rows.Next() {
		var b eligibility.Benefit
		var doc []byte
		var foreignList bool
		if err := rows.Scan(&b.ID, &b.Grantor, &b.Version, &doc, &foreignList); err != nil {
			return nil, fmt.Errorf("admitted benefits: %w", err)
		}
		if foreignList {
			s.log.WarnContext(ctx, "benefit names another grantor's person list; left out of eligibility", "benefit", b.ID, "version", b.Version)
			continue
		}
		if err := json.Unmarshal(doc, &b.Instruction); err != nil {
			return nil, fmt.Errorf("decode instruction of %s v%d: %w", b.ID, b.Version, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Spent implements eligibility.Store.
func (s *Eligibility) Spent(ctx context.Context, personRef []byte, qs []eligibility.SpendQuery) (map[string]int64, error) {
	return spent(ctx, s.pool, personRef, qs)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func spent(ctx context.Context, q querier, personRef []byte, qs []eligibility.SpendQuery) (map[string]int64, error) {
	out := make(map[string]int64, len(qs))
	if len(qs) == 0 {
		return out, nil
	}
	ids := make([]string, len(qs))
	from := make([]time.Time, len(qs))
	to := make([]time.Time, len(qs))
	for i, x := range qs {
		ids[i], from[i], to[i] = x.BenefitID, x.From, x.To
	}
	rows, err := q.Query(ctx, `
		SELECT q.id, coalesce(sum(tb.discount_cents), 0)::bigint
		FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS q(id, f, t)
		LEFT JOIN transaction_benefits tb
		  ON tb.person_ref = $1 AND tb.benefit_id = q.id AND NOT tb.reversed
		 AND coalesce(tb.counted_at, tb.occurred_at) >= q.f AND coalesce(tb.counted_at, tb.occurred_at) < q.t
		GROUP BY q.id`, personRef, ids, from, to)
	if err != nil {
		return nil, fmt.Errorf("per-person spend: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, fmt.Errorf("per-person spend: %w", err)
		}
		out[id] = sum
	}
	return out, rows.Err()
}

// SaveDecision implements eligibility.Store.
func (s *Eligibility) SaveDecision(ctx context.Context, d eligibility.Decision) error {
	if s.running.Load() {
		s.mu.Lock()
		if len(s.pending) < maxPendingDecisions {
			s.pending[d.ID] = d
			s.queue = append(s.queue, d)
			s.mu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
			return nil
		}
		s.mu.Unlock()
	}
	one := []eligibility.Decision{d}
	if err := s.copyDecisions(ctx, one, decisionDocs(one)); err != nil {
		return err
	}
	return s.insertAudit(ctx, one)
}

// insertAudit records who asked about whom, and how many benefits the
// answer held. A batch written again after a lost answer skips the rows
// already there.
func (s *Eligibility) insertAudit(ctx context.Context, ds []eligibility.Decision) error {
	n := len(ds)
	ids, at, providers, refs := make([][16]byte, n), make([]time.Time, n), make([]string, n), make([][]byte, n)
	applied, unknown := make([]int16, n), make([]int16, n)
	for i, d := range ds {
		ids[i], at[i], providers[i], refs[i] = d.ID, d.CreatedAt, d.Provider, d.PersonRef
		for _, b := range d.Benefits {
			switch b.Status {
			case eligibility.StatusApplies:
				applied[i]++
			case eligibility.StatusUnknown:
				unknown[i]++
			}
		}
	}
	rows := make([][]any, n)
	for i := range ds {
		rows[i] = []any{ids[i], at[i], providers[i], refs[i], applied[i], unknown[i]}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"eligibility_audit"},
		[]string{"decision_id", "checked_at", "provider_reg_no", "person_ref", "applied", "unknown"}, pgx.CopyFromRows(rows))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		if err != nil {
			return fmt.Errorf("audit checks: %w", err)
		}
		return nil
	}
	// Written before, its answer lost: again, skipping what is there.
	_, err = s.pool.Exec(ctx, `
		INSERT INTO eligibility_audit (decision_id, checked_at, provider_reg_no, person_ref, applied, unknown)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::bytea[], $5::smallint[], $6::smallint[])
		ON CONFLICT (decision_id) DO NOTHING`, ids, at, providers, refs, applied, unknown)
	if err != nil {
		return fmt.Errorf("audit checks: %w", err)
	}
	return nil
}

// AuditedCheck is one eligibility check in the audit.
type AuditedCheck struct {
	DecisionID uuid.UUID `json:"decisionId"`
	CheckedAt  time.Time `json:"checkedAt"`
	Provider   string    `json:"provider"`
	Applied    int       `json:"applied"`
	Unknown    int       `json:"unknown"`
}

// ChecksOf lists the audited checks of the person with personRef since a
// time, oldest first, at most limit of them.
func (s *Eligibility) ChecksOf(ctx context.Context, personRef []byte, since time.Time, limit int) ([]AuditedCheck, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT decision_id, checked_at, provider_reg_no, applied, unknown FROM eligibility_audit
		WHERE person_ref = $1 AND checked_at >= $2 ORDER BY checked_at LIMIT $3`, personRef, since, limit)
	if err != nil {
		return nil, fmt.Errorf("audited checks: %w", err)
	}
	defer rows.Close()
	var out []AuditedCheck
	for rows.Next() {
		var c AuditedCheck
		var applied, unknown int16
		if err := rows.Scan(&c.DecisionID, &c.CheckedAt, &c.Provider, &applied, &unknown); err != nil {
			return nil, fmt.Errorf("audited checks: %w", err)
		}
		c.Applied, c.Unknown = int(applied), int(unknown)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Run writes queued decisions in batches until ctx ends, and deletes
// decisions an hour after they were made (and audit rows past their
// retention). The purge runs beside the flusher, never in its way: while a
// long purge went on in the flusher's goroutine no decision was written,
// and a transaction reported to another instance waited for its decision
// in vain (decision.unknown).
func (s *Eligibility) Run(ctx context.Context) {
	s.running.Store(true)
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		purge := time.NewTicker(s.purgeEvery)
		defer purge.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-purge.C:
				s.purge(ctx)
			}
		}
	}()
	defer func() { <-purged }()
	for {
		select {
		case <-ctx.Done():
			s.running.Store(false)
			s.flushAtShutdown(context.WithoutCancel(ctx))
			return
		case <-s.wake:
			// Let the checks of the next moment join the batch.
			time.Sleep(flushEvery)
			// A write cut short by the shutdown is left to
			// flushAtShutdown: its batch stays queued.
			s.flush(ctx)
		}
	}
}

// flushTimeout bounds one batch write, of at most maxFlushBatch decisions
// (about 1.5 s on an idle database).
const (
	flushTimeout  = 10 * time.Second
	maxFlushBatch = 20_000
)

// shutdownFlushFor bounds how long the last flush keeps trying: a
// database blip at shutdown must not lose the decisions of the last
// moments (their transactions would be refused elsewhere), nor hold the
// shutdown for ever.
const shutdownFlushFor = 10 * time.Second

// flushAtShutdown writes everything queued, trying again while it fails.
func (s *Eligibility) flushAtShutdown(ctx context.Context) {
	// The deadline also ends an attempt that hangs: a database that takes
	// the connection and never answers must not keep the process alive.
	ctx, cancel := context.WithTimeout(ctx, shutdownFlushFor)
	defer cancel()
	for {
		s.flush(ctx) // on failure it waits a little and keeps the batch
		s.mu.Lock()
		left := len(s.queue)
		s.mu.Unlock()
		if left == 0 {
			return
		}
		if ctx.Err() != nil {
			s.log.Error("eligibility decisions not written at shutdown; their transactions will be refused", "decisions", left)
			return
		}
	}
}

// flush writes everything queued. On failure the decisions stay pending
// and are tried again at the next wake-up.
func (s *Eligibility) flush(ctx context.Context) {
	s.mu.Lock()
	batch := s.queue
	more := len(batch) > maxFlushBatch
	if more {
		// After an outage the queue may hold far more than one write
		// finishes within flushTimeout: it goes in slices, each on its
		// own, so that one that times out does not make the next larger.
		batch = batch[:maxFlushBatch:maxFlushBatch]
		s.queue = append([]eligibility.Decision(nil), s.queue[maxFlushBatch:]...)
	} else {
		s.queue, s.spare = s.spare[:0], nil // the spare's array is reused: no regrowth every batch
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if more {
		defer func() {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}()
	}
	docs := decisionDocs(batch)
	// A write that hangs (a database that stopped answering) is given up
	// and tried again, so that the queue keeps moving once it answers.
	wctx, cancel := context.WithTimeout(ctx, flushTimeout)
	err := s.copyDecisions(wctx, batch, docs)
	if err == nil {
		err = s.insertAudit(wctx, batch)
	}
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("write eligibility decisions; will retry", "decisions", len(batch), "error", err)
		}
		s.mu.Lock()
		s.queue = append(batch, s.queue...)
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		select {
		case s.wake <- struct{}{}:
		default:
		}
		return
	}
	now := time.Now()
	s.mu.Lock()
	for i, d := range batch {
		delete(s.pending, d.ID)
		if s.count == len(s.ring) {
			if len(s.ring) < maxRecentDecisions {
				s.growRing()
			} else {
				s.dropOldest()
			}
		}
		slot := (s.head + s.count) % len(s.ring)
		s.ring[slot] = compactDecision(d, docs[i])
		s.recent[d.ID] = int32(slot)
		s.count++
	}
	for s.count > 0 && !now.Before(time.UnixMicro(s.ring[s.head].expires)) {
		s.dropOldest()
	}
	clear(batch)
	s.spare = batch[:0]
	s.mu.Unlock()
}

// dropOldest forgets the oldest recent decision; the caller holds s.mu.
func (s *Eligibility) dropOldest() {
	delete(s.recent, s.ring[s.head].id)
	s.ring[s.head] = recentDecision{}
	s.head = (s.head + 1) % len(s.ring)
	s.count--
}

// growRing doubles the ring (up to maxRecentDecisions), oldest first at
// the start; the caller holds s.mu. The ring grows with the check rate
// instead of taking its whole size at start.
func (s *Eligibility) growRing() {
	ring := make([]recentDecision, min(2*len(s.ring), maxRecentDecisions))
	for i := range s.count {
		r := s.ring[(s.head+i)%len(s.ring)]
		ring[i] = r
		s.recent[r.id] = int32(i)
	}
	s.ring, s.head = ring, 0
}

// recentDecision is a written decision in one allocation: provider, person
// reference and the stored form of its benefits are packed into blob.
type recentDecision struct {
	id                   uuid.UUID
	at, created, expires int64 // unix microseconds
	withLines            bool
	providerLen          uint16
	sale                 int64  // -1: none
	blob                 []byte // provider, person_ref, benefits (AppendApplied)
}

func compactDecision(d eligibility.Decision, doc []byte) recentDecision {
	sale := int64(-1)
	if d.SaleCents != nil {
		sale = *d.SaleCents
	}
	blob := make([]byte, 0, len(d.Provider)+len(d.PersonRef)+len(doc))
	blob = append(append(append(blob, d.Provider...), d.PersonRef...), doc...)
	return recentDecision{id: d.ID, at: d.At.UnixMicro(), created: d.CreatedAt.UnixMicro(), expires: d.ExpiresAt.UnixMicro(),
		withLines: d.WithLines, providerLen: uint16(len(d.Provider)), sale: sale, blob: blob}
}

func (r recentDecision) decision() (eligibility.Decision, error) {
	p := int(r.providerLen)
	d := eligibility.Decision{ID: r.id, Provider: string(r.blob[:p]), PersonRef: slices.Clone(r.blob[p : p+32]),
		At: time.UnixMicro(r.at).UTC(), CreatedAt: time.UnixMicro(r.created).UTC(), ExpiresAt: time.UnixMicro(r.expires).UTC(), WithLines: r.withLines}
	if r.sale >= 0 {
		sale := r.sale
		d.SaleCents = &sale
	}
	var err error
	if d.Benefits, d.TotalCents, err = eligibility.DecodeApplied(r.blob[p+32:]); err != nil {
		return d, fmt.Errorf("decode decision: %w", err)
	}
	return d, nil
}

// decisionDocs encodes the stored form of each decision's benefits.
func decisionDocs(ds []eligibility.Decision) [][]byte {
	docs := make([][]byte, len(ds))
	for i, d := range ds {
		docs[i] = eligibility.AppendApplied(nil, d.Benefits, d.TotalCents)
	}
	return docs
}

// copyDecisions writes decisions by COPY into the unlogged table. A batch
// that was written but whose answer was lost (a cancelled context) makes
// the COPY fail on the primary key; it is then written again with an
// INSERT that skips the rows already there.
func (s *Eligibility) copyDecisions(ctx context.Context, ds []eligibility.Decision, docs [][]byte) error {
	rows := make([][]any, len(ds))
	for i, d := range ds {
		rows[i] = []any{[16]byte(d.ID), d.Provider, d.PersonRef, d.At, d.CreatedAt, d.ExpiresAt, d.WithLines, d.SaleCents, docs[i]}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"eligibility_decisions"},
		[]string{"id", "provider_reg_no", "person_ref", "checked_at", "created_at", "expires_at", "with_lines", "sale_cents", "benefits"},
		pgx.CopyFromRows(rows))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		if err != nil {
			return fmt.Errorf("copy decisions: %w", err)
		}
		return nil
	}
	n := len(ds)
	ids, providers, refs := make([][16]byte, n), make([]string, n), make([][]byte, n)
	checked, created, expires, withLines := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]bool, n)
	sales := make([]*int64, n)
	for i, d := range ds {
		ids[i], providers[i], refs[i] = d.ID, d.Provider, d.PersonRef
		checked[i], created[i], expires[i], withLines[i], sales[i] = d.At, d.CreatedAt, d.ExpiresAt, d.WithLines, d.SaleCents
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO eligibility_decisions (id, provider_reg_no, person_ref, checked_at, created_at, expires_at, with_lines, sale_cents, benefits)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::bool[], $8::bigint[], $9::bytea[])
		ON CONFLICT (id) DO NOTHING`,
		ids, providers, refs, checked, created, expires, withLines, sales, docs)
	if err != nil {
		return fmt.Errorf("insert decisions: %w", err)
	}
	return nil
}

// purge deletes decisions made more than an hour ago: with UUIDv7 ids that
// is a range of the primary key. (Their transactions keep what they used.)
// One instance purges at a time, in slices with pauses between them.
func (s *Eligibility) purge(ctx context.Context) {
	ran, err := exclusively(ctx, s.pool, "avis-purge:eligibility", func(ctx context.Context, conn *pgxpool.Conn) error {
		if _, err := deleteInSlices(ctx, conn, `
			DELETE FROM eligibility_decisions WHERE id IN (
				SELECT id FROM eligibility_decisions WHERE id < $2 LIMIT $1)`, uuidBound(time.Now().Add(-time.Hour))); err != nil {
			return fmt.Errorf("purge old decisions: %w", err)
		}
		// Audit rows past their retention.
		if _, err := deleteInSlices(ctx, conn, `
			DELETE FROM eligibility_audit WHERE decision_id IN (
				SELECT decision_id FROM eligibility_audit WHERE decision_id < $2 LIMIT $1)`, uuidBound(time.Now().Add(-s.auditFor))); err != nil {
			return fmt.Errorf("purge old audit rows: %w", err)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("eligibility purge", "error", err)
	}
	if err == nil && !ran {
		s.log.Debug("eligibility purge skipped: another instance is purging")
	}
}

// uuidBound is the smallest UUIDv7 of time t: ids below it were made before.
func uuidBound(t time.Time) uuid.UUID {
	var bound uuid.UUID
	ms := uint64(t.UnixMilli())
	bound[0], bound[1], bound[2], bound[3], bound[4], bound[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	return bound
}

// Decision returns a decision, from memory while its batch is pending,
// else from the database; ErrNotFound if there is none. A decision younger
// than decisionWait that is not found yet may still be in another
// instance's batch: it is looked for again until it is older.
func (s *Eligibility) Decision(ctx context.Context, id uuid.UUID) (eligibility.Decision, error) {
	// Only an id minted within decisionWait of now, allowing for instances'
	// clocks to differ by a few seconds, can be in a batch not written yet; and
	// however young, the wait ends decisionWait after it began, so that a
	// forged id dated ahead cannot hold a request polling the database.
	created := uuidTime(id)
	mayBePending := time.Until(created) <= clockSkew
	giveUp := time.Now().Add(decisionWait)
	for {
		s.mu.Lock()
		d, ok := s.pending[id]
		var r recentDecision
		if !ok {
			var slot int32
			if slot, ok = s.recent[id]; ok {
				r = s.ring[slot]
			}
		}
		s.mu.Unlock()
		if ok && r.blob != nil {
			return r.decision()
		}
		if ok {
			return d, nil
		}
		d, err := readDecision(ctx, s.pool, id)
		if !errors.Is(err, ErrNotFound) || !mayBePending || time.Since(created) > decisionWait || time.Now().After(giveUp) {
			return d, err
		}
		select {
		case <-ctx.Done():
			return d, err
		case <-time.After(2 * flushEvery):
		}
	}
}

// uuidTime is the creation time a UUIDv7 carries (zero for other versions).
func uuidTime(id uuid.UUID) time.Time {
	if id.Version() != 7 {
		return time.Time{}
	}
	sec, nsec := id.Time().UnixTime()
	return time.Unix(sec, nsec)
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readDecision(ctx context.Context, q rowQuerier, id uuid.UUID) (eligibility.Decision, error) {
	d := eligibility.Decision{ID: id}
	var doc []byte
	err := q.QueryRow(ctx, `
		SELECT provider_reg_no, person_ref, checked_at, created_at, expires_at, with_lines, sale_cents, benefits
		FROM eligibility_decisions WHERE id = $1`, id).
		Scan(&d.Provider, &d.PersonRef, &d.At, &d.CreatedAt, &d.ExpiresAt, &d.WithLines, &d.SaleCents, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read decision: %w", err)
	}
	if d.Benefits, d.TotalCents, err = eligibility.DecodeApplied(doc); err != nil {
		return d, fmt.Errorf("decode decision: %w", err)
	}
	return d, nil
}

// Secret returns the named gateway secret, creating a random one of 32
// bytes the first time. Concurrent first calls agree on one value.
func Secret(ctx context.Context, pool *pgxpool.Pool, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	// The statement that inserts nothing because another instance's insert
	// committed meanwhile could not see that row in its snapshot; the
	// next statement can.
	var secret []byte
	for attempt := 0; ; attempt++ {
		err := pool.QueryRow(ctx, `
			WITH ins AS (
				INSERT INTO gateway_secrets (name, secret) VALUES ($1, $2)
				ON CONFLICT (name) DO NOTHING RETURNING secret)
			SELECT secret FROM ins UNION ALL SELECT secret FROM gateway_secrets WHERE name = $1
			LIMIT 1`, name, fresh).Scan(&secret)
		if errors.Is(err, pgx.ErrNoRows) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("gateway secret %s: %w", name, err)
		}
		return secret, nil
	}
}
