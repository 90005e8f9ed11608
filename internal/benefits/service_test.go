package benefits

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/avis-lv/gateway/internal/ekk"
)

// memStore keeps versions in memory. beforeSave, when set, runs before
// each SaveVersion with the store unlocked, so a test can slip a competing
// version in between a service's read and its write.
type memStore struct {
	mu         sync.Mutex
	versions   map[string][]Benefit
	saves      int
	beforeSave func(s *memStore, b Benefit)
}

func newMemStore() *memStore { return &memStore{versions: map[string][]Benefit{}} }

func (m *memStore) Latest(_ context.Context, id string) (Benefit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[id]
	if len(vs) == 0 {
		return Benefit{}, ErrNotFound
	}
	return vs[len(vs)-1], nil
}

func (m *memStore) Version(_ context.Context, id string, v int) (Benefit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[id]
	if v < 1 || v > len(vs) {
		return Benefit{}, ErrNotFound
	}
	return vs[v-1], nil
}

func (m *memStore) SaveVersion(_ context.Context, b Benefit, _ string, _ []FeedChange) error {
	if m.beforeSave != nil {
		m.beforeSave(m, b)
	}
	return m.save(b)
}

func (m *memStore) save(b Benefit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b.Version != len(m.versions[b.ID])+1 {
		return ErrConcurrentVersion
	}
	m.versions[b.ID] = append(m.versions[b.ID], b)
	m.saves++
	return nil
}

func (m *memStore) ListByGrantor(context.Context, string, string, Status, int) ([]Benefit, error) {
	return nil, nil
}

func (m *memStore) Feed(context.Context, string, int64, int) ([]FeedItem, error) { return nil, nil }

func (m *memStore) FeedHead(context.Context) (int64, error) { return 0, nil }

func newTestService(t *testing.T) (*Service, *memStore) {
	t.Helper()
	classifier, err := ekk.Load()
	if err != nil {
		t.Fatal(err)
	}
	st := newMemStore()
	return NewService(st, classifier, nil), st
}

// competingVersion stores the next version of b's benefit as another request
// would, with the given status.
func competingVersion(s *memStore, b Benefit, status Status) {
	latest := s.versions[b.ID][len(s.versions[b.ID])-1]
	latest.Version++
	latest.Status = status
	if err := s.save(latest); err != nil {
		panic(err)
	}
}

func TestWithdrawRaces(t *testing.T) {
	grantor := Caller{OrgRegNo: "90000000001", ClientID: "c1"}
	tests := []struct {
		name string
		// competitors are the statuses of the versions other requests
		// store just before each of this withdrawal's writes.
		competitors []Status
		wantErr     error
		wantVersion int
	}{
		{"no race", nil, nil, 2},
		{"another withdrawal won", []Status{StatusWithdrawn}, nil, 2},
		{"a change won, then the withdrawal goes through", []Status{StatusActive}, nil, 3},
		{"a change won, then another withdrawal", []Status{StatusActive, StatusWithdrawn}, nil, 3},
		{"changes keep winning", []Status{StatusActive, StatusActive, StatusActive, StatusActive, StatusActive}, ErrConcurrentVersion, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newTestService(t)
			ctx := context.Background()
			if _, _, err := svc.Put(ctx, grantor, "b-1", validInstruction(), nil); err != nil {
				t.Fatal(err)
			}
			competitors := tt.competitors
			st.beforeSave = func(s *memStore, b Benefit) {
				if len(competitors) > 0 {
					competingVersion(s, b, competitors[0])
					competitors = competitors[1:]
				}
			}
			err := svc.Withdraw(ctx, grantor, "b-1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Withdraw = %v, want %v", err, tt.wantErr)
			}
			latest, _ := st.Latest(ctx, "b-1")
			if latest.Version != tt.wantVersion {
				t.Errorf("latest version %d, want %d", latest.Version, tt.wantVersion)
			}
			if tt.wantErr == nil && latest.Status != StatusWithdrawn {
				t.Errorf("latest status %s, want withdrawn", latest.Status)
			}
		})
	}
}

func TestPutIfMatch(t *testing.T) {
	grantor := Caller{OrgRegNo: "90000000001", ClientID: "c1"}
	changed := func(priority int) Instruction {
		in := validInstruction()
		in.Priority = priority
		return in
	}
	v := func(n int) *IfMatch { return &IfMatch{Versions: []int{n}} }
	star := &IfMatch{Any: true}
	tests := []struct {
		name string
		// history are the instructions stored before the request, one
		// version each; none means the benefit does not exist.
		history     []Instruction
		in          Instruction
		ifMatch     *IfMatch
		wantErr     error
		wantVersion int
		wantCreated bool
	}{
		{"create without If-Match", nil, changed(1), nil, nil, 1, true},
		{"create with If-Match 412", nil, changed(1), v(1), ErrVersionMismatch, 0, false},
		{"create with If-Match * 412", nil, changed(1), star, ErrVersionMismatch, 0, false},
		{"change on the current version", []Instruction{changed(1)}, changed(2), v(1), nil, 2, false},
		{"change with *", []Instruction{changed(1), changed(2)}, changed(3), star, nil, 3, false},
		{"identical retry after a lost answer", []Instruction{changed(1), changed(2)}, changed(2), v(1), nil, 2, false},
		{"identical with the current version", []Instruction{changed(1), changed(2)}, changed(2), v(2), nil, 2, false},
		{"identical with *", []Instruction{changed(1), changed(2)}, changed(2), star, nil, 2, false},
		{"different change on a stale version 412", []Instruction{changed(1), changed(2)}, changed(3), v(1), ErrVersionMismatch, 0, false},
		{"identical but two versions behind 412", []Instruction{changed(1), changed(2), changed(3)}, changed(3), v(1), ErrVersionMismatch, 0, false},
		{"identical to an older version 412", []Instruction{changed(1), changed(2)}, changed(1), v(1), ErrVersionMismatch, 0, false},
		{"a version that does not exist yet 412", []Instruction{changed(1)}, changed(1), v(2), ErrVersionMismatch, 0, false},
		{"a list naming the current version", []Instruction{changed(1), changed(2)}, changed(3), &IfMatch{Versions: []int{1, 2}}, nil, 3, false},
		{"a list naming only older versions 412", []Instruction{changed(1), changed(2), changed(3)}, changed(4), &IfMatch{Versions: []int{1, 2}}, ErrVersionMismatch, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newTestService(t)
			ctx := context.Background()
			for _, in := range tt.history {
				if _, _, err := svc.Put(ctx, grantor, "b-1", in, nil); err != nil {
					t.Fatal(err)
				}
			}
			saves := st.saves
			b, created, err := svc.Put(ctx, grantor, "b-1", tt.in, tt.ifMatch)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Put = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if st.saves != saves {
					t.Errorf("a refused change stored a version")
				}
				return
			}
			if b.Version != tt.wantVersion || created != tt.wantCreated {
				t.Errorf("Put gave v%d created=%v, want v%d created=%v", b.Version, created, tt.wantVersion, tt.wantCreated)
			}
			if b.Priority != tt.in.Priority {
				t.Errorf("answered priority %d, want %d", b.Priority, tt.in.Priority)
			}
		})
	}
}

// Two changes based on the same version race: the one that stores second
// finds its version no longer current, the 412 If-Match promises (without
// If-Match it is a 409 conflict).
func TestPutLosesRaceOnItsVersion(t *testing.T) {
	grantor := Caller{OrgRegNo: "90000000001", ClientID: "c1"}
	for _, tt := range []struct {
		name    string
		ifMatch *IfMatch
		want    error
	}{
		{"with If-Match", &IfMatch{Versions: []int{1}}, ErrVersionMismatch},
		{"with If-Match *", &IfMatch{Any: true}, ErrConcurrentVersion},
		{"without If-Match", nil, ErrConcurrentVersion},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newTestService(t)
			ctx := context.Background()
			first := validInstruction()
			if _, _, err := svc.Put(ctx, grantor, "b-1", first, nil); err != nil {
				t.Fatal(err)
			}
			st.beforeSave = func(s *memStore, b Benefit) {
				s.beforeSave = nil
				competingVersion(s, b, StatusActive)
			}
			next := validInstruction()
			next.Priority = first.Priority + 1
			if _, _, err := svc.Put(ctx, grantor, "b-1", next, tt.ifMatch); !errors.Is(err, tt.want) {
				t.Errorf("Put = %v, want %v", err, tt.want)
			}
		})
	}
}
