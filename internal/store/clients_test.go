package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
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
	if err := clients.RotateSecret(ctx, "riga", auth.HashSecret("second"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !works("first") || !works("second") || works("third") {
		t.Fatalf("within the overlap: first %v, second %v, third %v", works("first"), works("second"), works("third"))
	}
	now = now.Add(time.Hour + time.Second)
	if works("first") || !works("second") {
		t.Fatalf("after the overlap: first %v, second %v", works("first"), works("second"))
	}
	if err := clients.RotateSecret(ctx, "riga", auth.HashSecret("third"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := clients.RotateSecret(ctx, "riga", auth.HashSecret("fourth"), now); err != nil {
		t.Fatal(err)
	}
	if works("second") || works("third") || !works("fourth") {
		t.Fatalf("rotated twice, the second without overlap: second %v, third %v, fourth %v", works("second"), works("third"), works("fourth"))
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
	if err := clients.RotateSecret(ctx, "bus", auth.HashSecret("x"), now); err == nil || !strings.Contains(err.Error(), "private_key_jwt") {
		t.Errorf("rotating the secret of a client with a key: %v", err)
	}
	if err := clients.RevokeClient(ctx, "riga", now); err != nil {
		t.Fatal(err)
	}
	if err := clients.RotateSecret(ctx, "riga", auth.HashSecret("fifth"), now); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("rotating a revoked client's secret: %v", err)
	}
	if err := clients.RotateSecret(ctx, "nobody", auth.HashSecret("x"), now); err == nil {
		t.Error("rotated the secret of a client that does not exist")
	}
}
