package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
)

// addedClients is an auth.ClientStore that keeps what is added.
type addedClients struct {
	auth.ClientStore
	added []auth.Client
}

func (a *addedClients) AddClient(_ context.Context, c auth.Client) error {
	a.added = append(a.added, c)
	return nil
}

func TestAddClientRefusesAnExpiredCertificate(t *testing.T) {
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(from, to time.Time) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dagr-client"}, NotBefore: from, NotAfter: to}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	tests := []struct {
		name    string
		pem     []byte
		wantErr string // "" when the client is added
	}{
		{"valid certificate", cert(now.Add(-time.Hour), now.Add(time.Hour)), ""},
		{"certificate valid from tomorrow", cert(now.Add(24*time.Hour), now.Add(48*time.Hour)), ""},
		{"bare public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), ""},
		{"expired certificate", cert(now.Add(-48*time.Hour), now.Add(-time.Minute)), "client certificate expired on"},
		{"not a key", []byte("hello"), "no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "client.pem")
			if err := os.WriteFile(file, tt.pem, 0o600); err != nil {
				t.Fatal(err)
			}
			store := &addedClients{}
			out, err := addClient(context.Background(), store, now, "dagr-client", "40000000001", "DAGR client", "provider", file, "")
			if tt.wantErr == "" {
				if err != nil || len(store.added) != 1 || out.ClientSecret != "" {
					t.Fatalf("addClient = %+v, %v; added %d", out, err, len(store.added))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(store.added) != 0 {
				t.Fatalf("addClient error %v, want one saying %q and nothing added (%d)", err, tt.wantErr, len(store.added))
			}
		})
	}
}
