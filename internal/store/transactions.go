package store

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/eligibility"
	"github.com/avis-lv/gateway/internal/transactions"
)

// Transactions stores transactions, their benefits and receipts.
type Transactions struct {
	pool      *pgxpool.Pool
	decisions *Eligibility
	// ekkName names EKK codes in spend reports (may be nil).
	ekkName func(code string) string

	jobs    chan *insertJob
	running atomic.Bool
}

// NewTransactions returns the transactions storage on pool; decisions are
// read through the eligibility storage, which may still hold them.
func NewTransactions(pool *pgxpool.Pool, decisions *Eligibility, ekkName func(string) string) *Transactions {
	return &Transactions{pool: pool, decisions: decisions, ekkName: ekkName, jobs: make(chan *insertJob, groupCommitters*maxGroup)}
}

var _ transactions.Store = (*Transactions)(nil)

// Decision implements transactions.Store.
func (s *Transactions) Decision(ctx context.Context, id uuid.UUID) (eligibility.Decision, error) {
	d, err := s.decisions.Decision(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return d, transactions.ErrDecisionNotFound
	}
	return d, err
}

// Insert implements transactions.Store. Without per-person limits the
// transaction joins a group commit (see txbatch.go); with limits it runs in
// a transaction that holds the person's advisory lock while it sums what
// the person already received, so two tills cannot both spend the rest.
func (s *Transactions) Insert(ctx context.Context, in transactions.Insert) (transactions.Transaction, bool, error) {
	t := in.Transaction
	var seq int64
	var inserted bool
	one := []*insertJob{{in: in}}
	if len(in.Limits) == 0 {
		o, queued := s.insertQueued(ctx, in)
		if !queued {
			seqs, err := insertGroup(ctx, s.pool, one)
			o = insertOutcome{err: err}
			o.seq, o.inserted = seqs[t.ID]
		}
		if o.err != nil {
			return transactions.Transaction{}, false, o.err
		}
		seq, inserted = o.seq, o.inserted
	} else {
		var prior *transactions.Transaction
		err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
			lock := int64(binary.BigEndian.Uint64(t.PersonRef[:8]))
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
				return fmt.Errorf("lock person: %w", err)
			}
			// A retry must replay, not be refused for the limit its own
			// first attempt used up.
			if p, hash, err := byKey(ctx, tx, t.Provider, in.IdempotencyKey); err == nil {
				if hash != in.RequestHash {
					return transactions.ErrKeyReused
				}
				prior = &p
				return nil
			} else if !errors.Is(err, transactions.ErrNotFound) {
				return err
			}
			// A used decision is refused as such before the limit is
			// counted: its first transaction may be what used the limit up,
			// and "no limit left" would send the till to check again and
			// report the same sale twice.
			var used bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM transactions WHERE decision_id = $1)`, t.DecisionID).Scan(&used); err != nil {
				return fmt.Errorf("look up decision use: %w", err)
			}
			if used {
				return transactions.ErrDecisionUsed
			}
			qs := make([]eligibility.SpendQuery, len(in.Limits))
			for i, l := range in.Limits {
				qs[i] = eligibility.SpendQuery{BenefitID: l.BenefitID, From: l.From, To: l.To}
			}
			sp, err := spent(ctx, tx, t.PersonRef, qs)
			if err != nil {
				return err
			}
			for _, l := range in.Limits {
				if left := l.LimitCents - sp[l.BenefitID]; l.ClaimedCents > left {
					return &transactions.LimitError{BenefitID: l.BenefitID, LeftCents: max(left, 0)}
				}
			}
			seqs, err := insertGroup(ctx, tx, one)
			seq, inserted = seqs[t.ID]
			return err
		})
		if err != nil {
			return transactions.Transaction{}, false, err
		}
		if prior != nil {
			return *prior, true, nil
		}
	}
	if inserted {
		t.Seq = seq
		return t, false, nil
	}
	// Nothing was written: a retry, a reused key or a used decision.
	p, hash, err := byKey(ctx, s.pool, t.Provider, in.IdempotencyKey)
	switch {
	case err == nil && hash == in.RequestHash:
		return p, true, nil
	case err == nil:
		return transactions.Transaction{}, false, transactions.ErrKeyReused
	case errors.Is(err, transactions.ErrNotFound):
		return transactions.Transaction{}, false, transactions.ErrDecisionUsed
	default:
		return transactions.Transaction{}, false, err
	}
}

const transactionColumns = `t.id, t.seq, t.status, t.provider_reg_no, t.decision_id, t.person_ref, t.receipt_number,
	t.occurred_at, t.total_cents, t.accepted_at, t.receipt_id, t.reversed_at, coalesce(t.reversal_reason, ''),
	t.reversal_receipt_id, coalesce(t.reversal_key, ''), t.request_hash`

// linesSQL aggregates a transaction's benefit lines; $grantor (when not
// ”) keeps only that grantor's.
func linesSQL(grantorParam string) string {
	cond := ""
	if grantorParam != "" {
		cond = " AND tb.grantor_reg_no = " + grantorParam
	}
	return `(SELECT json_agg(json_build_object('b', tb.benefit_id, 'v', tb.benefit_version, 'g', tb.grantor_reg_no,
		'e', tb.ekk_code, 'c', tb.discount_cents, 's', tb.stand_in) ORDER BY tb.pos)
		FROM transaction_benefits tb WHERE tb.transaction_id = t.id` + cond + `)`
}

type lineDoc struct {
	B string `json:"b"`
	V int    `json:"v"`
	G string `json:"g"`
	E string `json:"e"`
	C int64  `json:"c"`
	S bool   `json:"s"`
}

// scanTransaction reads transactionColumns and the lines, then extra.
func scanTransaction(row pgx.Row, extra ...any) (transactions.Transaction, [32]byte, error) {
	var t transactions.Transaction
	var hash, lines []byte
	var reversalReceipt *uuid.UUID
	err := row.Scan(append([]any{&t.ID, &t.Seq, &t.Status, &t.Provider, &t.DecisionID, &t.PersonRef, &t.ReceiptNumber,
		&t.OccurredAt, &t.TotalCents, &t.AcceptedAt, &t.ReceiptID, &t.ReversedAt, &t.ReversalReason,
		&reversalReceipt, &t.ReversalKey, &hash, &lines}, extra...)...)
	var h [32]byte
	if err != nil {
		return t, h, err
	}
	copy(h[:], hash)
	t.ReversalReceiptID = reversalReceipt
	var docs []lineDoc
	if len(lines) > 0 {
		if err := json.Unmarshal(lines, &docs); err != nil {
			return t, h, fmt.Errorf("decode transaction lines: %w", err)
		}
	}
	for _, d := range docs {
		t.Benefits = append(t.Benefits, transactions.Line{BenefitID: d.B, Version: d.V, Grantor: d.G, EKKCode: d.E, DiscountCents: d.C, StandIn: d.S})
	}
	return t, h, nil
}

func byKey(ctx context.Context, q rowQuerier, provider, key string) (transactions.Transaction, [32]byte, error) {
	t, h, err := scanTransaction(q.QueryRow(ctx, `SELECT `+transactionColumns+`, `+linesSQL("")+`
		FROM transactions t WHERE t.provider_reg_no = $1 AND t.idempotency_key = $2`, provider, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, h, transactions.ErrNotFound
	}
	if err != nil {
		return t, h, fmt.Errorf("read transaction: %w", err)
	}
	return t, h, nil
}

// ByKey implements transactions.Store.
func (s *Transactions) ByKey(ctx context.Context, provider, key string) (transactions.Transaction, [32]byte, error) {
	return byKey(ctx, s.pool, provider, key)
}

// Get implements transactions.Store.
func (s *Transactions) Get(ctx context.Context, id uuid.UUID) (transactions.Transaction, error) {
	t, _, err := scanTransaction(s.pool.QueryRow(ctx, `SELECT `+transactionColumns+`, `+linesSQL("")+`
		FROM transactions t WHERE t.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, transactions.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("read transaction: %w", err)
	}
	return t, nil
}

// Reverse implements transactions.Store.
func (s *Transactions) Reverse(ctx context.Context, id uuid.UUID, key, reason string, at time.Time, r transactions.Receipt) (bool, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE transactions SET status = 'reversed', reversed_at = $2, reversal_reason = NULLIF($3, ''),
				reversal_key = $4, reversal_receipt_id = $5
			WHERE id = $1 AND status = 'accepted'
			RETURNING id, provider_reg_no
		), b AS (
			-- A new position in the grantors' listing (see ListForGrantor),
			-- so that one who pages on with its resume cursor sees the
			-- reversal.
			UPDATE transaction_benefits SET reversed = true, tx_xid = pg_current_xact_id() WHERE transaction_id IN (SELECT id FROM t)
		), r AS (
			INSERT INTO receipts (id, kind, subject_id, owner_reg_no, accepted_at, digest, content)
			SELECT $5, 'reversal', t.id::text, t.provider_reg_no, $2, $6, $7 FROM t
		)
		SELECT count(*) FROM t`, id, at, reason, key, r.ID, r.Digest[:], r.Content).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("reverse transaction: %w", err)
	}
	return n == 1, nil
}

// ListForGrantor implements transactions.Store. Pages follow the order in
// which transactions became visible (see migration 00011): a page holds
// only rows committed before the oldest transaction still running, so a
// later page never has to go back for one.
func (s *Transactions) ListForGrantor(ctx context.Context, grantor string, f transactions.Filter, loc *time.Location, after transactions.Position, limit int) ([]transactions.Transaction, error) {
	var from, to *time.Time
	if !f.From.IsZero() {
		v := time.Date(f.From.Year(), f.From.Month(), f.From.Day(), 0, 0, 0, 0, loc)
		from = &v
	}
	if !f.To.IsZero() {
		v := time.Date(f.To.Year(), f.To.Month(), f.To.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
		to = &v
	}
	if after.XID == 0 && after.Seq > 0 {
		// A cursor from before migration 00011 names a seq only: go on
		// from where that transaction stands in the commit order.
		var xid string
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(min(tx_xid)::text, '0') FROM transaction_benefits
			WHERE grantor_reg_no = $1 AND tx_seq = $2`, grantor, after.Seq).Scan(&xid); err != nil {
			return nil, fmt.Errorf("list transactions: position of seq %d: %w", after.Seq, err)
		}
		var err error
		if after.XID, err = strconv.ParseUint(xid, 10, 64); err != nil {
			return nil, fmt.Errorf("list transactions: transaction id %q: %w", xid, err)
		}
	}
	rows, err := s.pool.Query(ctx, `
		WITH page AS (
			SELECT DISTINCT ON (tb.tx_xid, tb.tx_seq) tb.transaction_id, tb.tx_xid, tb.tx_seq FROM transaction_benefits tb
			WHERE tb.grantor_reg_no = $1 AND (tb.tx_xid, tb.tx_seq) > ($2::text::xid8, $3::bigint)
			  AND tb.tx_xid < pg_snapshot_xmin(pg_current_snapshot())
			  AND ($4 = '' OR tb.benefit_id = $4)
			  AND ($5 = '' OR tb.provider_reg_no = $5)
			  AND ($6::timestamptz IS NULL OR tb.occurred_at >= $6)
			  AND ($7::timestamptz IS NULL OR tb.occurred_at < $7)
			  AND ($8 = '' OR tb.reversed = ($8 = 'reversed'))
			ORDER BY tb.tx_xid, tb.tx_seq
			LIMIT $9)
		SELECT `+transactionColumns+`, `+linesSQL("$1")+`, page.tx_xid::text
		FROM page JOIN transactions t ON t.id = page.transaction_id
		ORDER BY page.tx_xid, page.tx_seq`,
		grantor, strconv.FormatUint(after.XID, 10), after.Seq, f.BenefitID, f.Provider, from, to, string(f.Status), limit)
	if err != nil {
		return nil, fmt.Errorf("list transactions: %w", err)
	}
	defer rows.Close()
	var out []transactions.Transaction
	for rows.Next() {
		var xid string
		t, _, err := scanTransaction(rows, &xid)
		if err != nil {
			return nil, fmt.Errorf("list transactions: %w", err)
		}
		if t.Position.XID, err = strconv.ParseUint(xid, 10, 64); err != nil {
			return nil, fmt.Errorf("list transactions: transaction id %q: %w", xid, err)
		}
		t.Position.Seq = t.Seq
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListForProvider implements transactions.Store.
func (s *Transactions) ListForProvider(ctx context.Context, provider string, f transactions.ReportedFilter, after transactions.SalePosition, limit int) ([]transactions.Transaction, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+transactionColumns+`, `+linesSQL("")+`
		FROM transactions t
		WHERE t.provider_reg_no = $1 AND t.occurred_at >= $2 AND t.occurred_at < $3
		  AND (t.occurred_at, t.id) > ($4, $5)
		  AND ($6 = '' OR t.receipt_number = $6)
		  AND ($7 = '' OR t.status = $7)
		ORDER BY t.occurred_at, t.id
		LIMIT $8`,
		provider, f.From, f.To, after.OccurredAt, [16]byte(after.ID), f.ReceiptNumber, string(f.Status), limit)
	if err != nil {
		return nil, fmt.Errorf("list reported transactions: %w", err)
	}
	defer rows.Close()
	var out []transactions.Transaction
	for rows.Next() {
		t, _, err := scanTransaction(rows)
		if err != nil {
			return nil, fmt.Errorf("list reported transactions: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Spend implements transactions.Store.
func (s *Transactions) Spend(ctx context.Context, grantor string, from, to time.Time, groupBy string) ([]transactions.SpendGroup, error) {
	var key, name string
	switch groupBy {
	case "benefit":
		key = "tb.benefit_id"
		name = `(SELECT v.instruction->>'name' FROM benefits b JOIN benefit_versions v ON v.benefit_id = b.id AND v.version = b.current_version WHERE b.id = g.key)`
	case "provider":
		key = "tb.provider_reg_no"
		name = `(SELECT o.name FROM organisations o WHERE o.reg_no = g.key)`
	case "ekk":
		key = "tb.ekk_code"
		name = `NULL::text`
	default:
		return nil, fmt.Errorf("spend report: unknown grouping %q", groupBy)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT g.key, coalesce(`+name+`, ''), g.n, g.cents, g.rn, g.rcents
		FROM (
			SELECT `+key+` AS key,
				count(DISTINCT tb.transaction_id) FILTER (WHERE NOT tb.reversed) AS n,
				coalesce(sum(tb.discount_cents) FILTER (WHERE NOT tb.reversed), 0)::bigint AS cents,
				count(DISTINCT tb.transaction_id) FILTER (WHERE tb.reversed) AS rn,
				coalesce(sum(tb.discount_cents) FILTER (WHERE tb.reversed), 0)::bigint AS rcents
			FROM transaction_benefits tb
			WHERE tb.grantor_reg_no = $1 AND tb.occurred_at >= $2 AND tb.occurred_at < $3
			GROUP BY 1
		) g
		ORDER BY g.key`, grantor, from, to)
	if err != nil {
		return nil, fmt.Errorf("spend report: %w", err)
	}
	defer rows.Close()
	var out []transactions.SpendGroup
	for rows.Next() {
		var g transactions.SpendGroup
		if err := rows.Scan(&g.Key, &g.Name, &g.Transactions, &g.DiscountCents, &g.ReversedTransactions, &g.ReversedDiscountCents); err != nil {
			return nil, fmt.Errorf("spend report: %w", err)
		}
		if groupBy == "ekk" && s.ekkName != nil {
			g.Name = s.ekkName(g.Key)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Receipt implements transactions.Store.
func (s *Transactions) Receipt(ctx context.Context, id uuid.UUID) (transactions.Receipt, error) {
	var r transactions.Receipt
	var digest, value, der []byte
	var signedAt *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT r.id, r.kind, r.subject_id, r.owner_reg_no, r.accepted_at, r.digest, r.content, s.value, c.der, s.signed_at
		FROM receipts r
		LEFT JOIN receipt_signatures s ON s.receipt_id = r.id
		LEFT JOIN signing_certificates c ON c.sha256 = s.certificate_sha256
		WHERE r.id = $1`, id).Scan(&r.ID, &r.Kind, &r.SubjectID, &r.Owner, &r.AcceptedAt, &digest, &r.Content, &value, &der, &signedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, transactions.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read receipt: %w", err)
	}
	copy(r.Digest[:], digest)
	if value != nil {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return r, fmt.Errorf("read receipt: signing certificate: %w", err)
		}
		r.Signature = &transactions.Signature{Value: value, Certificate: cert, SignedAt: *signedAt}
	}
	return r, nil
}

// RegisterCertificate implements transactions.Store.
func (s *Transactions) RegisterCertificate(ctx context.Context, der []byte) error {
	sum := sha256.Sum256(der)
	if _, err := s.pool.Exec(ctx, `INSERT INTO signing_certificates (sha256, der) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sum[:], der); err != nil {
		return fmt.Errorf("register signing certificate: %w", err)
	}
	return nil
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertReceipt writes an unsigned receipt in the caller's transaction, so
// that it is durable together with what it attests; the receipt signer
// signs it afterwards (or when it is first fetched).
func insertReceipt(ctx context.Context, q execer, r transactions.Receipt) error {
	_, err := q.Exec(ctx, `
		INSERT INTO receipts (id, kind, subject_id, owner_reg_no, accepted_at, digest, content) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.Kind, r.SubjectID, r.Owner, r.AcceptedAt, r.Digest[:], r.Content)
	if err != nil {
		return fmt.Errorf("insert %s receipt: %w", r.Kind, err)
	}
	return nil
}

// SaveSignatures implements transactions.Store.
func (s *Transactions) SaveSignatures(ctx context.Context, certSHA256 [32]byte, values map[uuid.UUID][]byte, at time.Time) error {
	ids := make([]uuid.UUID, 0, len(values))
	vals := make([][]byte, 0, len(values))
	for id, v := range values {
		ids = append(ids, id)
		vals = append(vals, v)
	}
	// A signature lost in a database crash is made again (by the sweep or
	// when the receipt is fetched), so its commit need not wait for the
	// disk: the pushes' own commits do not queue behind it.
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO OFF`)
	b.Queue(`
		INSERT INTO receipt_signatures (receipt_id, value, certificate_sha256, signed_at)
		SELECT x.id, x.value, $3, $4 FROM unnest($1::uuid[], $2::bytea[]) AS x(id, value)
		ON CONFLICT (receipt_id) DO NOTHING`, ids, vals, certSHA256[:], at)
	b.Queue(`COMMIT`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store receipt signatures: %w", err)
	}
	return nil
}

// UnsignedReceipts implements transactions.Store.
func (s *Transactions) UnsignedReceipts(ctx context.Context, after, before uuid.UUID, limit int) ([]transactions.Receipt, uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id, r.digest, r.content, s.receipt_id IS NOT NULL
		FROM receipts r LEFT JOIN receipt_signatures s ON s.receipt_id = r.id
		WHERE r.id > $1 AND r.id < $2
		ORDER BY r.id LIMIT $3`, after, before, limit)
	if err != nil {
		return nil, uuid.UUID{}, fmt.Errorf("unsigned receipts: %w", err)
	}
	defer rows.Close()
	var out []transactions.Receipt
	var last uuid.UUID
	for rows.Next() {
		var r transactions.Receipt
		var digest []byte
		var signed bool
		if err := rows.Scan(&r.ID, &digest, &r.Content, &signed); err != nil {
			return nil, uuid.UUID{}, fmt.Errorf("unsigned receipts: %w", err)
		}
		last = r.ID
		if !signed {
			copy(r.Digest[:], digest)
			out = append(out, r)
		}
	}
	return out, last, rows.Err()
}
