// Package auth authenticates API clients with OAuth 2.0 client credentials
// (a client secret or a private_key_jwt assertion), issues short-lived access
// tokens that carry the organisation's registration number and roles, and
// verifies those tokens on every request.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"time"
)

// Role is what an organisation may do.
type Role string

const (
	RoleGrantor  Role = "grantor"
	RoleProvider Role = "provider"
	RoleAdmin    Role = "admin"
)

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	return r == RoleGrantor || r == RoleProvider || r == RoleAdmin
}

// Principal is the authenticated caller of a request.
type Principal struct {
	ClientID string
	OrgRegNo string
	Roles    []Role
}

// Has reports whether the principal holds role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// Client is a registered API client.
type Client struct {
	ID           string
	OrgRegNo     string
	OrgName      string
	Roles        []Role
	SecretHash   []byte // SHA-256 of the secret; nil when the client uses a key
	PublicKeyPEM string // public key or certificate for private_key_jwt
	Description  string
	CreatedAt    time.Time
	RevokedAt    *time.Time
	// PreviousSecretHash is the secret before the last rotation, still
	// accepted until PreviousSecretUntil.
	PreviousSecretHash  []byte
	PreviousSecretUntil *time.Time
}

// Errors of authentication. They are deliberately coarse towards the client:
// which part of a credential was wrong is logged, not answered.
var (
	ErrInvalidClient  = errors.New("invalid client credentials")
	ErrInvalidRequest = errors.New("invalid token request")
	ErrUnsupported    = errors.New("unsupported grant type")
	ErrInvalidScope   = errors.New("requested scope exceeds the client's roles")
	ErrInvalidToken   = errors.New("invalid access token")
	// ErrTokenExpired comes with ErrInvalidToken for a token that was
	// good but is past its expiry: the one failure a client fixes by
	// itself, with a new token.
	ErrTokenExpired    = errors.New("access token expired")
	ErrClientNotFound  = errors.New("client not found")
	ErrClientExists    = errors.New("client already exists")
	ErrAssertionReplay = errors.New("client assertion already used")
)

// ClientStore keeps registered clients.
type ClientStore interface {
	Client(ctx context.Context, id string) (Client, error)
	AddClient(ctx context.Context, c Client) error
	ListClients(ctx context.Context) ([]Client, error)
	RevokeClient(ctx context.Context, id string, at time.Time) error
	// RememberAssertion records a private_key_jwt assertion id; it returns
	// ErrAssertionReplay if the client used it before.
	RememberAssertion(ctx context.Context, clientID, jti string, expires time.Time) error
}

// HashSecret is how client secrets are stored. Secrets are 256-bit random
// keys made by the gateway, so a fast hash is as strong as a slow one.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// HasSecret reports whether secret is the client's.
func (c Client) HasSecret(secret string) bool { return secretMatches(c.SecretHash, secret) }

func secretMatches(hash []byte, secret string) bool {
	if len(hash) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(hash, HashSecret(secret)) == 1
}
