package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/personcode"
)

// Means stores identification means.
type Means struct {
	pool *pgxpool.Pool
}

// NewMeans returns the means storage on pool.
func NewMeans(pool *pgxpool.Pool) *Means { return &Means{pool: pool} }

var _ means.Store = (*Means)(nil)

const meansColumns = `means_type, number, grantor_reg_no, person_code, valid_from, valid_to, status, created_at, updated_at`

func scanMeans(row pgx.Row) (means.Means, error) {
	var m means.Means
	var code string
	if err := row.Scan(&m.Type, &m.Number, &m.Grantor, &code, &m.ValidFrom, &m.ValidTo, &m.Status, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return m, err
	}
	m.PersonCode = personcode.Code(code)
	return m, nil
}

// Get implements means.Store.
func (s *Means) Get(ctx context.Context, t means.Type, number string) (means.Means, error) {
	m, err := scanMeans(s.pool.QueryRow(ctx, `SELECT `+meansColumns+` FROM identification_means WHERE means_type = $1 AND number = $2`, t, number))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, means.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("get means: %w", err)
	}
	return m, nil
}

// Upsert implements means.Store. The ownership check is part of the one
// statement, so two grantors racing for a number cannot both win.
func (s *Means) Upsert(ctx context.Context, m means.Means) (means.Means, bool, error) {
	var created bool
	row := s.pool.QueryRow(ctx, `
		INSERT INTO identification_means AS im (means_type, number, grantor_reg_no, person_code, valid_from, valid_to, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)
		ON CONFLICT (means_type, number) DO UPDATE
		SET person_code = EXCLUDED.person_code, valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to,
		    status = 'active', updated_at = EXCLUDED.updated_at
		WHERE im.grantor_reg_no = EXCLUDED.grantor_reg_no
		RETURNING `+meansColumns+`, (xmax = 0)`,
		m.Type, m.Number, m.Grantor, string(m.PersonCode), m.ValidFrom, m.ValidTo, m.CreatedAt)
	var out means.Means
	var code string
	err := row.Scan(&out.Type, &out.Number, &out.Grantor, &code, &out.ValidFrom, &out.ValidTo, &out.Status, &out.CreatedAt, &out.UpdatedAt, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		// The conflict's WHERE refused the update: another grantor's number.
		return means.Means{}, false, means.ErrNotOwner
	}
	if err != nil {
		return means.Means{}, false, fmt.Errorf("register means: %w", err)
	}
	out.PersonCode = personcode.Code(code)
	return out, created, nil
}

// Revoke implements means.Store.
func (s *Means) Revoke(ctx context.Context, t means.Type, number, grantor string, at time.Time) error {
	var owner string
	err := s.pool.QueryRow(ctx, `
		WITH cur AS (SELECT grantor_reg_no FROM identification_means WHERE means_type = $1 AND number = $2),
		upd AS (
			UPDATE identification_means SET status = 'revoked', updated_at = $4
			WHERE means_type = $1 AND number = $2 AND grantor_reg_no = $3 AND status = 'active'
			RETURNING 1)
		SELECT grantor_reg_no FROM cur`, t, number, grantor, at).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return means.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke means: %w", err)
	}
	if owner != grantor {
		return means.ErrNotOwner
	}
	return nil
}
