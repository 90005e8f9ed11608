package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/transactions"
)

// FeedChannel is the PostgreSQL notification channel that carries the
// instruction feed's newest change number to every gateway instance.
const FeedChannel = "avis_instruction_feed"

// Benefits stores benefit versions and the providers' instruction feeds.
type Benefits struct {
	pool *pgxpool.Pool
}

// NewBenefits returns the benefits storage on pool.
func NewBenefits(pool *pgxpool.Pool) *Benefits { return &Benefits{pool: pool} }

var _ benefits.Store = (*Benefits)(nil)

const benefitColumns = `b.id, b.grantor_reg_no, v.version, v.status, b.created_at, v.created_at, v.receipt_id, v.instruction`

func scanBenefit(row pgx.Row) (benefits.Benefit, error) {
	var b benefits.Benefit
	var doc []byte
	if err := row.Scan(&b.ID, &b.Grantor, &b.Version, &b.Status, &b.CreatedAt, &b.UpdatedAt, &b.ReceiptID, &doc); err != nil {
		return b, err
	}
	if err := json.Unmarshal(doc, &b.Instruction); err != nil {
		return b, fmt.Errorf("decode instruction of %s v%d: %w", b.ID, b.Version, err)
	}
	return b, nil
}

// Latest implements benefits.Store.
func (s *Benefits) Latest(ctx context.Context, id string) (benefits.Benefit, error) {
	b, err := scanBenefit(s.pool.QueryRow(ctx, `
		SELECT `+benefitColumns+`
		FROM benefits b JOIN benefit_versions v ON v.benefit_id = b.id AND v.version = b.current_version
		WHERE b.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, benefits.ErrNotFound
	}
	return b, err
}

// Version implements benefits.Store.
func (s *Benefits) Version(ctx context.Context, id string, version int) (benefits.Benefit, error) {
	b, err := scanBenefit(s.pool.QueryRow(ctx, `
		SELECT `+benefitColumns+`
		FROM benefits b JOIN benefit_versions v ON v.benefit_id = b.id
		WHERE b.id = $1 AND v.version = $2`, id, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, benefits.ErrNotFound
	}
	return b, err
}

// SaveVersion implements benefits.Store.
func (s *Benefits) SaveVersion(ctx context.Context, b benefits.Benefit, createdBy string, notify []benefits.FeedChange) error {
	doc, err := json.Marshal(b.Instruction)
	if err != nil {
		return fmt.Errorf("encode instruction: %w", err)
	}
	return inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if b.Version == 1 {
			_, err := tx.Exec(ctx, `
				INSERT INTO benefits (id, grantor_reg_no, current_version, status, created_at, updated_at)
				VALUES ($1, $2, 1, $3, $4, $4)`, b.ID, b.Grantor, b.Status, b.UpdatedAt)
			if isUniqueViolation(err) {
				return benefits.ErrConcurrentVersion
			}
			if err != nil {
				return fmt.Errorf("insert benefit: %w", err)
			}
		} else {
			tag, err := tx.Exec(ctx, `
				UPDATE benefits SET current_version = $2, status = $3, updated_at = $4
				WHERE id = $1 AND current_version = $2 - 1`, b.ID, b.Version, b.Status, b.UpdatedAt)
			if err != nil {
				return fmt.Errorf("update benefit: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return benefits.ErrConcurrentVersion
			}
		}
		var validTo *time.Time
		if b.ValidTo != nil {
			validTo = b.ValidTo
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO benefit_versions (benefit_id, version, status, instruction, ekk_code, valid_from, valid_to,
				priority, combinable, list_id, registry_group, created_at, created_by, receipt_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, ''), NULLIF($11, ''), $12, $13, $14)`,
			b.ID, b.Version, b.Status, doc, b.EKKCode, b.ValidFrom, validTo,
			b.Priority, b.Combinable, b.RecipientGroup.PersonListID, b.RecipientGroup.RegistryGroup, b.UpdatedAt, createdBy, b.ReceiptID)
		if err != nil {
			return fmt.Errorf("insert benefit version: %w", err)
		}
		if b.ReceiptID != nil {
			rec := transactions.BenefitVersionReceipt(*b.ReceiptID, transactions.BenefitVersion{BenefitID: b.ID, Grantor: b.Grantor,
				Status: string(b.Status), Version: b.Version, InstructionSHA256: sha256.Sum256(doc), CreatedAt: b.UpdatedAt})
			if err := insertReceipt(ctx, tx, rec); err != nil {
				return err
			}
		}
		if len(notify) == 0 {
			return nil
		}
		var seq int64
		if err := tx.QueryRow(ctx, `UPDATE instruction_feed_counter SET seq = seq + 1 RETURNING seq`).Scan(&seq); err != nil {
			return fmt.Errorf("next feed number: %w", err)
		}
		batch := &pgx.Batch{}
		for _, n := range notify {
			admitted := n.Admitted && b.Status == benefits.StatusActive
			batch.Queue(`
				INSERT INTO provider_instructions (provider_reg_no, benefit_id, version, admitted, seq, changed_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (provider_reg_no, benefit_id) DO UPDATE
				SET version = EXCLUDED.version, admitted = EXCLUDED.admitted, seq = EXCLUDED.seq, changed_at = EXCLUDED.changed_at`,
				n.Provider, b.ID, b.Version, admitted, seq, b.UpdatedAt)
		}
		batch.Queue(`SELECT pg_notify($1, $2)`, FeedChannel, fmt.Sprint(seq))
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("record feed change: %w", err)
		}
		return nil
	})
}

// ListByGrantor implements benefits.Store.
func (s *Benefits) ListByGrantor(ctx context.Context, grantor, afterID string, status benefits.Status, limit int) ([]benefits.Benefit, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+benefitColumns+`
		FROM benefits b JOIN benefit_versions v ON v.benefit_id = b.id AND v.version = b.current_version
		WHERE b.grantor_reg_no = $1 AND b.id > $2 AND ($3 = '' OR b.status = $3)
		ORDER BY b.id
		LIMIT $4`, grantor, afterID, string(status), limit)
	if err != nil {
		return nil, fmt.Errorf("list benefits: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (benefits.Benefit, error) { return scanBenefit(r) })
}

// Feed implements benefits.Store.
func (s *Benefits) Feed(ctx context.Context, provider string, since int64, limit int) ([]benefits.FeedItem, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.seq, p.admitted, p.changed_at, `+benefitColumns+`
		FROM provider_instructions p
		JOIN benefits b ON b.id = p.benefit_id
		JOIN benefit_versions v ON v.benefit_id = p.benefit_id AND v.version = p.version
		WHERE p.provider_reg_no = $1 AND p.seq > $2
		ORDER BY p.seq, p.benefit_id
		LIMIT $3`, provider, since, limit)
	if err != nil {
		return nil, fmt.Errorf("instruction feed: %w", err)
	}
	defer rows.Close()
	var out []benefits.FeedItem
	for rows.Next() {
		var it benefits.FeedItem
		var doc []byte
		b := &it.Benefit
		if err := rows.Scan(&it.Seq, &it.Admitted, &it.ChangedAt, &b.ID, &b.Grantor, &b.Version, &b.Status, &b.CreatedAt, &b.UpdatedAt, &b.ReceiptID, &doc); err != nil {
			return nil, fmt.Errorf("instruction feed: %w", err)
		}
		if err := json.Unmarshal(doc, &b.Instruction); err != nil {
			return nil, fmt.Errorf("decode instruction of %s v%d: %w", b.ID, b.Version, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// FeedHead implements benefits.Store.
func (s *Benefits) FeedHead(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM instruction_feed_counter`).Scan(&seq)
	return seq, err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
