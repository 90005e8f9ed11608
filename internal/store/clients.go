package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/auth"
)

// Clients stores organisations and their API clients.
type Clients struct {
	pool *pgxpool.Pool
}

// NewClients returns the client storage on pool.
func NewClients(pool *pgxpool.Pool) *Clients { return &Clients{pool: pool} }

var _ auth.ClientStore = (*Clients)(nil)

const clientColumns = `c.id, c.org_reg_no, o.name, c.roles, c.secret_hash, coalesce(c.public_key_pem, ''), c.description, c.created_at, c.revoked_at,
	c.previous_secret_hash, c.previous_secret_until`

func scanClient(row pgx.Row) (auth.Client, error) {
	var c auth.Client
	var roles []string
	err := row.Scan(&c.ID, &c.OrgRegNo, &c.OrgName, &roles, &c.SecretHash, &c.PublicKeyPEM, &c.Description, &c.CreatedAt, &c.RevokedAt,
		&c.PreviousSecretHash, &c.PreviousSecretUntil)
	for _, r := range roles {
		c.Roles = append(c.Roles, auth.Role(r))
	}
	return c, err
}

// Client implements auth.ClientStore.
func (s *Clients) Client(ctx context.Context, id string) (auth.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `
		SELECT `+clientColumns+` FROM clients c JOIN organisations o ON o.reg_no = c.org_reg_no
		WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, auth.ErrClientNotFound
	}
	if err != nil {
		return c, fmt.Errorf("client %s: %w", id, err)
	}
	return c, nil
}

// AddClient implements auth.ClientStore. The organisation is created or
// renamed in the same transaction.
func (s *Clients) AddClient(ctx context.Context, c auth.Client) error {
	roles := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = string(r)
	}
	return inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO organisations (reg_no, name) VALUES ($1, $2)
			ON CONFLICT (reg_no) DO UPDATE SET name = CASE WHEN EXCLUDED.name = '' THEN organisations.name ELSE EXCLUDED.name END`,
			c.OrgRegNo, c.OrgName); err != nil {
			return fmt.Errorf("save organisation: %w", err)
		}
		var pub *string
		if c.PublicKeyPEM != "" {
			pub = &c.PublicKeyPEM
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO clients (id, org_reg_no, roles, secret_hash, public_key_pem, description)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.OrgRegNo, roles, c.SecretHash, pub, c.Description)
		if isUniqueViolation(err) {
			return auth.ErrClientExists
		}
		if err != nil {
			return fmt.Errorf("save client: %w", err)
		}
		return nil
	})
}

// ListClients implements auth.ClientStore.
func (s *Clients) ListClients(ctx context.Context) ([]auth.Client, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+clientColumns+` FROM clients c JOIN organisations o ON o.reg_no = c.org_reg_no
		ORDER BY c.org_reg_no, c.id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Client, error) { return scanClient(r) })
}

// RevokeClient implements auth.ClientStore.
func (s *Clients) RevokeClient(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, id, at)
	if err != nil {
		return fmt.Errorf("revoke client %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrClientNotFound
	}
	return nil
}

// RememberAssertion implements auth.ClientStore. Expired assertion ids are
// swept on the way, so the table holds at most a few minutes of them.
func (s *Clients) RememberAssertion(ctx context.Context, clientID, jti string, expires time.Time) error {
	return inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM client_assertions WHERE expires_at < now() - interval '1 minute'`); err != nil {
			return fmt.Errorf("sweep assertions: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)`, clientID, jti, expires)
		if isUniqueViolation(err) {
			return auth.ErrAssertionReplay
		}
		return err
	})
}

// ErrRotationInProgress is a rotation asked for while the previous
// secret of the last one is still accepted.
var ErrRotationInProgress = errors.New("a rotation is in progress")

// RotateSecret gives an active client that authenticates with a secret a
// new one; the secret it had stays valid for overlap more, by the
// database's clock (0 forgets it at once). While the previous rotation's
// overlap runs, it is refused (ErrRotationInProgress, with when it ends)
// unless force: a second rotation would end the secret the integrator
// may still be using. It returns when the old secret stops working.
func (s *Clients) RotateSecret(ctx context.Context, id string, hash []byte, overlap time.Duration, force bool) (time.Time, error) {
	var until time.Time
	err := s.pool.QueryRow(ctx, `
		UPDATE clients SET
			previous_secret_hash = CASE WHEN $3::float8 > 0 THEN secret_hash END,
			previous_secret_until = now() + make_interval(secs => $3::float8),
			secret_hash = $2
		WHERE id = $1 AND revoked_at IS NULL AND secret_hash IS NOT NULL
		  AND ($4 OR previous_secret_until IS NULL OR previous_secret_until <= now())
		RETURNING previous_secret_until`, id, hash, overlap.Seconds(), force).Scan(&until)
	if err == nil {
		return until, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, fmt.Errorf("rotate secret of %s: %w", id, err)
	}
	c, err := s.Client(ctx, id)
	switch {
	case err != nil:
		return time.Time{}, err
	case c.RevokedAt != nil:
		return time.Time{}, fmt.Errorf("client %s is revoked", id)
	case c.SecretHash == nil:
		return time.Time{}, fmt.Errorf("client %s authenticates with a key (private_key_jwt), not a secret", id)
	case c.PreviousSecretUntil != nil:
		return time.Time{}, fmt.Errorf("%w: the previous secret of %s works until %s", ErrRotationInProgress, id, c.PreviousSecretUntil.UTC().Format(time.RFC3339))
	default: // changed between the two statements
		return time.Time{}, fmt.Errorf("client %s changed meanwhile; try again", id)
	}
}

// SetSecretHash gives a client a new secret. A revoked client stays
// revoked: revocation is an operator's decision no secret undoes.
func (s *Clients) SetSecretHash(ctx context.Context, id string, hash []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET secret_hash = $2 WHERE id = $1`, id, hash)
	if err != nil {
		return fmt.Errorf("set secret of %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrClientNotFound
	}
	return nil
}
