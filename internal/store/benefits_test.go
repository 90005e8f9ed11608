package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/auth"
	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/ekk"
	"github.com/avis-lv/gateway/internal/store"
	"github.com/avis-lv/gateway/internal/store/storetest"
)

func newBenefits(t *testing.T) (*benefits.Service, *store.Benefits) {
	pool := storetest.NewPool(t)
	clients := store.NewClients(pool)
	for _, org := range []string{"90000000001", "90000000002"} {
		if err := clients.AddClient(context.Background(), auth.Client{ID: "c-" + org, OrgRegNo: org, Roles: []auth.Role{auth.RoleGrantor}, SecretHash: auth.HashSecret("x")}); err != nil {
			t.Fatal(err)
		}
	}
	classifier, err := ekk.Load()
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewBenefits(pool)
	return benefits.NewService(st, classifier, nil), st
}

func rides(providers ...string) benefits.Instruction {
	return benefits.Instruction{
		Name: "Rides", Category: "transport", EKKCode: "6421", ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Priority: 1, Discount: benefits.Discount{Type: benefits.DiscountFree}, GoodsCodes: []string{"*"},
		Providers: providers, RecipientGroup: benefits.RecipientGroup{RegistryGroup: "pensioners"},
	}
}

// Two grantors racing to create the same id: exactly one owns it.
func TestConcurrentCreateHasOneOwner(t *testing.T) {
	svc, _ := newBenefits(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, org := range []string{"90000000001", "90000000002"} {
		wg.Go(func() {
			_, _, errs[i] = svc.Put(ctx, benefits.Caller{OrgRegNo: org, ClientID: "c-" + org}, "contested", rides("40000000001"), nil)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, benefits.ErrConcurrentVersion), errors.Is(err, benefits.ErrNotOwner):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creators succeeded, want 1 (%v)", ok, errs)
	}
}

// Concurrent writers never make a feed reader skip a change: every
// benefit written ends up in the provider's feed exactly once.
func TestFeedMissesNoConcurrentChange(t *testing.T) {
	svc, st := newBenefits(t)
	ctx := context.Background()
	caller := benefits.Caller{OrgRegNo: "90000000001", ClientID: "c-90000000001"}
	const writers, each = 4, 10
	var wg sync.WaitGroup
	seen := map[string]int{}
	var seqs []int64
	var mu sync.Mutex
	stop := make(chan struct{})
	var readerErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var since int64
		for {
			// Note whether the writers were done before this read: only an
			// empty read that started after they finished proves the end.
			var done bool
			select {
			case <-stop:
				done = true
			default:
			}
			items, err := st.Feed(ctx, "40000000001", since, 3)
			if err != nil {
				readerErr = err
				return
			}
			mu.Lock()
			for _, it := range items {
				seen[it.Benefit.ID]++
				seqs = append(seqs, it.Seq)
				since = it.Seq
			}
			mu.Unlock()
			if done && len(items) == 0 {
				return
			}
		}
	}()
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, _, err := svc.Put(ctx, caller, fmt.Sprintf("b-%d-%d", w, i), rides("40000000001"), nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	if len(seen) != writers*each {
		t.Fatalf("feed reader saw %d of %d benefits: %v", len(seen), writers*each, seqs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
}

// Withdrawals racing each other (a client retrying a DELETE after a timeout)
// all succeed, and only one withdrawn version is stored. Several rounds, so
// that the later ones race on warm pool connections.
func TestConcurrentWithdrawalsAllSucceed(t *testing.T) {
	svc, st := newBenefits(t)
	ctx := context.Background()
	caller := benefits.Caller{OrgRegNo: "90000000001", ClientID: "c-90000000001"}
	const rounds, n = 10, 8
	for r := range rounds {
		id := fmt.Sprintf("b-%d", r)
		if _, _, err := svc.Put(ctx, caller, id, rides("40000000001"), nil); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = svc.Withdraw(ctx, caller, id)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s withdrawal %d: %v", id, i, err)
			}
		}
		latest, err := st.Latest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if latest.Version != 2 || latest.Status != benefits.StatusWithdrawn {
			t.Fatalf("%s latest is v%d %s, want v2 withdrawn", id, latest.Version, latest.Status)
		}
	}
}
