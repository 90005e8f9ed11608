package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// memClients is a ClientStore in memory.
type memClients struct {
	mu      sync.Mutex
	clients map[string]Client
	jtis    map[string]bool
}

func (m *memClients) Client(_ context.Context, id string) (Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return Client{}, ErrClientNotFound
	}
	return c, nil
}

func (m *memClients) AddClient(_ context.Context, c Client) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ID]; ok {
		return ErrClientExists
	}
	m.clients[c.ID] = c
	return nil
}

func (m *memClients) ListClients(context.Context) ([]Client, error) { return nil, nil }

func (m *memClients) RevokeClient(context.Context, string, time.Time) error { return nil }

func (m *memClients) RememberAssertion(_ context.Context, clientID, jti string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jtis[clientID+" "+jti] {
		return ErrAssertionReplay
	}
	m.jtis[clientID+" "+jti] = true
	return nil
}

// selfSigned makes a PEM certificate of key valid from notBefore to
// notAfter.
func selfSigned(t *testing.T, key *ecdsa.PrivateKey, notBefore, notAfter time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: notBefore, NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// A client registered with a certificate authenticates only while the
// certificate is valid, by the service's clock.
func TestAssertionWithCertificateValidity(t *testing.T) {
	// Far from the wall clock, so that only the service's clock can
	// decide.
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	bare := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	tests := []struct {
		name    string
		pem     string
		wantErr error // nil: a token is issued
	}{
		{"bare public key", bare, nil},
		{"certificate valid now", selfSigned(t, key, now.Add(-time.Hour), now.Add(time.Hour)), nil},
		{"certificate expired a minute ago", selfSigned(t, key, now.Add(-365*24*time.Hour), now.Add(-time.Minute)), ErrCertificateExpired},
		{"certificate valid only from tomorrow", selfSigned(t, key, now.Add(24*time.Hour), now.Add(48*time.Hour)), ErrCertificateNotYetValid},
		// Valid by the wall clock but not by the service's.
		{"certificate expired before the service's now", selfSigned(t, key, time.Now().Add(-time.Hour), now.Add(-24*time.Hour)), ErrCertificateExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			store := &memClients{clients: map[string]Client{}, jtis: map[string]bool{}}
			if err := store.AddClient(context.Background(), Client{ID: "keyed", OrgRegNo: "40000000001", Roles: []Role{RoleProvider}, PublicKeyPEM: tt.pem}); err != nil {
				t.Fatal(err)
			}
			tokens := NewTokens(mustKey(t), "http://gw", 5*time.Minute, func() time.Time { return now })
			svc := NewService(store, tokens, "http://gw/oauth/token", slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return now })
			assertion, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
				Issuer: "keyed", Subject: "keyed", Audience: jwt.ClaimStrings{"http://gw/oauth/token"}, ID: "jti-1",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
			}).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := svc.Issue(context.Background(), TokenRequest{GrantType: "client_credentials", ClientAssertionType: AssertionType, ClientAssertion: assertion}, nil)
			if tt.wantErr == nil {
				if err != nil || tok.AccessToken == "" {
					t.Fatalf("Issue = %+v, %v; want a token", tok, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidClient) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Issue error %v, want invalid_client because %v", err, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantErr.Error()) || !strings.Contains(logs.String(), "client_id=keyed") {
				t.Fatalf("log does not give the cause %q:\n%s", tt.wantErr, logs.String())
			}
			if strings.Contains(logs.String(), assertion) || strings.Contains(logs.String(), strings.Split(assertion, ".")[2]) {
				t.Fatal("the assertion reached the log")
			}
		})
	}
}

func mustKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// failingClients is a client store whose database does not answer.
type failingClients struct{ *memClients }

var errStoreDown = errors.New("database unreachable")

func (failingClients) Client(context.Context, string) (Client, error) { return Client{}, errStoreDown }

// When the client store fails, a token request is not refused as
// invalid_client (401: "your credentials are wrong") but fails with the
// store's error, which the HTTP layer answers 503 when the database is
// unreachable: for a secret and for an assertion alike.
func TestClientStoreFailureIsNoVerdict(t *testing.T) {
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer: "keyed", Subject: "keyed", Audience: jwt.ClaimStrings{"http://gw/oauth/token"}, ID: "jti-1",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(failingClients{&memClients{}}, NewTokens(mustKey(t), "http://gw", time.Minute, nil), "http://gw/oauth/token", nil, nil)
	for name, req := range map[string]TokenRequest{
		"secret":    {GrantType: "client_credentials", ClientID: "riga", ClientSecret: "s"},
		"assertion": {GrantType: "client_credentials", ClientAssertionType: AssertionType, ClientAssertion: assertion},
	} {
		_, err := svc.Issue(context.Background(), req, nil)
		if errors.Is(err, ErrInvalidClient) || !errors.Is(err, errStoreDown) {
			t.Errorf("%s: %v, want the store's error and no invalid_client", name, err)
		}
	}
}
