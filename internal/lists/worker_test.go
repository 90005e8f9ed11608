package lists_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/lists"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

// leaseLostSpy tells when a heartbeat found the upload no longer its
// worker's (ErrLeaseLost), once the worker has acted on it.
type leaseLostSpy struct {
	lists.Store
	once sync.Once
	lost chan struct{}
}

func (s *leaseLostSpy) Heartbeat(ctx context.Context, id uuid.UUID, owner string, p lists.Progress, lease time.Duration) error {
	err := s.Store.Heartbeat(ctx, id, owner, p, lease)
	if errors.Is(err, lists.ErrLeaseLost) {
		// The worker cancels its context with ErrLeaseLost right after
		// this returns.
		s.once.Do(func() {
			go func() {
				<-ctx.Done()
				close(s.lost)
			}()
		})
	}
	return err
}

// slowNotifier holds the worker after it committed the new version, until
// a heartbeat has found the upload finished, or a few seconds have passed.
type slowNotifier struct{ lost <-chan struct{} }

func (n slowNotifier) ListChanged(context.Context, string, int) {
	select {
	case <-n.lost:
	case <-time.After(5 * time.Second):
	}
}

// A heartbeat that runs between the commit of an upload's new version and
// the end of its processing finds the upload no longer processing and
// calls the lease lost. The upload was still finished under the worker's
// lease (the finish is fenced by it), so it is reported as applied: the
// heartbeat's cancellation must not turn it into a lost lease. A slow cache
// notification after the commit (Redis unreachable) opens that window
// wide; here the notifier waits until the heartbeat has lost the race.
func TestUploadFinishedWhileHeartbeatRaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.NewPool(t)
	const grantor = "90000000001"
	if err := store.NewClients(pool).AddClient(ctx, auth.Client{ID: "c-" + grantor, OrgRegNo: grantor, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
		t.Fatal(err)
	}
	spy := &leaseLostSpy{Store: store.NewLists(pool), lost: make(chan struct{})}
	reg := prometheus.NewRegistry()
	// Heartbeats every 50 ms.
	svc := lists.NewService(spy, slowNotifier{lost: spy.lost}, lists.Config{Lease: 150 * time.Millisecond, Registerer: reg}, nil)

	caller := lists.Caller{OrgRegNo: grantor, ClientID: "c-" + grantor}
	w, err := svc.StartUpload(ctx, caller, "race")
	if err != nil {
		t.Fatal(err)
	}
	csv := "person_code,valid_from,valid_to\n320000-00001,2026-01-01,\n"
	if err := w.WriteFile(ctx, strings.NewReader(csv), "list.csv", "text/csv"); err != nil {
		t.Fatal(err)
	}
	u, err := w.Commit(ctx, lists.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if did, err := svc.ProcessNext(ctx, "worker-1"); !did || err != nil {
		t.Fatalf("process: %v %v", did, err)
	}
	select {
	case <-spy.lost:
	default:
		t.Fatal("no heartbeat ran after the finish: the race was not provoked")
	}
	got, err := svc.GetUpload(ctx, caller, u.ID)
	if err != nil || got.Status != lists.StatusApplied {
		t.Fatalf("upload %s: %v", got.Status, err)
	}
	if n := counter(t, reg, "avis_list_uploads_total", "applied"); n != 1 {
		t.Fatalf("uploads counted as applied: %v, want 1 (the finish was taken for a lost lease)", n)
	}
}

// counter reads a counter of reg with the given status label.
func counter(t *testing.T, reg *prometheus.Registry, name, status string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == status {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// shutdownStore ends the worker's context (a shutdown) while it reads the
// stored file, as a rolling deploy does mid-upload.
type shutdownStore struct {
	lists.Store
	shutdown context.CancelFunc
}

func (s *shutdownStore) OpenFile(ctx context.Context, id uuid.UUID) (io.ReadCloser, error) {
	s.shutdown()
	<-ctx.Done()
	return nil, ctx.Err()
}

// Rolling deploys that shut a worker down mid-upload, more often than
// MaxAttempts, do not fail the upload: a graceful shutdown is no attempt.
// Once draining, a worker leases nothing more.
func TestShutdownsDoNotUseUpAttempts(t *testing.T) {
	t.Parallel()
	pool := grantorPool(t)
	st := store.NewLists(pool)
	svc := lists.NewService(st, nil, lists.Config{Registerer: prometheus.NewRegistry()}, nil)
	u := queueUpload(t, svc, "deployed", "person_code,valid_from,valid_to\n320000-00001,2026-01-01,\n", lists.UploadOptions{})
	for i := range svc.Config().MaxAttempts + 2 {
		ctx, cancel := context.WithCancel(context.Background())
		deploy := lists.NewService(&shutdownStore{Store: st, shutdown: cancel}, nil, lists.Config{Registerer: prometheus.NewRegistry()}, nil)
		if did, err := deploy.ProcessNext(ctx, fmt.Sprintf("old-instance-%d", i)); !did || err != nil {
			t.Fatalf("deploy %d: %v %v", i, did, err)
		}
		cancel()
	}
	drained := lists.NewService(st, nil, lists.Config{Registerer: prometheus.NewRegistry()}, nil)
	drained.Drain()
	if did, err := drained.ProcessNext(context.Background(), "draining"); did || err != nil {
		t.Fatalf("a draining worker leased an upload: %v %v", did, err)
	}
	if got := processNext(t, svc, u); got.Status != lists.StatusApplied {
		t.Fatalf("after the deploys: %s %+v", got.Status, got.Failure)
	}
}
