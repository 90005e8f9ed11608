package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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

// Shared file systems without hard links (SMB, some FUSE mounts) fail
// link(2) with EPERM or ENOTSUP, not EEXIST: the key is then created
// exclusively in place instead of the gateway refusing to start.
func TestLoadOrCreateKeyWithoutHardLinks(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.ENOTSUP} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token.key")
			noLinks := func(oldname, newname string) error {
				return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errno}
			}
			key, created, err := loadOrCreateKey(path, noLinks)
			if err != nil || !created {
				t.Fatalf("created %v, %v", created, err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("key file mode %v: readable by others", perm)
			}
			again, created, err := LoadOrCreateKey(path)
			if err != nil || created || !again.Equal(key) {
				t.Fatalf("the key written without a link does not load back (created %v): %v", created, err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("files left in the key directory: %v", entries)
			}
		})
	}
}

// Without hard links, a key another instance put in place after this one
// found none is kept, not overwritten: the fallback's create is exclusive.
func TestLoadOrCreateKeyWithoutHardLinksKeepsTheFirstKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	var theirs ed25519.PrivateKey
	otherInstanceFirst := func(oldname, newname string) error {
		// The other instance completes its key between our read and our
		// create; our own link then fails as links do on SMB.
		var err error
		if theirs, _, err = LoadOrCreateKey(newname); err != nil {
			t.Fatal(err)
		}
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	key, created, err := loadOrCreateKey(path, otherInstanceFirst)
	if err != nil || created || theirs == nil || !key.Equal(theirs) {
		t.Fatalf("created %v, same key as the other instance %v: %v", created, key.Equal(theirs), err)
	}
	onDisk, _, err := LoadOrCreateKey(path)
	if err != nil || !onDisk.Equal(theirs) {
		t.Fatalf("the other instance's key was replaced on disk: %v", err)
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

// Without hard links, instances starting together on one host all end up
// with the key the first one created, although it is created empty and
// written after: the others read it again until it is complete.
func TestLoadOrCreateKeyWithoutHardLinksRace(t *testing.T) {
	noLink := func(o, n string) error { return &os.LinkError{Op: "link", Old: o, New: n, Err: syscall.EPERM} }
	for round := range 50 {
		path := filepath.Join(t.TempDir(), "token.key")
		keys := make([]ed25519.PrivateKey, 8)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() { keys[i], _, errs[i] = loadOrCreateKey(path, noLink) })
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil || !keys[i].Equal(keys[0]) {
				t.Fatalf("round %d, instance %d: %v", round, i, errs[i])
			}
		}
	}
}

// An instance that created the key file but failed to write it removes
// it: one waiting for it to be complete then creates the key itself
// instead of failing.
func TestLoadOrCreateKeyAfterTheWriterGaveUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.Remove(path)
	}()
	noLink := func(o, n string) error { return &os.LinkError{Op: "link", Old: o, New: n, Err: syscall.EPERM} }
	key, created, err := loadOrCreateKey(path, noLink)
	if err != nil || !created || key == nil {
		t.Fatalf("loadOrCreateKey = %v, %v, %v; want a key it created", key != nil, created, err)
	}
	again, _, err := LoadOrCreateKey(path)
	if err != nil || !again.Equal(key) {
		t.Fatalf("the key created is not the one on disk: %v", err)
	}
}
