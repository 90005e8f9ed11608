package store_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/ekk"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// Benefits written before a benefit could name only its grantor's own
// lists: migration 00015 claims a list nobody owns for the grantor of the
// earliest benefit naming it, leaves an owned list with its owner, and
// eligibility leaves out every benefit naming another grantor's list.
func TestMigrationClaimsListsOfOlderBenefits(t *testing.T) {
	pool := storetest.NewPool(t)
	ctx := context.Background()
	clients := store.NewClients(pool)
	for _, org := range []string{"90000000001", "90000000002"} {
		if err := clients.AddClient(ctx, auth.Client{ID: "c-" + org, OrgRegNo: org, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
			t.Fatal(err)
		}
	}
	classifier, err := ekk.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Without the lists capability, as before benefits claimed their lists.
	svc := benefits.NewService(store.NewBenefits(pool), classifier, nil)
	if err := store.MigrateDownTo(ctx, pool, 14); err != nil {
		t.Fatal(err)
	}
	onList := func(list string) benefits.Instruction {
		in := rides("40000000001")
		in.RecipientGroup = benefits.RecipientGroup{PersonListID: list}
		return in
	}
	if _, err := pool.Exec(ctx, `INSERT INTO person_lists (id, grantor_reg_no) VALUES ('owned', '90000000002')`); err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct{ org, id, list string }{
		{"90000000001", "first-on-unclaimed", "unclaimed"},
		{"90000000002", "second-on-unclaimed", "unclaimed"},
		{"90000000001", "on-owned", "owned"},
		{"90000000002", "owner-on-owned", "owned"},
	} {
		if _, _, err := svc.Put(ctx, benefits.Caller{OrgRegNo: b.org, ClientID: "c-" + b.org}, b.id, onList(b.list), nil); err != nil {
			t.Fatalf("%s: %v", b.id, err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := store.Migrate(ctx, pool, log); err != nil {
		t.Fatal(err)
	}
	for list, want := range map[string]string{"unclaimed": "90000000001", "owned": "90000000002"} {
		var owner string
		if err := pool.QueryRow(ctx, `SELECT grantor_reg_no FROM person_lists WHERE id = $1`, list).Scan(&owner); err != nil || owner != want {
			t.Errorf("list %s owned by %q (%v), want %s", list, owner, err, want)
		}
	}
	admitted, err := store.NewEligibility(pool, log).AdmittedBenefits(ctx, "40000000001")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range admitted {
		got = append(got, b.ID)
	}
	if len(got) != 2 || got[0] != "first-on-unclaimed" && got[1] != "first-on-unclaimed" || got[0] != "owner-on-owned" && got[1] != "owner-on-owned" {
		t.Errorf("admitted %v, want first-on-unclaimed and owner-on-owned only", got)
	}
}
