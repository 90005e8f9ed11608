package eligibility

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/avis-lv/gateway/internal/benefits"
	"github.com/avis-lv/gateway/internal/means"
	"github.com/avis-lv/gateway/internal/personcode"
	"github.com/avis-lv/gateway/internal/registry"
)

// fakeRegistry answers from maps and counts calls; a data set in down
// fails.
type fakeRegistry struct {
	mu      sync.Mutex
	records map[registry.Dataset]map[string]string
	cards   map[string]string // eID record by card number
	down    map[registry.Dataset]bool
	calls   atomic.Int64
}

func (f *fakeRegistry) Record(_ context.Context, d registry.Dataset, code string) ([]byte, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[d] {
		return nil, fmt.Errorf("%w: test outage", registry.ErrUnavailable)
	}
	if r, ok := f.records[d][code]; ok {
		return []byte(r), nil
	}
	return nil, registry.ErrNotFound
}

func (f *fakeRegistry) Card(_ context.Context, number string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.cards[number]; ok {
		return []byte(r), nil
	}
	return nil, registry.ErrNotFound
}

type fakeStore struct {
	benefits  []Benefit
	decisions []Decision
	mu        sync.Mutex
}

func (f *fakeStore) AdmittedBenefits(context.Context, string) ([]Benefit, error) {
	return f.benefits, nil
}
func (f *fakeStore) Spent(context.Context, []byte, []SpendQuery) (map[string]int64, error) {
	return map[string]int64{}, nil
}
func (f *fakeStore) SaveDecision(_ context.Context, d Decision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decisions = append(f.decisions, d)
	return nil
}

type fakeLists struct {
	version atomic.Int64
	members sync.Map // code → version it was added in
	calls   atomic.Int64
}

func (f *fakeLists) IsMember(_ context.Context, _ string, code personcode.Code, _ time.Time) (bool, int, error) {
	f.calls.Add(1)
	_, ok := f.members.Load(string(code))
	return ok, int(f.version.Load()), nil
}
func (f *fakeLists) Current(context.Context, string) (int, error) { return int(f.version.Load()), nil }
func (f *fakeLists) Seen(string, int)                             {}

type fakeMeans struct{}

func (fakeMeans) Lookup(context.Context, means.Type, string) (means.Means, error) {
	return means.Means{}, means.ErrNotFound
}

const testCode = "15044511112"

// testRedis connects to the test Redis with a key prefix of the test's own,
// deleted at the end. (storetest cannot be used here: it imports the store,
// which imports this package.)
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	addr := os.Getenv("AVIS_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("connect to Redis (run scripts/services.sh): %v", err)
	}
	prefix := fmt.Sprintf("avistest:elig:%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

func personJSON(atvk string) string {
	return `{"personCode":"` + testCode + `","birthDate":"1945-04-15","status":"active","declaredAddress":{"municipality":{"atvk":"` + atvk + `","name":"R"},"validFrom":"2000-01-01"}}`
}

func newTestService(t *testing.T, rdb *redis.Client, prefix string) (*Service, *fakeRegistry, *fakeLists, *Cache) {
	t.Helper()
	keys, err := DeriveKeys([]byte(strings.Repeat("k", 32)), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := NewCache(CacheConfig{Client: rdb, Prefix: prefix, Keys: keys, DegradedFor: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := &fakeRegistry{
		records: map[registry.Dataset]map[string]string{
			registry.Person:     {testCode: personJSON("0001000")},
			registry.Pensioners: {testCode: `{"personCode":"` + testCode + `","pensionType":"old-age","validFrom":"2010-01-01","validTo":null}`},
		},
		down: map[registry.Dataset]bool{},
	}
	lists := &fakeLists{}
	store := &fakeStore{benefits: []Benefit{
		benefit("ride", 10, true, "pensioners", free, "transport.ride"),
		{ID: "meals", Version: 1, Grantor: "90000000002", Instruction: benefits.Instruction{
			EKKCode: "6322", ValidFrom: d("2026-01-01"), Priority: 5, Combinable: true, Discount: fixed,
			GoodsCodes: []string{"*"}, RecipientGroup: benefits.RecipientGroup{PersonListID: "meals"},
		}},
	}}
	s, err := NewService(Config{}, Deps{Store: store, Registry: reg, Lists: lists, Versions: lists, Means: fakeMeans{}, Cache: cache, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return s, reg, lists, cache
}

var testLines = []Line{{ID: "1", GoodsCode: "transport.ride", Quantity: 1, AmountCents: 300}}

func statusOf(d Decision, id string) Status {
	for _, b := range d.Benefits {
		if b.BenefitID == id {
			return b.Status
		}
	}
	return ""
}

func TestCacheServesWarmChecks(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t)
	s, reg, lists, _ := newTestService(t, rdb, prefix)
	ctx := context.Background()
	check := func() Decision {
		t.Helper()
		dec, err := s.Check(ctx, "40000000001", Request{PersonCode: testCode, Lines: testLines})
		if err != nil {
			t.Fatal(err)
		}
		return dec
	}
	if d := check(); statusOf(d, "ride") != StatusApplies || statusOf(d, "meals") != "" {
		t.Fatalf("cold: %+v", d.Benefits)
	}
	before, listCalls := reg.calls.Load(), lists.calls.Load()
	check()
	if reg.calls.Load() != before || lists.calls.Load() != listCalls {
		t.Errorf("a warm check asked the registry %d and the lists %d times", reg.calls.Load()-before, lists.calls.Load()-listCalls)
	}

	t.Run("no key holds the personal code", func(t *testing.T) {
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("keys %v, %v", keys, err)
		}
		for _, k := range keys {
			for _, part := range []string{testCode, testCode[:6], "150445"} {
				if strings.Contains(k, part) {
					t.Errorf("key %q contains %q", k, part)
				}
			}
			v, _ := rdb.Get(ctx, k).Bytes()
			if strings.Contains(string(v), testCode) {
				t.Errorf("value of %q holds the personal code", k)
			}
		}
	})

	t.Run("a new list version is read, not the cached answer", func(t *testing.T) {
		lists.members.Store(testCode, 1)
		lists.version.Store(1)
		if d := check(); statusOf(d, "meals") != StatusApplies {
			t.Errorf("after the person was added in version 1: %+v", d.Benefits)
		}
		lists.members.Delete(testCode)
		lists.version.Store(2)
		if d := check(); statusOf(d, "meals") != "" {
			t.Errorf("after the person was removed in version 2: %+v", d.Benefits)
		}
	})

	t.Run("flushing changes nothing", func(t *testing.T) {
		want := check()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		rdb.Del(ctx, keys...)
		got := check()
		if len(got.Benefits) != len(want.Benefits) || got.TotalCents != want.TotalCents {
			t.Errorf("after a flush %+v, before %+v", got.Benefits, want.Benefits)
		}
	})

	t.Run("a failing registry is not cached", func(t *testing.T) {
		other := "01010110006"
		reg.mu.Lock()
		reg.down[registry.Person] = true
		reg.mu.Unlock()
		d, err := s.Check(ctx, "40000000001", Request{PersonCode: other, Lines: testLines})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Benefits) != 0 {
			// The pensioner registry says "no record" for this person.
			t.Errorf("decision %+v", d.Benefits)
		}
		reg.mu.Lock()
		reg.down[registry.Person] = false
		reg.records[registry.Person][other] = personJSON("0001000")
		reg.records[registry.Pensioners][other] = `{"pensionType":"old-age","validFrom":"2010-01-01"}`
		reg.mu.Unlock()
		// The person answer was not cached as unknown; the pensioner one was
		// cached as "no record" for the negative TTL.
		d, _ = s.Check(ctx, "40000000001", Request{PersonCode: other, Lines: testLines})
		if statusOf(d, "ride") != "" {
			t.Errorf("the negative answer should still be cached: %+v", d.Benefits)
		}
	})
}

func TestRedisDownStillAnswers(t *testing.T) {
	t.Parallel()
	// A Redis address nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 100 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	defer rdb.Close()
	s, reg, _, cache := newTestService(t, rdb, "x:")
	for i := range 3 {
		start := time.Now()
		d, err := s.Check(context.Background(), "40000000001", Request{PersonCode: testCode, Lines: testLines})
		if err != nil || statusOf(d, "ride") != StatusApplies {
			t.Fatalf("check %d: %+v %v", i, d.Benefits, err)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Errorf("check %d took %s", i, took)
		}
	}
	if !cache.Degraded() {
		t.Error("the cache does not report itself degraded")
	}
	if reg.calls.Load() < 6 {
		t.Errorf("only %d registry calls for 3 checks without a cache", reg.calls.Load())
	}
	// An invalidation that cannot reach Redis is kept for retry (both key
	// forms of the means).
	s.InvalidateMeans(context.Background(), means.Etalons, "ET-1")
	cache.mu.Lock()
	_, current := cache.pending[cache.meansKey("etalons", "ET-1")]
	_, legacy := cache.pending[cache.legacyMeansKey("etalons", "ET-1")]
	pending := len(cache.pending)
	cache.mu.Unlock()
	if pending != 2 || !current || !legacy {
		t.Errorf("%d invalidations pending (current %v, legacy %v), want both key forms", pending, current, legacy)
	}
}

func TestPeriodBounds(t *testing.T) {
	t.Parallel()
	riga, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-29 00:30 in Riga is still Sunday the 29th (UTC+2 until 03:00).
	at := time.Date(2026, 3, 28, 22, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		p        benefits.Period
		from, to string
	}{
		{"day", "2026-03-29T00:00:00+02:00", "2026-03-30T00:00:00+03:00"},
		{"week", "2026-03-23T00:00:00+02:00", "2026-03-30T00:00:00+03:00"},
		{"month", "2026-03-01T00:00:00+02:00", "2026-04-01T00:00:00+03:00"},
		{"year", "2026-01-01T00:00:00+02:00", "2027-01-01T00:00:00+02:00"},
	} {
		from, to := periodBounds(tt.p, at, riga)
		if from.Format(time.RFC3339) != tt.from || to.Format(time.RFC3339) != tt.to {
			t.Errorf("%s: %s .. %s, want %s .. %s", tt.p, from.Format(time.RFC3339), to.Format(time.RFC3339), tt.from, tt.to)
		}
	}
}

func TestKeysAreKeyed(t *testing.T) {
	t.Parallel()
	a, _ := DeriveKeys([]byte(strings.Repeat("a", 32)), nil)
	b, _ := DeriveKeys([]byte(strings.Repeat("b", 32)), nil)
	c, _ := DeriveKeys([]byte(strings.Repeat("a", 32)), []byte(strings.Repeat("c", 32)))
	if string(a.PersonRefOf(testCode)) == string(b.PersonRefOf(testCode)) {
		t.Error("person references do not depend on the secret")
	}
	if string(a.PersonRefOf(testCode)) != string(c.PersonRefOf(testCode)) {
		t.Error("a cache key file must not change person references")
	}
	if string(a.Cache) == string(c.Cache) {
		t.Error("a cache key file must change the cache keys")
	}
	if _, err := DeriveKeys([]byte("short"), nil); err == nil {
		t.Error("a short secret is accepted")
	}
	if !errors.Is(ErrUnknownMeans, ErrUnknownMeans) {
		t.Fatal()
	}
}
