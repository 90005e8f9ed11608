package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	Org   string `json:"org"`
	Roles []Role `json:"roles"`
}

// Tokens issues and verifies access tokens, signed with the gateway's
// Ed25519 key. Verified tokens are remembered until they expire, so the hot
// path of a busy client is a map lookup, not a signature check.
type Tokens struct {
	key    ed25519.PrivateKey
	pub    ed25519.PublicKey
	issuer string
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser

	mu       sync.RWMutex
	verified map[[32]byte]verifiedToken
	maxCache int
}

type verifiedToken struct {
	p   Principal
	exp time.Time
}

// NewTokens builds the token service. issuer is the gateway's public URL.
func NewTokens(key ed25519.PrivateKey, issuer string, ttl time.Duration, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		key:    key,
		pub:    key.Public().(ed25519.PublicKey),
		issuer: issuer,
		ttl:    ttl,
		now:    now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(issuer),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(now),
		),
		verified: make(map[[32]byte]verifiedToken),
		maxCache: 100_000,
	}
}

// TTL is how long issued tokens live.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs an access token for p.
func (t *Tokens) Issue(p Principal) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, fmt.Errorf("token id: %w", err)
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   p.ClientID,
			Audience:  jwt.ClaimStrings{t.issuer},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		Org:   p.OrgRegNo,
		Roles: p.Roles,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// Verify checks an access token and returns its principal.
func (t *Tokens) Verify(token string) (Principal, error) {
	// The token's bytes are hashed in place: converting a 600-byte token to
	// a []byte cost an allocation on every request. Sum256 only reads.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	now := t.now()
	t.mu.RLock()
	v, ok := t.verified[key]
	t.mu.RUnlock()
	if ok {
		if now.Before(v.exp) {
			return v.p, nil
		}
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrTokenExpired)
	}
	var claims accessClaims
	if _, err := t.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.pub, nil }); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Principal{}, fmt.Errorf("%w: %w: %w", ErrInvalidToken, ErrTokenExpired, err)
		}
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.Subject == "" || claims.Org == "" || len(claims.Roles) == 0 {
		return Principal{}, fmt.Errorf("%w: missing claims", ErrInvalidToken)
	}
	p := Principal{ClientID: claims.Subject, OrgRegNo: claims.Org, Roles: claims.Roles}
	t.remember(key, verifiedToken{p: p, exp: claims.ExpiresAt.Time})
	return p, nil
}

func (t *Tokens) remember(key [32]byte, v verifiedToken) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.verified) >= t.maxCache {
		now := t.now()
		for k, old := range t.verified {
			if !now.Before(old.exp) {
				delete(t.verified, k)
			}
		}
		// Still full of live tokens: start over rather than grow without bound.
		if len(t.verified) >= t.maxCache {
			clear(t.verified)
		}
	}
	t.verified[key] = v
}

// LoadOrCreateKey reads an Ed25519 private key (PKCS#8 PEM) from path, or
// creates one there if the file does not exist, and says whether it did.
// The key is written to a temporary file and linked into place, so that
// instances starting together on one host end up with the same complete
// key, and a crash never leaves an empty key file behind. Where the file
// system has no hard links the file is created exclusively and then
// written: a crash in between leaves it empty (the error says so; delete
// it), and instances starting together read it until it is complete.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	return loadOrCreateKey(path, os.Link)
}

// loadOrCreateKey is LoadOrCreateKey with the hard-link call given, so that
// tests can stand in for a file system without hard links.
func loadOrCreateKey(path string, link func(oldname, newname string) error) (ed25519.PrivateKey, bool, error) {
	// Without hard links another instance starting at the same moment
	// creates the file first and writes it after: a key read empty or cut
	// short is read again for a while before it counts as broken, and one
	// that vanished (its writer failed) is created here.
	deadline := time.Now().Add(keyWriteWait)
	for {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			priv, cerr := createKey(path, link)
			if cerr == nil {
				return priv, true, nil
			}
			if !errors.Is(cerr, os.ErrExist) || time.Now().After(deadline) {
				return nil, false, cerr
			}
			time.Sleep(20 * time.Millisecond)
			continue // another instance created it first: read theirs
		}
		if err != nil {
			return nil, false, fmt.Errorf("read token key: %w", err)
		}
		priv, err := parseKey(path, data)
		if err == nil || time.Now().After(deadline) {
			return priv, false, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keyWriteWait is how long a token key that does not parse is read again
// while another instance may still be writing it (a slow network file
// system included).
const keyWriteWait = 10 * time.Second

// createKey writes a new key to path, put in place with link; an error
// wrapping os.ErrExist means another process created it first.
func createKey(path string, link func(oldname, newname string) error) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode token key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-key-*")
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	defer os.Remove(tmp.Name())
	werr := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write token key: %w", werr)
	}
	// A hard link fails if path exists: the first complete key wins.
	err = link(tmp.Name(), path)
	if err == nil {
		return priv, nil
	}
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	// Some shared file systems (SMB, some FUSE mounts) have no hard
	// links: create the file exclusively instead, then write it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	werr = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write token key: %w", werr)
	}
	return priv, nil
}

func parseKey(path string, data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		if len(data) == 0 {
			return nil, fmt.Errorf("token key %s is empty (a start interrupted while writing it?): delete it to make a new one, which ends the tokens issued so far", path)
		}
		return nil, fmt.Errorf("token key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("token key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// ClientKey is a client's registered key for private_key_jwt.
type ClientKey struct {
	Public crypto.PublicKey
	// Cert is the certificate the key was registered as, or nil for a
	// bare public key.
	Cert *x509.Certificate
}

// Errors of a registered certificate outside its validity period.
var (
	ErrCertificateExpired     = errors.New("client certificate expired")
	ErrCertificateNotYetValid = errors.New("client certificate not yet valid")
)

// ValidAt returns an error wrapping ErrCertificateExpired or
// ErrCertificateNotYetValid when the key is a certificate that is not
// valid at t; a bare public key has no validity period.
func (k ClientKey) ValidAt(t time.Time) error {
	switch {
	case k.Cert == nil:
		return nil
	case t.After(k.Cert.NotAfter):
		return fmt.Errorf("%w on %s", ErrCertificateExpired, k.Cert.NotAfter.UTC().Format(time.RFC3339))
	case t.Before(k.Cert.NotBefore):
		return fmt.Errorf("%w until %s", ErrCertificateNotYetValid, k.Cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParseClientKey reads a client's registered key: a PEM public key or an
// X.509 certificate (as DAGR registers technical clients).
func ParseClientKey(pemText string) (ClientKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return ClientKey{}, errors.New("no PEM block")
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return ClientKey{}, fmt.Errorf("parse certificate: %w", err)
		}
		return ClientKey{Public: cert.PublicKey, Cert: cert}, nil
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return ClientKey{}, fmt.Errorf("parse public key: %w", err)
		}
		return ClientKey{Public: pub}, nil
	default:
		return ClientKey{}, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
}
