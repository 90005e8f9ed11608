package lists_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

const testGrantor = "90000000001"

// grantorPool is a database of its own with the grantor's client in it.
func grantorPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := storetest.NewPool(t)
	if err := store.NewClients(pool).AddClient(context.Background(), auth.Client{ID: "c-" + testGrantor, OrgRegNo: testGrantor,
		Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
		t.Fatal(err)
	}
	return pool
}

var testCaller = lists.Caller{OrgRegNo: testGrantor, ClientID: "c-" + testGrantor}

// queueUpload stores a CSV upload of list as testCaller and queues it.
func queueUpload(t *testing.T, svc *lists.Service, list, csv string, opts lists.UploadOptions) lists.Upload {
	t.Helper()
	ctx := context.Background()
	w, err := svc.StartUpload(ctx, testCaller, list)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(ctx, strings.NewReader(csv), "list.csv", "text/csv"); err != nil {
		t.Fatal(err)
	}
	u, err := w.Commit(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// processNext processes the next queued upload, which must be u, and
// returns u as it then is.
func processNext(t *testing.T, svc *lists.Service, u lists.Upload) lists.Upload {
	t.Helper()
	ctx := context.Background()
	if did, err := svc.ProcessNext(ctx, "w"); !did || err != nil {
		t.Fatalf("process: %v %v", did, err)
	}
	u, err := svc.GetUpload(ctx, testCaller, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
