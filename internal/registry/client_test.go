package registry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avis-lv/gateway/internal/registry"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
	"github.com/avis-lv/gateway/internal/signing"
	"github.com/avis-lv/gateway/mocks/server"
)

const (
	pensionerCode = "150445-11112"
	unknownCode   = "010101-10006"
)

func newClient(t *testing.T, m *registrytest.Mock, mod func(*registry.Config)) *registry.Client {
	t.Helper()
	cfg := registry.Config{
		BaseURL: m.URL, Signer: m.Signer, Timeout: 300 * time.Millisecond,
		BreakerFailures: 3, BreakerOpenFor: 300 * time.Millisecond, Registerer: prometheus.NewRegistry(),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := registry.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRecordAndNotFound(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	m.Person(pensionerCode, registrytest.Pensioner("1945-04-15", "0001000"))
	c := newClient(t, m, nil)
	ctx := context.Background()

	body, err := c.Record(ctx, registry.Person, "15044511112")
	if err != nil {
		t.Fatalf("person record: %v", err)
	}
	p, err := registry.DecodePerson(body)
	if err != nil {
		t.Fatal(err)
	}
	if p.DeclaredAddress.Municipality.ATVK != "0001000" || p.BirthDate.Format(time.DateOnly) != "1945-04-15" || p.Status != "active" {
		t.Errorf("person record = %+v", p)
	}
	body, err = c.Record(ctx, registry.Pensioners, "15044511112")
	if err != nil {
		t.Fatal(err)
	}
	st, err := registry.DecodeStatus(registry.Pensioners, body)
	if err != nil || st.Kind != "old-age" || st.ValidFrom.Format(time.DateOnly) != "2015-01-01" || !st.ValidTo.IsZero() {
		t.Errorf("pension record = %+v, %v", st, err)
	}
	m.Person(unknownCode, map[string]any{"person": nil, "pensioners": nil})
	if _, err := c.Record(ctx, registry.Pensioners, "01010110006"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown person: err = %v, want ErrNotFound", err)
	}
	// One token served all of it, and every data request carried the data
	// set's permission number.
	if n := len(m.Journal("token", 0)); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	for _, e := range m.Journal("pensioners", 0) {
		if e.PermissionNumber != registry.DefaultPermissionNumber(registry.Pensioners) || !e.Authorized {
			t.Errorf("journal entry %+v: wrong permission number or not authorised", e)
		}
	}
}

func TestScenariosMakeUnavailable(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	m.Person(pensionerCode, registrytest.Pensioner("1945-04-15", "0001000"))
	for _, tt := range []struct {
		name string
		sc   server.Scenario
	}{
		{"outage", server.Scenario{Outage: true}},
		{"5xx", server.Scenario{StatusCode: 502}},
		{"error rate", server.Scenario{ErrorRate: 1}},
		{"timeout", server.Scenario{Timeout: true, TimeoutMs: 5000}},
		{"too slow", server.Scenario{LatencyMs: 1000}},
		{"429", server.Scenario{StatusCode: 429}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, m, nil)
			m.Scenario("learners", tt.sc)
			defer m.ClearScenario("learners")
			start := time.Now()
			_, err := c.Record(context.Background(), registry.Learners, "15044511112")
			if !errors.Is(err, registry.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s, the 300 ms timeout should bound it", took)
			}
		})
	}
	t.Run("latency within the timeout", func(t *testing.T) {
		// The 300 ms timeout bounds the first lookup's token request too,
		// which under load (-race, parallel tests) can take most of it: a
		// lookup with a generous timeout gets the token first.
		c := newClient(t, m, func(cfg *registry.Config) {
			cfg.Timeouts = map[registry.Dataset]time.Duration{registry.Person: 10 * time.Second}
		})
		if _, err := c.Record(context.Background(), registry.Person, "15044511112"); err != nil {
			t.Fatalf("warm-up lookup: %v", err)
		}
		m.Scenario("disability", server.Scenario{LatencyMs: 50})
		defer m.ClearScenario("disability")
		if _, err := c.Record(context.Background(), registry.Disability, "15044511112"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound after the delay", err)
		}
	})
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	c := newClient(t, m, nil)
	ctx := context.Background()
	m.Scenario("orphans", server.Scenario{Outage: true})
	for range 3 {
		if _, err := c.Record(ctx, registry.Orphans, "15044511112"); !errors.Is(err, registry.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	if s := c.BreakerState(registry.Orphans); s != registry.Open {
		t.Fatalf("breaker %s after 3 failures, want open", s)
	}
	seq := m.LastSeq()
	for range 10 {
		if _, err := c.Record(ctx, registry.Orphans, "15044511112"); !errors.Is(err, registry.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	if n := len(m.Journal("orphans", seq)); n != 0 {
		t.Errorf("an open breaker let %d requests through", n)
	}
	// Other data sets are not affected.
	if _, err := c.Record(ctx, registry.Learners, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("learners: %v", err)
	}
	m.ClearScenario("orphans")
	time.Sleep(350 * time.Millisecond)
	if _, err := c.Record(ctx, registry.Orphans, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("probe after recovery: %v", err)
	}
	if s := c.BreakerState(registry.Orphans); s != registry.Closed {
		t.Errorf("breaker %s after a good probe, want closed", s)
	}
}

func TestConcurrentLookupsShareOneRequest(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	m.Person(pensionerCode, registrytest.Pensioner("1945-04-15", "0001000"))
	c := newClient(t, m, func(cfg *registry.Config) { cfg.Timeout = 2 * time.Second })
	ctx := context.Background()
	if _, err := c.Record(ctx, registry.Person, "15044511112"); err != nil { // token first
		t.Fatal(err)
	}
	m.Scenario("pensioners", server.Scenario{LatencyMs: 200})
	seq := m.LastSeq()

	// One impatient caller gives up early; the others still get the answer.
	impatient, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			cctx := ctx
			if i == 0 {
				cctx = impatient
			}
			_, errs[i] = c.Record(cctx, registry.Pensioners, "15044511112")
		})
	}
	wg.Wait()
	if !errors.Is(errs[0], registry.ErrUnavailable) || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("impatient caller: %v, want its own deadline", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Errorf("caller %d: %v", i+1, err)
		}
	}
	if n := len(m.Journal("pensioners", seq)); n != 1 {
		t.Errorf("%d registry requests for 20 identical lookups, want 1", n)
	}
}

func TestBoundedParallelism(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	c := newClient(t, m, func(cfg *registry.Config) { cfg.MaxConcurrent = 2; cfg.Timeout = 150 * time.Millisecond })
	ctx := context.Background()
	if _, err := c.Record(ctx, registry.Person, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Fatal(err)
	}
	m.Scenario("needy", server.Scenario{LatencyMs: 100})
	codes := []string{"15044511112", "01010110006", "32123456789", "32987654321", "32555555555", "32666666666"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, unavailable int
	for _, code := range codes {
		wg.Go(func() {
			_, err := c.Record(ctx, registry.Needy, code)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, registry.ErrUnavailable) {
				unavailable++
			} else {
				ok++
			}
		})
	}
	wg.Wait()
	// Two slots, 100 ms each, 150 ms budget: two get through, the rest
	// wait for a slot in vain.
	if ok != 2 || unavailable != 4 {
		t.Errorf("%d answered, %d unavailable; want 2 and 4", ok, unavailable)
	}
}

func TestTokenRefusedAndRenewed(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	ctx := context.Background()
	t.Run("untrusted key", func(t *testing.T) {
		key, cert, err := signing.GenerateSelfSigned("stranger", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(key, cert)
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, m, func(cfg *registry.Config) { cfg.Signer = s })
		if _, err := c.Record(ctx, registry.Person, "15044511112"); !errors.Is(err, registry.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("wrong permission number", func(t *testing.T) {
		c := newClient(t, m, func(cfg *registry.Config) {
			cfg.Permissions = map[registry.Dataset]string{registry.Repressed: "DAGR-WRONG"}
		})
		if _, err := c.Record(ctx, registry.Repressed, "15044511112"); !errors.Is(err, registry.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("token forgotten by the registry", func(t *testing.T) {
		c := newClient(t, m, nil)
		if _, err := c.Record(ctx, registry.Person, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
			t.Fatal(err)
		}
		m.Do("POST", "/__admin/reset", nil, 204)
		if _, err := c.Record(ctx, registry.Person, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("after the registry forgot the token: %v", err)
		}
	})
}

// A changes-feed page that hangs ends at the feed timeout and stays out of
// the breaker: lookups of the data set go on while it hangs, and failing
// pages do not open the breaker for them.
func TestFeedStaysOutOfTheBreaker(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	c := newClient(t, m, func(cfg *registry.Config) { cfg.FeedTimeout = 400 * time.Millisecond })
	ctx := context.Background()
	m.Scenario("orphans", server.Scenario{Timeout: true, TimeoutMs: 5000})
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Changes(ctx, registry.Orphans, "", 10)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	m.ClearScenario("orphans")
	if _, err := c.Record(ctx, registry.Orphans, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a lookup while a feed page hangs: %v", err)
	}
	if err := <-done; err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("the hanging page ended after %s with %v", time.Since(start), err)
	}
	m.Scenario("orphans", server.Scenario{Outage: true})
	for range 5 {
		if _, err := c.Changes(ctx, registry.Orphans, "", 10); err == nil {
			t.Fatal("a feed page during an outage succeeded")
		}
	}
	if s := c.BreakerState(registry.Orphans); s != registry.Closed {
		t.Errorf("breaker %s after failing feed pages, want closed", s)
	}
}

// A background token refresh that fails is tried again after a pause, not
// by every lookup, while the current token still serves them.
func TestFailedRefreshBacksOff(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	var mu sync.Mutex
	now := time.Now()
	c := newClient(t, m, func(cfg *registry.Config) {
		cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	ctx := context.Background()
	if _, err := c.Record(ctx, registry.Person, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Fatal(err)
	}
	// Two thirds into the token's life (server.DefaultTokenTTL) the
	// refresh starts; the token endpoint is down.
	mu.Lock()
	now = now.Add(server.DefaultTokenTTL * 3 / 4)
	mu.Unlock()
	m.Scenario("token", server.Scenario{Outage: true})
	seq := m.LastSeq()
	for range 50 {
		if _, err := c.Record(ctx, registry.Person, "15044511112"); err != nil && !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("a lookup with the still valid token: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if n := len(m.Journal("token", seq)); n > 2 {
		t.Errorf("%d token requests for 50 lookups while the refresh fails", n)
	}
}

// A feed cursor the registry forgot (a reset) or never issued (it was
// restarted, here with another seed, since) is ErrCursorExpired: the
// follower must start again, not retry the cursor for ever.
func TestChangesCursorExpired(t *testing.T) {
	t.Parallel()
	m := registrytest.Start(t)
	c := newClient(t, m, nil)
	ctx := context.Background()
	head := func() string {
		t.Helper()
		cursor := ""
		for {
			p, err := c.Changes(ctx, registry.Pensioners, cursor, 1000)
			if err != nil {
				t.Fatalf("changes after %q: %v", cursor, err)
			}
			cursor = p.NextCursor
			if !p.HasMore {
				return cursor
			}
		}
	}
	cursor := head()
	m.Restart(2)
	if _, err := c.Changes(ctx, registry.Pensioners, cursor, 1000); !errors.Is(err, registry.ErrCursorExpired) {
		t.Errorf("after a restart with another seed: %v, want ErrCursorExpired", err)
	}
	cursor = head()
	m.Do("POST", "/__admin/reset", nil, 204)
	if _, err := c.Changes(ctx, registry.Pensioners, cursor, 1000); !errors.Is(err, registry.ErrCursorExpired) {
		t.Errorf("after a reset: %v, want ErrCursorExpired", err)
	}
	if _, err := c.Changes(ctx, registry.Pensioners, "", 1000); err != nil {
		t.Errorf("from the start after the reset: %v", err)
	}
}
