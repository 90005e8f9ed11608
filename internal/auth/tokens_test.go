package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestTokens(t *testing.T, now *time.Time) *Tokens {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewTokens(key, "http://gw", 5*time.Minute, func() time.Time { return *now })
}

func TestTokensRoundTripAndExpiry(t *testing.T) {
	now := time.Now()
	tokens := newTestTokens(t, &now)
	p := Principal{ClientID: "c1", OrgRegNo: "90000000001", Roles: []Role{RoleGrantor}}
	tok, exp, err := tokens.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(5 * time.Minute)) {
		t.Fatalf("expiry %v", exp)
	}
	for range 2 { // the second Verify is served from the cache
		got, err := tokens.Verify(tok)
		if err != nil || got.ClientID != "c1" || got.OrgRegNo != "90000000001" || !got.Has(RoleGrantor) || got.Has(RoleProvider) {
			t.Fatalf("Verify = %+v, %v", got, err)
		}
	}
	now = now.Add(6 * time.Minute)
	if _, err := tokens.Verify(tok); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token (cached): %v, want ErrTokenExpired", err)
	}
	sameKey := NewTokens(tokens.key, "http://gw", 5*time.Minute, func() time.Time { return now })
	if _, err := sameKey.Verify(tok); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token (parsed): %v, want ErrTokenExpired", err)
	}
	fresh := newTestTokens(t, &now)
	if _, err := fresh.Verify(tok); !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrTokenExpired) {
		t.Fatalf("token of another key: %v, want ErrInvalidToken and not expired", err)
	}
}

func TestTokensRejectTampering(t *testing.T) {
	now := time.Now()
	tokens := newTestTokens(t, &now)
	tok, _, _ := tokens.Issue(Principal{ClientID: "c1", OrgRegNo: "90000000001", Roles: []Role{RoleGrantor}})
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	for _, bad := range []string{tampered, "", "a.b.c", parts[0] + "." + parts[1] + "."} {
		if _, err := tokens.Verify(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%.20q) = %v, want ErrInvalidToken", bad, err)
		}
	}
}

func TestVerifiedCacheIsBounded(t *testing.T) {
	now := time.Now()
	tokens := newTestTokens(t, &now)
	tokens.maxCache = 10
	for i := range 25 {
		tok, _, _ := tokens.Issue(Principal{ClientID: "c", OrgRegNo: "90000000001", Roles: []Role{RoleProvider}})
		if _, err := tokens.Verify(tok); err != nil {
			t.Fatal(i, err)
		}
		if len(tokens.verified) > 10 {
			t.Fatalf("cache grew to %d", len(tokens.verified))
		}
	}
}

func TestLoadOrCreateKeyIsStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	a, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first load: created %v, %v", created, err)
	}
	b, created, err := LoadOrCreateKey(path)
	if err != nil || created || !a.Equal(b) {
		t.Fatalf("second load gave another key (created %v): %v", created, err)
	}
}

// Instances starting together all end up with the one key that was
// written completely, and no temporary file stays behind.
func TestLoadOrCreateKeyRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.key")
	keys := make([]ed25519.PrivateKey, 16)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], _, errs[i] = LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || !keys[i].Equal(keys[0]) {
			t.Fatalf("instance %d: %v (same key: %v)", i, errs[i], keys[i].Equal(keys[0]))
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left in the key directory: %v", entries)
	}
}

func TestSecretHashing(t *testing.T) {
	s, err := NewClientSecret()
	if err != nil || len(s) < 40 {
		t.Fatalf("secret %q, %v", s, err)
	}
	if !secretMatches(HashSecret(s), s) || secretMatches(HashSecret(s), s+"x") || secretMatches(nil, s) {
		t.Fatal("secretMatches is wrong")
	}
}
