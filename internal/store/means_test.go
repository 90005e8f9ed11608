package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

func TestMeansStore(t *testing.T) {
	t.Parallel()
	pool := storetest.NewPool(t)
	ctx := context.Background()
	clients := store.NewClients(pool)
	for _, org := range []string{"90000000001", "90000000002"} {
		if err := clients.AddClient(ctx, auth.Client{ID: "c" + org, OrgRegNo: org, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: make([]byte, 32)}); err != nil {
			t.Fatal(err)
		}
	}
	s := store.NewMeans(pool)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := means.Means{Type: means.Etalons, Number: "ET-1", Grantor: "90000000001", PersonCode: personcode.MustParse("150445-11112"),
		ValidFrom: &from, Status: means.StatusActive, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	got, created, err := s.Upsert(ctx, m)
	if err != nil || !created || got.PersonCode != m.PersonCode || got.ValidFrom == nil || !got.ValidFrom.Equal(from) {
		t.Fatalf("register: %+v %v %v", got, created, err)
	}
	m.PersonCode = personcode.MustParse("010101-10006")
	if got, created, err = s.Upsert(ctx, m); err != nil || created || got.PersonCode != m.PersonCode {
		t.Fatalf("update: %+v %v %v", got, created, err)
	}
	theirs := m
	theirs.Grantor = "90000000002"
	if _, _, err := s.Upsert(ctx, theirs); !errors.Is(err, means.ErrNotOwner) {
		t.Errorf("another grantor's number: %v", err)
	}
	if err := s.Revoke(ctx, means.Etalons, "ET-1", "90000000002", time.Now()); !errors.Is(err, means.ErrNotOwner) {
		t.Errorf("revoked by another grantor: %v", err)
	}
	if err := s.Revoke(ctx, means.Etalons, "ET-1", "90000000001", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, means.Etalons, "ET-1"); err != nil || got.Status != means.StatusRevoked {
		t.Errorf("after revoking: %+v %v", got, err)
	}
	if err := s.Revoke(ctx, means.Etalons, "ET-404", "90000000001", time.Now()); !errors.Is(err, means.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := s.Get(ctx, means.SchoolCard, "ET-1"); !errors.Is(err, means.ErrNotFound) {
		t.Errorf("same number, other type: %v", err)
	}
	// Registering again reactivates.
	if got, _, err := s.Upsert(ctx, m); err != nil || got.Status != means.StatusActive {
		t.Errorf("reactivate: %+v %v", got, err)
	}
}

func TestSecretIsStable(t *testing.T) {
	t.Parallel()
	pool := storetest.NewPool(t)
	ctx := context.Background()
	a, err := store.Secret(ctx, pool, "x")
	if err != nil || len(a) != 32 {
		t.Fatalf("%x %v", a, err)
	}
	b, err := store.Secret(ctx, pool, "x")
	if err != nil || string(a) != string(b) {
		t.Errorf("the secret changed: %x %x %v", a, b, err)
	}
}
