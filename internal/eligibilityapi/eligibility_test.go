package eligibilityapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avis-lv/gateway/internal/config"
	"github.com/avis-lv/gateway/internal/registry/registrytest"
	"github.com/avis-lv/gateway/mocks/server"
)

func TestEligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1945-04-15", 111)
	stranger := code(t, "1960-05-01", 234)
	elsewhere := code(t, "1950-07-12", 345)
	dead := code(t, "1940-01-20", 456)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-04-15", riga))
	e.mock.Person(stranger, map[string]any{"person": nil})
	e.mock.Person(elsewhere, registrytest.Pensioner("1950-07-12", "0020000"))
	deadRecords := registrytest.Pensioner("1940-01-20", riga)
	deadRecords["person"].(map[string]any)["status"] = "deceased"
	deadRecords["person"].(map[string]any)["dateOfDeath"] = "2026-02-01"
	e.mock.Person(dead, deadRecords)

	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{"conditions": map[string]any{"municipality": riga}})
	e.benefit(e.grantor2, "half-price-anywhere", map[string]any{
		"priority": 20, "combinable": true, "goodsCodes": []string{"*"}, "providers": []string{providerOrg, provider2Org},
		"discount": map[string]any{"type": "percent", "percentBasisPoints": 5000, "maxPerTransactionCents": 60},
	})

	t.Run("pensioner in Riga rides free, alone", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{
			"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "bus-7"}, "lines": rideLine,
		})
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		for _, word := range []string{"registryGroup", "municipality", "reason", "birth", "personCode", pensioner[:6]} {
			if strings.Contains(string(res.Body), word) {
				t.Errorf("the answer discloses %q: %s", word, res.Body)
			}
		}
		var d decision
		res.JSON(t, &d)
		if d.status("riga-pensioner-ride") != "applies" || d.discount("riga-pensioner-ride") != 150 || d.TotalDiscountCents != 150 {
			t.Errorf("decision %+v", d)
		}
		if d.status("half-price-anywhere") != "absent" {
			t.Errorf("an exclusive benefit of higher priority applies alone, got %+v", d)
		}
		if d.DecisionID == "" || d.ExpiresAt == "" {
			t.Errorf("no decision id or expiry: %s", res.Body)
		}
	})
	t.Run("pensioner elsewhere gets only the combinable one", func(t *testing.T) {
		d := e.check(e.provider, byCode(elsewhere), rideLine)
		if d.status("riga-pensioner-ride") != "absent" || d.discount("half-price-anywhere") != 60 {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("unknown person gets a decision with nothing", func(t *testing.T) {
		d := e.check(e.provider, byCode(stranger), rideLine)
		if len(d.Benefits) != 0 || d.TotalDiscountCents != 0 || d.DecisionID == "" {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("a person who died gets nothing", func(t *testing.T) {
		if d := e.check(e.provider, byCode(dead), rideLine); len(d.Benefits) != 0 {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("a provider the benefit does not admit does not see it", func(t *testing.T) {
		d := e.check(e.provider2, byCode(pensioner), rideLine)
		if d.status("riga-pensioner-ride") != "absent" || d.status("half-price-anywhere") != "applies" {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("without lines", func(t *testing.T) {
		d := e.check(e.provider2, byCode(pensioner), nil)
		b := d.Benefits[0]
		if b.DiscountCents != nil || b.MaxDiscountCents == nil || *b.MaxDiscountCents != 60 {
			t.Errorf("a percentage without lines: %+v", b)
		}
	})
	t.Run("bad personal code names the field", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byCode("150445-11113"), "pointOfSale": map[string]any{"id": "x"}})
		p := res.Problem(t)
		if res.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/person/personCode" || p.Errors[0].Code != "person_code.invalid_checksum" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("both code and means", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{
			"person": map[string]any{"personCode": pensioner, "means": map[string]any{"type": "etalons", "number": "ET-1234"}}, "pointOfSale": map[string]any{"id": "x"}})
		if p := res.Problem(t); res.Status != 400 || p.Errors[0].Pointer != "/person" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("duplicate line ids", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "x"},
			"lines": []map[string]any{{"lineId": "1", "goodsCode": "a", "amountCents": 1}, {"lineId": "1", "goodsCode": "b", "amountCents": 1}}})
		if p := res.Problem(t); res.Status != 400 || p.Errors[0].Pointer != "/lines/1/lineId" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("sale time far in the past", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "x"}, "at": "2026-01-01T10:00:00Z"})
		if p := res.Problem(t); res.Status != 400 || p.Errors[0].Pointer != "/at" {
			t.Errorf("%d %+v", res.Status, p)
		}
	})
	t.Run("grantors may not ask", func(t *testing.T) {
		res := e.h.Do("POST", "/v1/eligibility", e.grantor, map[string]any{"person": byCode(pensioner), "pointOfSale": map[string]any{"id": "x"}})
		if res.Status != http.StatusForbidden {
			t.Errorf("%d %s", res.Status, res.Body)
		}
	})
}

// TestRegistryFaultsGiveUnknown runs every fault scenario of the mocks: the
// benefits that depend on the failing registry answer unknown, never
// silently nothing.
func TestRegistryFaultsGiveUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{"conditions": map[string]any{"municipality": riga}})
	e.benefit(e.grantor, "disability-ride", map[string]any{
		"priority": 5, "combinable": true, "recipientGroup": map[string]any{"registryGroup": "disability"},
		"discount": map[string]any{"type": "percent", "percentBasisPoints": 5000},
	})
	scenarios := []struct {
		name string
		sc   server.Scenario
	}{
		{"outage", server.Scenario{Outage: true}},
		{"5xx", server.Scenario{StatusCode: 500}},
		{"error rate", server.Scenario{ErrorRate: 1, ErrorStatus: 502}},
		{"timeout", server.Scenario{Timeout: true, TimeoutMs: 3000}},
		{"latency beyond the timeout", server.Scenario{LatencyMs: 1500}},
	}
	// The registry timeout (300 ms) bounds the first lookup's token
	// request too, which under load (-race, parallel tests) can take most
	// of it. A warm-up check gets the token first; the token request runs
	// on in the background when a lookup gives up, so one succeeds soon.
	warm := code(t, "1946-03-10", 199)
	e.mock.Person(warm, registrytest.Pensioner("1946-03-10", riga))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if d := e.check(e.provider, byCode(warm), rideLine); d.status("riga-pensioner-ride") == "applies" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("10 s of warm-up checks never got an answer from the registries")
		}
	}
	t.Run("latency within the timeout", func(t *testing.T) {
		c := code(t, "1946-03-10", 200)
		e.mock.Person(c, registrytest.Pensioner("1946-03-10", riga))
		e.mock.Scenario("pensioners", server.Scenario{LatencyMs: 50})
		defer e.mock.ClearScenario("pensioners")
		if d := e.check(e.provider, byCode(c), rideLine); d.status("riga-pensioner-ride") != "applies" {
			t.Errorf("decision %+v", d)
		}
	})
	for i, sc := range scenarios {
		// A fresh person each time: a cached answer would hide the fault.
		c := code(t, "1946-03-10", 100+i)
		e.mock.Person(c, registrytest.Pensioner("1946-03-10", riga))
		t.Run("group registry "+sc.name, func(t *testing.T) {
			e.mock.Scenario("pensioners", sc.sc)
			defer e.mock.ClearScenario("pensioners")
			start := time.Now()
			d := e.check(e.provider, byCode(c), rideLine)
			took := time.Since(start)
			if d.status("riga-pensioner-ride") != "unknown" {
				t.Fatalf("pensioner benefit: %+v", d)
			}
			// A registry that hangs answers 504 only after 3 s, unknown too:
			// only the time tells that the 300 ms timeout gave up on it.
			if took > 1500*time.Millisecond {
				t.Errorf("the check took %s; the registry timeout (300 ms) should have ended it", took)
			}
			// The disability registry answered "no record": that benefit is
			// simply not there; the unknown one is not in the total.
			if d.status("disability-ride") != "absent" || d.TotalDiscountCents != 0 {
				t.Errorf("decision %+v", d)
			}
		})
	}
	t.Run("five failures in a row open the breaker", func(t *testing.T) {
		res := e.h.Do("GET", "/metrics", "", nil)
		if !strings.Contains(string(res.Body), `avis_registry_breaker_state{dataset="pensioners"} 2`) {
			t.Errorf("breaker not open in /metrics")
		}
		seq := e.mock.LastSeq()
		c := code(t, "1946-03-10", 210)
		e.mock.Person(c, registrytest.Pensioner("1946-03-10", riga))
		if d := e.check(e.provider, byCode(c), rideLine); d.status("riga-pensioner-ride") != "unknown" {
			t.Errorf("decision %+v", d)
		}
		if n := len(e.mock.Journal("pensioners", seq)); n != 0 {
			t.Errorf("the open breaker let %d requests through", n)
		}
		// What the breaker refused is counted apart, not as a lookup that
		// took no time.
		res = e.h.Do("GET", "/metrics", "", nil)
		if !strings.Contains(string(res.Body), `avis_registry_breaker_rejections_total{dataset="pensioners"}`) ||
			strings.Contains(string(res.Body), `outcome="breaker_open"`) {
			t.Errorf("breaker rejections in /metrics:\n%s", grepLines(res.Body, "avis_registry_"))
		}
	})
	t.Run("PMLP outage makes every benefit unknown", func(t *testing.T) {
		c := code(t, "1946-03-10", 201)
		records := registrytest.Pensioner("1946-03-10", riga)
		records["disability"] = map[string]any{"group": "II", "validFrom": "2020-01-01", "validTo": nil}
		e.mock.Person(c, records)
		e.mock.Scenario("person", server.Scenario{Outage: true})
		defer e.mock.ClearScenario("person")
		d := e.check(e.provider, byCode(c), rideLine)
		if d.status("riga-pensioner-ride") != "unknown" || d.status("disability-ride") != "unknown" || d.TotalDiscountCents != 0 {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("token endpoint down", func(t *testing.T) {
		e2 := newEnv(t)
		e2.benefit(e2.grantor, "riga-pensioner-ride", map[string]any{})
		c := code(t, "1946-03-10", 202)
		e2.mock.Person(c, registrytest.Pensioner("1946-03-10", riga))
		e2.mock.Scenario("token", server.Scenario{Outage: true})
		if d := e2.check(e2.provider, byCode(c), rideLine); d.status("riga-pensioner-ride") != "unknown" {
			t.Errorf("decision %+v", d)
		}
	})
}

// A registry change reaches answers at the next poll of the changes feed,
// not when the cached facts expire.
func TestRegistryChangesDropCachedFacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.RegistryChangesEvery = 100 * time.Millisecond })
	c := code(t, "1944-02-02", 111)
	e.mock.Person(c, registrytest.Pensioner("1944-02-02", riga))
	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{"conditions": map[string]any{"municipality": riga}})
	if d := e.check(e.provider, byCode(c), rideLine); d.status("riga-pensioner-ride") != "applies" {
		t.Fatalf("before the change: %+v", d)
	}
	// The person moves out of Rīga; the cached facts say Rīga for 15 minutes.
	e.mock.Person(c, map[string]any{"person": registrytest.PersonRecord("1944-02-02", "0054000"),
		"pensioners": registrytest.Pensioner("1944-02-02", riga)["pensioners"]})
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := e.check(e.provider, byCode(c), rideLine)
		if d.status("riga-pensioner-ride") == "absent" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the registry change the answer still says %q", d.status("riga-pensioner-ride"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An eID card that PMLP declares invalid stops identifying its holder at
// the next poll of the eID changes feed, not when the cached resolution
// expires.
func TestRegistryChangesDropCachedCards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.RegistryChangesEvery = 100 * time.Millisecond })
	holder := code(t, "1943-07-07", 112)
	records := registrytest.Pensioner("1943-07-07", riga)
	card := func(status string) map[string]any {
		return map[string]any{"cards": []map[string]any{{"number": "PC7000001", "status": status, "validFrom": "2021-01-01", "validTo": "2031-01-01"}}}
	}
	records["eid"] = card("valid")
	e.mock.Person(holder, records)
	e.benefit(e.grantor, "riga-pensioner-ride", map[string]any{})
	if d := e.check(e.provider, byMeans("eid_card", "PC7000001"), rideLine); d.status("riga-pensioner-ride") != "applies" {
		t.Fatalf("before the change: %+v", d)
	}
	records["eid"] = card("invalid")
	e.mock.Person(holder, records)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := e.h.Do("POST", "/v1/eligibility", e.provider, map[string]any{"person": byMeans("eid_card", "PC7000001"), "pointOfSale": map[string]any{"id": "x"}, "lines": rideLine})
		if res.Status == http.StatusNotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after PMLP declared the card invalid it still identifies its holder: %d %s", res.Status, res.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// grepLines is the lines of body that contain s.
func grepLines(body []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A provider that a new version of a benefit no longer admits stops being
// offered it. A decision it was given before the change stays what the
// gateway decided: the transactions service checks a report against its
// decision only ("limits and validity were decided for that moment"), so
// reporting it within the decision's lifetime is accepted, for the version
// the decision named. That is the gateway's intent, tested here so that a
// change to it is deliberate.
func TestProviderDroppedFromBenefit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pensioner := code(t, "1945-06-01", 111)
	e.mock.Person(pensioner, registrytest.Pensioner("1945-06-01", riga))
	e.benefit(e.grantor, "shared-ride", map[string]any{"providers": []string{providerOrg, provider2Org}})
	old := e.check(e.provider2, byCode(pensioner), rideLine)
	if old.status("shared-ride") != "applies" {
		t.Fatalf("before the change provider B is not offered the benefit: %+v", old)
	}
	if d := e.check(e.provider, byCode(pensioner), rideLine); d.status("shared-ride") != "applies" {
		t.Fatalf("before the change provider A is not offered the benefit: %+v", d)
	}

	e.benefit(e.grantor, "shared-ride", map[string]any{"providers": []string{providerOrg}})
	// The instructions a check uses may be cached until the feed moves.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d := e.check(e.provider2, byCode(pensioner), rideLine)
		if d.status("shared-ride") == "absent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the new version dropped provider B, its check still says %q", d.status("shared-ride"))
		}
	}
	// Each provider's instructions are cached on their own: A's may still
	// be the first version for a moment after B's are the second.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d := e.check(e.provider, byCode(pensioner), rideLine)
		if d.status("shared-ride") != "applies" {
			t.Fatalf("provider A, still admitted, is no longer offered the benefit: %+v", d)
		}
		if len(d.Benefits) == 1 && d.Benefits[0].Version == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the change provider A is offered version %d, want the new version 2", d.Benefits[0].Version)
		}
	}

	// B's decision from before the change.
	res := e.h.Do("POST", "/v1/transactions", e.provider2, report(old.DecisionID, claim("shared-ride", 150)), "Idempotency-Key", "dropped-0000001")
	var tx struct {
		Benefits []struct {
			BenefitID string `json:"benefitId"`
			Version   int    `json:"version"`
		} `json:"benefits"`
	}
	res.JSON(t, &tx)
	if res.Status != http.StatusCreated || len(tx.Benefits) != 1 || tx.Benefits[0].Version != 1 {
		t.Errorf("a decision made before provider B was dropped: %d %s; want 201 for version 1 (the decision stands until it expires)", res.Status, res.Body)
	}
}
