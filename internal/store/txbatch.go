package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/avis-lv/gateway/internal/transactions"
)

// Transactions without per-person limits are committed in groups: every
// report that arrives while a commit is in flight joins the next one, which
// writes them all with one statement and one WAL flush. Each report is
// still answered only after its own rows are committed. (Reports with
// limits hold a per-person lock while they sum earlier spending and are
// written on their own.)

const (
	// groupCommitters is how many group commits may be in flight at once.
	groupCommitters = 4
	// maxGroup bounds the reports in one commit.
	maxGroup = 128
	// groupTimeout bounds one group's statement: the group is shared, so
	// it does not end with the context of any one of its reports.
	groupTimeout = 30 * time.Second
)

type insertJob struct {
	in   transactions.Insert
	done chan insertOutcome
}

// insertOutcome: inserted with seq, or not written at all (a conflict the
// caller resolves), or err.
type insertOutcome struct {
	seq      int64
	inserted bool
	err      error
}

// groupInsertSQL writes transactions, their benefits and their receipts in
// one statement: each row of x is a transaction; line rows name theirs by
// id. ON CONFLICT DO NOTHING skips a transaction whose key or decision is
// taken (also by an earlier row of the same group), and then its lines and
// receipt too.
const groupInsertSQL = `
WITH x AS (
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::uuid[], $6::bytea[], $7::text[],
		$8::timestamptz[], $9::bigint[], $10::timestamptz[], $11::uuid[], $12::bytea[], $13::bytea[], $23::timestamptz[])
		AS x(id, provider, key, hash, decision, person, receipt_number, occurred_at, total, accepted_at, receipt_id, digest, content, counted_at)
), t AS (
	INSERT INTO transactions (id, provider_reg_no, idempotency_key, request_hash, decision_id, person_ref,
		receipt_number, occurred_at, total_cents, accepted_at, receipt_id)
	SELECT id, provider, key, hash, decision, person, receipt_number, occurred_at, total, accepted_at, receipt_id FROM x
	ON CONFLICT DO NOTHING
	RETURNING id, seq
), b AS (
	INSERT INTO transaction_benefits (transaction_id, pos, tx_seq, provider_reg_no, benefit_id, benefit_version,
		grantor_reg_no, ekk_code, discount_cents, stand_in, limited, person_ref, occurred_at, counted_at)
	SELECT t.id, l.pos, t.seq, x.provider, l.bid, l.ver, l.grantor, l.ekk, l.cents, l.standin, l.limited, x.person, x.occurred_at, x.counted_at
	FROM t JOIN x ON x.id = t.id
	JOIN unnest($14::uuid[], $15::smallint[], $16::text[], $17::int[], $18::text[], $19::text[], $20::bigint[], $21::bool[], $22::bool[])
		AS l(tid, pos, bid, ver, grantor, ekk, cents, standin, limited) ON l.tid = t.id
), r AS (
	INSERT INTO receipts (id, kind, subject_id, owner_reg_no, accepted_at, digest, content)
	SELECT x.receipt_id, 'transaction', t.id::text, x.provider, x.accepted_at, x.digest, x.content FROM t JOIN x ON x.id = t.id
)
SELECT id, seq FROM t`

// insertGroup writes the group in one statement (its own transaction) and
// returns the seq of each transaction it inserted.
func insertGroup(ctx context.Context, q querier, jobs []*insertJob) (map[uuid.UUID]int64, error) {
	n := len(jobs)
	// uuids as [16]byte: pgx encodes uuid.UUID through its text form.
	ids, decisions, receiptIDs := make([][16]byte, n), make([][16]byte, n), make([][16]byte, n)
	providers, keys, receiptNumbers := make([]string, n), make([]string, n), make([]string, n)
	hashes, persons, digests, contents := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
	occurred, accepted, counted := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	totals := make([]*int64, n)
	var lt [][16]byte
	var lpos []int16
	var lbid, lgrantor, lekk []string
	var lver []int32
	var lcents []int64
	var lstand, llimited []bool
	for i, j := range jobs {
		t := j.in.Transaction
		ids[i], providers[i], keys[i], hashes[i] = t.ID, t.Provider, j.in.IdempotencyKey, j.in.RequestHash[:]
		decisions[i], persons[i], receiptNumbers[i] = t.DecisionID, t.PersonRef, t.ReceiptNumber
		occurred[i], totals[i], accepted[i], receiptIDs[i] = t.OccurredAt, t.TotalCents, t.AcceptedAt, t.ReceiptID
		counted[i] = j.in.CountedAt
		if counted[i].IsZero() {
			counted[i] = t.OccurredAt
		}
		digests[i], contents[i] = j.in.Receipt.Digest[:], j.in.Receipt.Content
		for p, l := range t.Benefits {
			lt, lpos = append(lt, t.ID), append(lpos, int16(p+1))
			lbid, lver, lgrantor, lekk = append(lbid, l.BenefitID), append(lver, int32(l.Version)), append(lgrantor, l.Grantor), append(lekk, l.EKKCode)
			lcents, lstand, llimited = append(lcents, l.DiscountCents), append(lstand, l.StandIn), append(llimited, l.Limited)
		}
	}
	rows, err := q.Query(ctx, groupInsertSQL, ids, providers, keys, hashes, decisions, persons, receiptNumbers,
		occurred, totals, accepted, receiptIDs, digests, contents,
		lt, lpos, lbid, lver, lgrantor, lekk, lcents, lstand, llimited, counted)
	if err != nil {
		return nil, fmt.Errorf("insert transactions: %w", err)
	}
	out := make(map[uuid.UUID]int64, n)
	for rows.Next() {
		var id uuid.UUID
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("insert transactions: %w", err)
		}
		out[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insert transactions: %w", err)
	}
	return out, nil
}

// Run commits queued transactions in groups until ctx ends. Reports made
// while it does not run are written one by one.
func (s *Transactions) Run(ctx context.Context) {
	s.running.Store(true)
	done := make(chan struct{})
	for range groupCommitters {
		go func() {
			defer func() { done <- struct{}{} }()
			group := make([]*insertJob, 0, maxGroup)
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.jobs:
					group = append(group[:0], j)
				}
			fill:
				for len(group) < maxGroup {
					select {
					case j := <-s.jobs:
						group = append(group, j)
					default:
						break fill
					}
				}
				s.commitGroup(context.WithoutCancel(ctx), group)
			}
		}()
	}
	for range groupCommitters {
		<-done
	}
	s.running.Store(false)
	// Answer what is still queued: written one by one.
	for {
		select {
		case j := <-s.jobs:
			s.commitGroup(context.WithoutCancel(ctx), []*insertJob{j})
		default:
			return
		}
	}
}

// commitGroup writes a group and answers each of its reports. A group that
// fails as a whole (a deadlock with a concurrent group over the same keys,
// a row the database refuses) is written again one report at a time, so
// that one report's failure is its own.
func (s *Transactions) commitGroup(ctx context.Context, group []*insertJob) {
	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	seqs, err := insertGroup(ctx, s.pool, group)
	if err != nil && len(group) > 1 {
		for _, j := range group {
			s.commitGroup(ctx, []*insertJob{j})
		}
		return
	}
	if err != nil && retryable(err) {
		seqs, err = insertGroup(ctx, s.pool, group)
	}
	for _, j := range group {
		if err != nil {
			j.done <- insertOutcome{err: err}
			continue
		}
		seq, ok := seqs[j.in.Transaction.ID]
		j.done <- insertOutcome{seq: seq, inserted: ok}
	}
}

// retryable reports a deadlock or serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// insertQueued hands an insert to the group committers and waits for its
// commit. A report whose caller gives up while its group is in flight may
// still be committed: its retry with the same key replays it.
func (s *Transactions) insertQueued(ctx context.Context, in transactions.Insert) (insertOutcome, bool) {
	if !s.running.Load() {
		return insertOutcome{}, false
	}
	j := &insertJob{in: in, done: make(chan insertOutcome, 1)}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		return insertOutcome{err: ctx.Err()}, true
	}
	select {
	case o := <-j.done:
		return o, true
	case <-ctx.Done():
		return insertOutcome{err: ctx.Err()}, true
	}
}
