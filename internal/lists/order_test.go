package lists_test

import (
	"context"
	"testing"

	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/store"
)

// A replacement uploaded before a push and applied after it would undo a
// change the gateway had acknowledged: it is refused instead, and the
// push stands. An add upload composes with the push and is applied.
func TestReplaceQueuedBeforeAPushIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.NewLists(grantorPool(t))
	svc := lists.NewService(st, nil, lists.Config{}, nil)
	queue := func(t *testing.T, list, csv string, mode lists.Mode) lists.Upload {
		t.Helper()
		return queueUpload(t, svc, list, csv, lists.UploadOptions{Policy: lists.PolicyAllOrNothing, Mode: mode})
	}
	process := func(t *testing.T, u lists.Upload) lists.Upload {
		t.Helper()
		return processNext(t, svc, u)
	}
	push := func(t *testing.T, list, code, key string) {
		t.Helper()
		if _, err := svc.Push(ctx, testCaller, list, lists.PushRequest{Mode: lists.ModeAdd, Members: []lists.PushMember{{PersonCode: code}},
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
