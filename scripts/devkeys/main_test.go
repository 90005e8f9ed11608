package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/signing"
)

func TestRunCreatesThenKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	if err := run([]string{"-dir", dir, "-alg", "ecdsa"}, &out, time.Now); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "created") {
		t.Errorf("first run: %q", out.String())
	}
	for _, name := range []string{"gateway.key", "gateway.crt"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	s, err := signing.LoadSigner(filepath.Join(dir, "gateway.key"), filepath.Join(dir, "gateway.crt"))
	if err != nil {
		t.Fatalf("generated files do not load: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "gateway.key"))

	out.Reset()
	if err := run([]string{"-dir", dir, "-alg", "ecdsa"}, &out, time.Now); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "gateway.key"))
	if !strings.HasPrefix(out.String(), "kept") || !bytes.Equal(before, after) {
		t.Errorf("second run replaced a valid pair: %q", out.String())
	}

	// Close to expiry: the pair is renewed.
	out.Reset()
	late := func() time.Time { return s.Certificate().NotAfter.Add(-time.Hour) }
	if err := run([]string{"-dir", dir, "-alg", "ecdsa"}, &out, late); err != nil {
		t.Fatal(err)
	}
	renewed, _ := os.ReadFile(filepath.Join(dir, "gateway.key"))
	if bytes.Equal(before, renewed) || !strings.Contains(out.String(), "replacing") {
		t.Errorf("expiring pair was not renewed: %q", out.String())
	}
}

func TestRunRefusesHalfPair(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gateway.crt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"-dir", dir}, &bytes.Buffer{}, time.Now)
	if err == nil || !strings.Contains(err.Error(), "only one of") {
		t.Errorf("err = %v, want refusal", err)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-alg", "dsa"}, {"extra"}, {"-bits", "1024", "-dir", t.TempDir()}} {
		if err := run(args, &bytes.Buffer{}, time.Now); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
