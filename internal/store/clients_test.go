package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// A client's secret is rotated without downtime: the old secret works
// until the overlap ends, the new one at once; a second rotation ends the
// first one's old secret; keys and revoked clients have no secret to
// rotate.
func TestRotateSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clients := store.NewClients(storetest.NewPool(t))
	now := time.Now()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.NewService(clients, auth.NewTokens(key, "http://gw", time.Minute, nil), "http://gw/oauth/token", nil, func() time.Time { return now })
	if err := clients.AddClient(ctx, auth.Client{ID: "riga", OrgRegNo: "90000000001", OrgName: "Rīga", Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("first")}); err != nil {
		t.Fatal(err)
	}
	works := func(secret string) bool {
		_, err := svc.Issue(ctx, auth.TokenRequest{GrantType: "client_credentials", ClientID: "riga", ClientSecret: secret}, nil)
		return err == nil
	}
	until, err := clients.RotateSecret(ctx, "riga", auth.HashSecret("second"), time.Hour, false)
	if err != nil || until.Before(now.Add(59*time.Minute)) || until.After(now.Add(61*time.Minute)) {
		t.Fatalf("rotation: until %v, %v", until, err)
	}
	if !works("first") || !works("second") || works("third") {
		t.Fatalf("within the overlap: first %v, second %v, third %v", works("first"), works("second"), works("third"))
	}
	start := now
	now = until.Add(time.Second)
	if works("first") || !works("second") {
		t.Fatalf("after the overlap: first %v, second %v", works("first"), works("second"))
	}
	now = start
	// A second rotation within the overlap would end the secret the
	// integrator may still use: refused unless forced.
	if _, err := clients.RotateSecret(ctx, "riga", auth.HashSecret("third"), time.Hour, false); !errors.Is(err, store.ErrRotationInProgress) {
		t.Fatalf("a second rotation within the overlap: %v", err)
	}
	if !works("first") || !works("second") || works("third") {
		t.Fatal("a refused rotation changed the secrets")
	}
	// A leaked secret: forced, without overlap, only the new one works.
	if _, err := clients.RotateSecret(ctx, "riga", auth.HashSecret("third"), 0, true); err != nil {
		t.Fatal(err)
	}
	if works("first") || works("second") || !works("third") {
		t.Fatalf("forced without overlap: first %v, second %v, third %v", works("first"), works("second"), works("third"))
	}
	// An overlap below a second is kept as given, not cut to none.
	if _, err := clients.RotateSecret(ctx, "riga", auth.HashSecret("fourth"), 500*time.Millisecond, true); err != nil {
		t.Fatal(err)
	}
	if !works("third") || !works("fourth") {
		t.Fatalf("within a half-second overlap: third %v, fourth %v", works("third"), works("fourth"))
	}

	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := clients.AddClient(ctx, auth.Client{ID: "bus", OrgRegNo: "40000000001", OrgName: "Bus", Roles: []auth.Role{auth.RoleProvider}, PublicKeyPEM: keyPEM}); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.RotateSecret(ctx, "bus", auth.HashSecret("x"), 0, false); err == nil || !strings.Contains(err.Error(), "private_key_jwt") {
		t.Errorf("rotating the secret of a client with a key: %v", err)
	}
	if err := clients.RevokeClient(ctx, "riga", now); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.RotateSecret(ctx, "riga", auth.HashSecret("fifth"), 0, true); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("rotating a revoked client's secret: %v", err)
	}
	if _, err := clients.RotateSecret(ctx, "nobody", auth.HashSecret("x"), 0, true); err == nil {
		t.Error("rotated the secret of a client that does not exist")
	}
}
