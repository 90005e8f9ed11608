package store_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
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
	caller := func(org string) benefits.Caller { return benefits.Caller{OrgRegNo: org, ClientID: "c-" + org} }
	for _, b := range []struct{ org, id, list string }{
		{"90000000001", "first-on-unclaimed", "unclaimed"},
		{"90000000002", "second-on-unclaimed", "unclaimed"},
		{"90000000001", "on-owned", "owned"},
		{"90000000002", "owner-on-owned", "owned"},
		// A withdrawn benefit and a superseded version claim nothing.
		{"90000000001", "withdrawn-on-shared", "shared"},
		{"90000000002", "live-on-shared", "shared"},
		{"90000000001", "moved-away", "moved"},
		{"90000000002", "live-on-moved", "moved"},
	} {
		if _, _, err := svc.Put(ctx, caller(b.org), b.id, onList(b.list), nil); err != nil {
			t.Fatalf("%s: %v", b.id, err)
		}
	}
	if err := svc.Withdraw(ctx, caller("90000000001"), "withdrawn-on-shared"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Put(ctx, caller("90000000001"), "moved-away", onList("moved-to"), nil); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := store.Migrate(ctx, pool, log); err != nil {
		t.Fatal(err)
	}
	for list, want := range map[string]string{"unclaimed": "90000000001", "owned": "90000000002", "shared": "90000000002",
		"moved": "90000000002", "moved-to": "90000000001"} {
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
	slices.Sort(got)
	if want := []string{"first-on-unclaimed", "live-on-moved", "live-on-shared", "moved-away", "owner-on-owned"}; !slices.Equal(got, want) {
		t.Errorf("admitted %v, want %v", got, want)
	}
}

// An index build of migration 00016 that was cut short (an instance
// stopped, a statement timeout) leaves an invalid index and no recorded
// version; the next start must build it anew, not take the invalid one.
func TestInterruptedIndexBuildIsRedone(t *testing.T) {
	pool := storetest.NewPool(t)
	ctx := context.Background()
	if err := store.MigrateDownTo(ctx, pool, 15); err != nil {
		t.Fatal(err)
	}
	// A writer holding the table makes the concurrent build wait, and the
	// builder's statement timeout cuts it short.
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `LOCK TABLE transactions IN ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	builder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := builder.Exec(ctx, `SET statement_timeout = '300ms'`); err != nil {
		t.Fatal(err)
	}
	if _, err := builder.Exec(ctx, `CREATE INDEX CONCURRENTLY transactions_provider_occurred ON transactions (provider_reg_no, occurred_at, id)`); err == nil {
		t.Fatal("the build was not cut short")
	}
	if _, err := builder.Exec(ctx, `RESET statement_timeout`); err != nil {
		t.Fatal(err)
	}
	builder.Release()
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	var valid bool
	if err := pool.QueryRow(ctx, `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname = 'transactions_provider_occurred'`).Scan(&valid); err != nil || !valid {
		t.Fatalf("after the migration the index is valid: %v (%v)", valid, err)
	}
}
