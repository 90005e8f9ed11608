package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AssertionType is the RFC 7523 client assertion type.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// TokenRequest is a client-credentials grant as received.
type TokenRequest struct {
	GrantType           string
	ClientID            string
	ClientSecret        string
	ClientAssertionType string
	ClientAssertion     string
	Scope               string
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   int
	Scope       string
}

// Service authenticates clients and issues tokens.
type Service struct {
	clients  ClientStore
	tokens   *Tokens
	tokenURL string
	log      *slog.Logger
	now      func() time.Time
}

// NewService builds the service. tokenURL is the audience a client
// assertion must name: the gateway's public URL of POST /oauth/token.
func NewService(clients ClientStore, tokens *Tokens, tokenURL string, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{clients: clients, tokens: tokens, tokenURL: tokenURL, log: log, now: now}
}

// Issue authenticates the client of req and issues an access token. admit
// (may be nil) is asked, once the client is authenticated and before a
// token is made, whether that client may have one now; its error is
// returned as is.
func (s *Service) Issue(ctx context.Context, req TokenRequest, admit func(clientID string) error) (Token, error) {
	if req.GrantType != "client_credentials" {
		return Token{}, ErrUnsupported
	}
	var (
		c   Client
		err error
	)
	switch {
	case req.ClientAssertion != "" || req.ClientAssertionType != "":
		if req.ClientAssertionType != AssertionType || req.ClientSecret != "" {
			return Token{}, fmt.Errorf("%w: client_assertion_type must be %s and no secret may be sent with it", ErrInvalidRequest, AssertionType)
		}
		c, err = s.authenticateAssertion(ctx, req.ClientID, req.ClientAssertion)
	case req.ClientID != "" && req.ClientSecret != "":
		c, err = s.authenticateSecret(ctx, req.ClientID, req.ClientSecret)
	default:
		return Token{}, fmt.Errorf("%w: send client_id with client_secret, or a client_assertion", ErrInvalidClient)
	}
	if err != nil {
		return Token{}, err
	}
	if admit != nil {
		if err := admit(c.ID); err != nil {
			return Token{}, err
		}
	}
	roles := c.Roles
	if req.Scope != "" {
		roles = nil
		for _, sc := range strings.Fields(req.Scope) {
			r := Role(sc)
			if !slices.Contains(c.Roles, r) {
				return Token{}, ErrInvalidScope
			}
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	p := Principal{ClientID: c.ID, OrgRegNo: c.OrgRegNo, Roles: roles}
	tok, exp, err := s.tokens.Issue(p)
	if err != nil {
		return Token{}, err
	}
	scope := make([]string, len(roles))
	for i, r := range roles {
		scope[i] = string(r)
	}
	return Token{AccessToken: tok, ExpiresIn: int(exp.Sub(s.now()).Round(time.Second).Seconds()), Scope: strings.Join(scope, " ")}, nil
}

func (s *Service) activeClient(ctx context.Context, id string) (Client, error) {
	c, err := s.clients.Client(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		return Client{}, fmt.Errorf("%w: unknown client", ErrInvalidClient)
	}
	if err != nil {
		return Client{}, fmt.Errorf("look up client: %w", err)
	}
	if c.RevokedAt != nil {
		return Client{}, fmt.Errorf("%w: client revoked", ErrInvalidClient)
	}
	return c, nil
}

func (s *Service) authenticateSecret(ctx context.Context, id, secret string) (Client, error) {
	c, err := s.activeClient(ctx, id)
	if err != nil {
		return Client{}, err
	}
	if secretMatches(c.SecretHash, secret) {
		return c, nil
	}
	if c.PreviousSecretUntil != nil && s.now().Before(*c.PreviousSecretUntil) && secretMatches(c.PreviousSecretHash, secret) {
		return c, nil
	}
	return Client{}, fmt.Errorf("%w: wrong secret", ErrInvalidClient)
}

// assertionMethods are the signature algorithms accepted in client
// assertions; "none" and HMAC (which would need a shared secret) are not.
var assertionMethods = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// maxAssertionLifetime bounds how far ahead an assertion's exp may be, which
// also bounds how long its jti must be remembered.
const maxAssertionLifetime = 5 * time.Minute

func (s *Service) authenticateAssertion(ctx context.Context, id, assertion string) (Client, error) {
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods(assertionMethods),
		jwt.WithAudience(s.tokenURL),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
		jwt.WithLeeway(5*time.Second),
	)
	var client Client
	var lookupErr error // the client store failed: no verdict on the assertion
	_, err := parser.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		sub, _ := t.Claims.GetSubject()
		if iss == "" || iss != sub || (id != "" && id != iss) {
			return nil, errors.New("iss and sub must both be the client id")
		}
		c, err := s.activeClient(ctx, iss)
		if err != nil {
			if !errors.Is(err, ErrInvalidClient) {
				lookupErr = err
			}
			return nil, err
		}
		if c.PublicKeyPEM == "" {
			return nil, errors.New("client has no registered key")
		}
		client = c
		k, err := ParseClientKey(c.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		// A certificate attests its key only within its validity period.
		if err := k.ValidAt(s.now()); err != nil {
			s.log.WarnContext(ctx, "client assertion refused: the registered certificate is outside its validity period",
				"client_id", c.ID, "error", err)
			return nil, err
		}
		return k.Public, nil
	})
	if lookupErr != nil {
		// The database failed, not the client: 503, not invalid_client.
		return Client{}, lookupErr
	}
	if err != nil {
		return Client{}, fmt.Errorf("%w: assertion: %w", ErrInvalidClient, err)
	}
	if claims.ID == "" {
		return Client{}, fmt.Errorf("%w: assertion has no jti", ErrInvalidClient)
	}
	if claims.ExpiresAt.Time.After(s.now().Add(maxAssertionLifetime)) {
		return Client{}, fmt.Errorf("%w: assertion expires too far ahead", ErrInvalidClient)
	}
	if err := s.clients.RememberAssertion(ctx, client.ID, claims.ID, claims.ExpiresAt.Time); err != nil {
		if errors.Is(err, ErrAssertionReplay) {
			return Client{}, fmt.Errorf("%w: %w", ErrInvalidClient, err)
		}
		return Client{}, fmt.Errorf("remember assertion: %w", err)
	}
	return client, nil
}

// NewClientSecret makes a random client secret.
func NewClientSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("client secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
