package lists_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/listfile"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// beginSpy counts the upload transactions begun.
type beginSpy struct {
	lists.Store
	begun atomic.Int32
}

func (s *beginSpy) BeginUpload(ctx context.Context) (lists.UploadTx, error) {
	s.begun.Add(1)
	return s.Store.BeginUpload(ctx)
}

// spooled counts the files under dir that this process still has open,
// named or not (a spooled file is unlinked at once and lives on as long as
// its descriptor), and fails if dir holds any named file.
func spooled(t *testing.T, dir string) int {
	t.Helper()
	if names, err := os.ReadDir(dir); err != nil || len(names) > 0 {
		t.Fatalf("left in the spool directory: %v %v", names, err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd to see open files: %v", err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(os.PathSeparator)) {
			n++
		}
	}
	return n
}

type brokenBody struct{ r io.Reader }

func (b brokenBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset by peer")
	}
	return n, err
}

// An upload's file is spooled to disk without a transaction, which only
// Commit begins; the spooled file is gone after a commit, a refused file, a
// failed commit and an upload given up.
func TestUploadSpool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.NewPool(t)
	const grantor, other = "90000000001", "90000000002"
	for _, org := range []string{grantor, other} {
		if err := store.NewClients(pool).AddClient(ctx, auth.Client{ID: "c-" + org, OrgRegNo: org, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	spy := &beginSpy{Store: store.NewLists(pool)}
	svc := lists.NewService(spy, nil, lists.Config{TempDir: dir, MaxUploadBytes: 4 << 10}, nil)
	caller := lists.Caller{OrgRegNo: grantor, ClientID: "c-" + grantor}
	csv := "person_code,valid_from,valid_to\n320000-00001,2026-01-01,\n"

	spool := func(t *testing.T, list string) *lists.UploadWriter {
		t.Helper()
		w, err := svc.StartUpload(ctx, caller, list)
		if err != nil {
			t.Fatal(err)
		}
		before := spy.begun.Load()
		if err := w.WriteFile(ctx, strings.NewReader(csv), "list.csv", "text/csv"); err != nil {
			t.Fatal(err)
		}
		if n := spooled(t, dir); n != 1 {
			t.Fatalf("%d spooled files open after WriteFile, want 1", n)
		}
		if spy.begun.Load() != before {
			t.Fatal("a transaction was begun before the upload was committed")
		}
		return w
	}

	t.Run("committed", func(t *testing.T) {
		w := spool(t, "spool-ok")
		before := spy.begun.Load()
		if _, err := w.Commit(ctx, lists.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
		if spy.begun.Load() != before+1 {
			t.Fatal("the commit began no transaction")
		}
		if n := spooled(t, dir); n != 0 {
			t.Fatalf("%d spooled files open after the commit", n)
		}
	})
	t.Run("commit failed", func(t *testing.T) {
		w := spool(t, "spool-taken")
		// Another grantor takes the list while the file arrives.
		if _, err := store.NewLists(pool).ClaimList(ctx, "spool-taken", other); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, lists.UploadOptions{}); !errors.Is(err, lists.ErrNotOwner) {
			t.Fatalf("commit: %v, want ErrNotOwner", err)
		}
		if n := spooled(t, dir); n != 0 {
			t.Fatalf("%d spooled files open after the failed commit", n)
		}
	})
	t.Run("given up", func(t *testing.T) {
		w := spool(t, "spool-abandoned")
		w.Close()
		w.Close()
		if n := spooled(t, dir); n != 0 {
			t.Fatalf("%d spooled files open after Close", n)
		}
	})
	for _, tc := range []struct {
		name string
		body io.Reader
		want any
	}{
		{"too large", strings.NewReader(csv + strings.Repeat("320000-00002,2026-01-01,\n", 400)), new(*lists.TooLargeError)},
		{"empty", strings.NewReader(""), new(*listfile.FileError)},
		{"body broken", brokenBody{strings.NewReader(csv)}, &lists.ErrReadUpload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := svc.StartUpload(ctx, caller, "spool-refused")
			if err != nil {
				t.Fatal(err)
			}
			before := spy.begun.Load()
			err = w.WriteFile(ctx, tc.body, "list.csv", "text/csv")
			switch want := tc.want.(type) {
			case *error:
				if !errors.Is(err, *want) {
					t.Fatalf("WriteFile: %v, want %v", err, *want)
				}
			default:
				if !errors.As(err, want) {
					t.Fatalf("WriteFile: %v, want %T", err, want)
				}
			}
			if n := spooled(t, dir); n != 0 {
				t.Fatalf("%d spooled files open after a refused file", n)
			}
			w.Close()
			if spy.begun.Load() != before {
				t.Fatal("a refused file began a transaction")
			}
		})
	}
}

// tempDirSpy looks into the temporary directory when the worker begins
// the transaction of a new version: the file is open then.
type tempDirSpy struct {
	lists.Store
	t    *testing.T
	dir  string
	open int
}

func (s *tempDirSpy) Begin(ctx context.Context) (lists.Tx, error) {
	s.open = spooled(s.t, s.dir)
	return s.Store.Begin(ctx)
}

// An XLSX file is read from a spooled copy, and its shared strings from a
// spilled table, neither of which has a name on disk while it is read: a
// crash leaves no file of personal codes behind.
func TestXLSXUploadLeavesNoNamedFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	spy := &tempDirSpy{Store: store.NewLists(grantorPool(t)), t: t, dir: dir}
	cfg := lists.Config{TempDir: dir}
	cfg.Limits = listfile.DefaultLimits()
	cfg.Limits.XLSXSpillBytes = 1 // the shared strings go to a file too
	svc := lists.NewService(spy, nil, cfg, nil)
	file, err := os.ReadFile(filepath.Join("..", "listfile", "testdata", "list.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := svc.StartUpload(ctx, testCaller, "xlsx-spool")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(ctx, bytes.NewReader(file), "list.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"); err != nil {
		t.Fatal(err)
	}
	u, err := w.Commit(ctx, lists.UploadOptions{Policy: lists.PolicySkipInvalid})
	if err != nil {
		t.Fatal(err)
	}
	u = processNext(t, svc, u)
	if u.Status != lists.StatusApplied {
		t.Fatalf("upload %s %+v", u.Status, u.Failure)
	}
	if spy.open < 2 {
		t.Fatalf("%d files open while the upload was read, want the spooled copy and the spilled strings", spy.open)
	}
	if n := spooled(t, dir); n != 0 {
		t.Fatalf("%d temporary files still open after the upload", n)
	}
}

// Files an earlier release left behind after a crash are swept at start;
// young ones (another process may be reading them) and others' are kept.
func TestSweepTempFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	for name, age := range map[string]time.Duration{
		"avis-upload-123.xlsx": 2 * time.Hour, "avis-upload-456": 3 * time.Hour, "listfile-sst-789": 2 * time.Hour,
		"avis-upload-young.xlsx": time.Minute, "someone-else": 5 * time.Hour,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("320000-00001"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := lists.SweepTempFiles(dir, now)
	if err != nil || n != 3 {
		t.Fatalf("swept %d, %v", n, err)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != "avis-upload-young.xlsx someone-else" {
		t.Fatalf("left %v", left)
	}
}
