package lists_test

import (
	"context"
	"strings"
	"testing"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// A replacement uploaded before a push and applied after it would undo a
// change the gateway had acknowledged: it is refused instead, and the
// push stands. An add upload composes with the push and is applied.
func TestReplaceQueuedBeforeAPushIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.NewPool(t)
	const grantor = "90000000001"
	if err := store.NewClients(pool).AddClient(ctx, auth.Client{ID: "c-" + grantor, OrgRegNo: grantor, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
		t.Fatal(err)
	}
	st := store.NewLists(pool)
	svc := lists.NewService(st, nil, lists.Config{}, nil)
	caller := lists.Caller{OrgRegNo: grantor, ClientID: "c-" + grantor}
	queue := func(t *testing.T, list, csv string, mode lists.Mode) lists.Upload {
		t.Helper()
		w, err := svc.StartUpload(ctx, caller, list)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFile(ctx, strings.NewReader(csv), "list.csv", "text/csv"); err != nil {
			t.Fatal(err)
		}
		u, err := w.Commit(ctx, lists.UploadOptions{Policy: lists.PolicyAllOrNothing, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	process := func(t *testing.T, u lists.Upload) lists.Upload {
		t.Helper()
		if did, err := svc.ProcessNext(ctx, "w"); !did || err != nil {
			t.Fatalf("process: %v %v", did, err)
		}
		u, err := svc.GetUpload(ctx, caller, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	push := func(t *testing.T, list, code, key string) {
		t.Helper()
		if _, err := svc.Push(ctx, caller, list, lists.PushRequest{Mode: lists.ModeAdd, Members: []lists.PushMember{{PersonCode: code}},
			Key: key, Body: []byte(key)}); err != nil {
			t.Fatal(err)
		}
	}
	const header = "person_code,valid_from,valid_to\n"
	for _, tt := range []struct {
		mode lists.Mode
		want lists.Status
	}{
		{lists.ModeReplace, lists.StatusRejected},
		{lists.ModeAdd, lists.StatusApplied},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			list := "order-" + string(tt.mode)
			if u := process(t, queue(t, list, header+"320000-00001,2026-01-01,\n", lists.ModeReplace)); u.Status != lists.StatusApplied {
				t.Fatalf("first upload %s %+v", u.Status, u.Failure)
			}
			queued := queue(t, list, header+"320000-00002,2026-01-01,\n", tt.mode)
			push(t, list, "320000-00003", "push-"+list)
			u := process(t, queued)
			if u.Status != tt.want {
				t.Fatalf("upload queued before the push: %s %+v, want %s", u.Status, u.Failure, tt.want)
			}
			if tt.want == lists.StatusRejected && (u.Failure == nil || u.Failure.Code != lists.CodePushedSince) {
				t.Errorf("failure %+v, want %s", u.Failure, lists.CodePushedSince)
			}
			l, err := st.List(ctx, list)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[lists.Status]int64{lists.StatusRejected: 2, lists.StatusApplied: 3}[tt.want]; l.Size != want {
				t.Errorf("list size %d, want %d (the push must stand)", l.Size, want)
			}
			// Uploaded again after the push, the replacement applies.
			if tt.mode == lists.ModeReplace {
				if u := process(t, queue(t, list, header+"320000-00002,2026-01-01,\n", lists.ModeReplace)); u.Status != lists.StatusApplied {
					t.Errorf("the replacement uploaded again: %s %+v", u.Status, u.Failure)
				}
			}
		})
	}
}
