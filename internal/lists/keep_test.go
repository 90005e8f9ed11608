package lists_test

import (
	"context"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/store"
)

// A skip-invalid replacement keeps the current entry of a listed person
// whose row is bad, instead of silently dropping them; a person not listed
// is not added by a bad row; all-or-nothing still changes nothing.
func TestReplaceSkipInvalidKeepsCurrentEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const list = "keep"
	st := store.NewLists(grantorPool(t))
	svc := lists.NewService(st, nil, lists.Config{}, nil)
	upload := func(t *testing.T, list, csv string, policy lists.Policy) lists.Upload {
		t.Helper()
		return processNext(t, svc, queueUpload(t, svc, list, csv, lists.UploadOptions{Policy: policy, Mode: lists.ModeReplace}))
	}
	// member gives "from..to" of code in the current version, or "absent".
	member := func(t *testing.T, code string) string {
		t.Helper()
		pc, err := personcode.Parse(code)
		if err != nil {
			t.Fatal(err)
		}
		m, found, _, err := st.Membership(ctx, list, pc)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return "absent"
		}
		s := m.ValidFrom.Format(time.DateOnly) + ".."
		if !m.ValidTo.IsZero() {
			s += m.ValidTo.Format(time.DateOnly)
		}
		return s
	}
	const (
		a = "320000-00001" // listed; a typo in the new file's date
		b = "320000-00002" // listed; new dates
		c = "320000-00003" // listed; not in the new file
		d = "320000-00004" // not listed; a bad row
		e = "320000-00005" // not listed; a good row
		f = "320000-00006" // listed; a bad row, then a good one
	)
	v1 := upload(t, list, "person_code,valid_from,valid_to\n"+
		a+",2026-01-01,2026-12-31\n"+b+",2026-01-01,\n"+c+",2026-02-01,2026-03-31\n"+f+",2026-01-01,2026-06-30\n",
		lists.PolicyAllOrNothing)
	if v1.Status != lists.StatusApplied {
		t.Fatalf("first upload %s %+v", v1.Status, v1.Failure)
	}

	v2 := upload(t, list, "person_code,valid_from,valid_to\n"+
		a+",31.02.2026,2026-12-31\n"+b+",2027-01-01,\n"+d+",2026-13-01,\n"+e+",2026-05-01,\n"+
		f+",2026-01-01,2025-01-01\n"+f+",2026-07-01,\n",
		lists.PolicySkipInvalid)
	if v2.Status != lists.StatusApplied {
		t.Fatalf("skip-invalid upload %s %+v", v2.Status, v2.Failure)
	}
	if *v2.ValidRows != 3 || *v2.InvalidRows != 3 || kept(v2) != 1 {
		t.Errorf("valid %d invalid %d kept %d, want 3, 3 and 1", *v2.ValidRows, *v2.InvalidRows, kept(v2))
	}
	want := map[string]string{a: "2026-01-01..2026-12-31", b: "2027-01-01..", c: "absent", d: "absent", e: "2026-05-01..", f: "2026-07-01.."}
	for code, w := range want {
		if got := member(t, code); got != w {
			t.Errorf("%s: %s, want %s", code, got, w)
		}
	}
	l, err := st.List(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	// a, b and f stay, e comes, c goes: a kept person is neither added nor
	// removed.
	if l.Version != 2 || l.Size != 4 || l.Added != 1 || l.Removed != 1 {
		t.Errorf("version %d size %d added %d removed %d, want 2, 4, 1, 1", l.Version, l.Size, l.Added, l.Removed)
	}

	v3 := upload(t, list, "person_code,valid_from,valid_to\n"+a+",31.02.2026,\n"+b+",2028-01-01,\n", lists.PolicyAllOrNothing)
	if v3.Status != lists.StatusRejected || v3.ListVersion != nil {
		t.Fatalf("all-or-nothing upload %s version %v, want rejected and none", v3.Status, v3.ListVersion)
	}
	if kept(v3) > 0 {
		t.Errorf("all-or-nothing kept %d", kept(v3))
	}
	if got := member(t, b); got != "2027-01-01.." {
		t.Errorf("after a rejected upload %s: %s", b, got)
	}
	if l, err := st.List(ctx, list); err != nil || l.Version != 2 || l.Size != 4 {
		t.Errorf("after a rejected upload: version %d size %d (%v)", l.Version, l.Size, err)
	}

	// A new list has nobody to keep.
	first := upload(t, "keep-new", "person_code,valid_from,valid_to\n"+a+",31.02.2026,\n"+b+",2026-01-01,\n", lists.PolicySkipInvalid)
	if first.Status != lists.StatusApplied || kept(first) != 0 {
		t.Errorf("first upload %s kept %d, want applied and 0", first.Status, kept(first))
	}
}

// kept is the upload's keptRows, -1 when it has none.
func kept(u lists.Upload) int64 {
	if u.KeptRows == nil {
		return -1
	}
	return *u.KeptRows
}
