package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/avis-lv/gateway/mocks/registry"
)

func (h *harness) scenario(key, body string) {
	h.t.Helper()
	if res := h.putJSON("/__admin/scenarios/"+key, body); res.status != http.StatusOK {
		h.t.Fatalf("put scenario %s: %d %s", key, res.status, res.body)
	}
}

func TestScenarioLatency(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	p := h.person(registry.Person, true)
	h.scenario("person", `{"latencyMs": 60}`)
	start := time.Now()
	res := h.data(token, registry.Person, "/dagr/v1/person/persons/"+string(p.Code))
	if res.status != 200 || time.Since(start) < 60*time.Millisecond {
		t.Errorf("latency scenario: %d after %s", res.status, time.Since(start))
	}
	// Other data sets are untouched.
	start = time.Now()
	h.data(token, registry.EID, "/dagr/v1/eid/persons/"+string(p.Code))
	if time.Since(start) > 50*time.Millisecond {
		t.Errorf("eid slowed down by the person scenario: %s", time.Since(start))
	}
}

func TestScenarioOutageAndStatus(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	p := h.person(registry.Pensioners, true)
	path := "/dagr/v1/pensioners/persons/" + string(p.Code)

	h.scenario("pensioners", `{"outage": true, "statusCode": 418}`)
	res := h.data(token, registry.Pensioners, path)
	h.wantProblem(res, 503, "registry-outage")
	if res.header.Get("Retry-After") == "" {
		t.Error("outage without Retry-After")
	}
	// Faults apply before authentication, as a network fault would.
	h.wantProblem(h.do(http.MethodGet, path, nil, nil), 503, "registry-outage")

	h.scenario("pensioners", `{"statusCode": 429}`)
	res = h.data(token, registry.Pensioners, path)
	h.wantProblem(res, 429, "scenario-status")
	if res.header.Get("Retry-After") != "1" {
		t.Error("429 without Retry-After")
	}
	if res := h.do(http.MethodDelete, "/__admin/scenarios/pensioners", nil, nil); res.status != 204 {
		t.Fatalf("delete scenario: %d", res.status)
	}
	if res := h.data(token, registry.Pensioners, path); res.status != 200 {
		t.Errorf("after delete: %d %s", res.status, res.body)
	}
}

func TestScenarioErrorRateIsDeterministic(t *testing.T) {
	run := func() []int {
		h := newHarness(t)
		token := h.login()
		p := h.person(registry.Learners, true)
		h.scenario("learners", `{"errorRate": 0.3, "errorStatus": 502}`)
		var statuses []int
		for range 200 {
			res := h.data(token, registry.Learners, "/dagr/v1/learners/persons/"+string(p.Code))
			if res.status != 200 {
				h.wantProblem(res, 502, "scenario-error")
			}
			statuses = append(statuses, res.status)
		}
		return statuses
	}
	a, b := run(), run()
	failed := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %d in one run, %d in the other", i, a[i], b[i])
		}
		if a[i] == 502 {
			failed++
		}
	}
	if failed < 35 || failed > 85 {
		t.Errorf("%d of 200 failed at error rate 0.3", failed)
	}
}

func TestScenarioTimeout(t *testing.T) {
	h := newHarness(t)
	token := h.login()
	p := h.person(registry.Person, true)
	path := "/dagr/v1/person/persons/" + string(p.Code)

	h.scenario("person", `{"timeout": true, "timeoutMs": 80}`)
	start := time.Now()
	h.wantProblem(h.data(token, registry.Person, path), 504, "registry-timeout")
	if time.Since(start) < 80*time.Millisecond {
		t.Errorf("answered after %s, before the hold", time.Since(start))
	}

	// A client that gives up first gets nothing, and the journal says so.
	h.scenario("person", `{"timeout": true}`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	_, err := h.ts.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client error %v, want its own deadline", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		entries := h.srv.journal.find(journalFilter{limit: 100, dataset: "person"})
		if n := len(entries); n > 0 && entries[n-1].Status == 499 && entries[n-1].Scenario == "timeout" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("abandoned request not journaled as 499")
}

func TestScenarioOnToken(t *testing.T) {
	h := newHarness(t)
	h.scenario("token", `{"outage": true}`)
	h.wantProblem(h.postToken(h.tokenRequest(h.signer, nil)), 503, "registry-outage")
}

func TestScenarioValidation(t *testing.T) {
	h := newHarness(t)
	p := h.wantProblem(h.putJSON("/__admin/scenarios/needy", `{"latencyMs": -1, "errorRate": 2, "statusCode": 200, "errorStatus": 302, "timeoutMs": 999999}`), 400, "invalid-scenario")
	fields := map[string]bool{}
	for _, e := range p.Errors {
		fields[e.Field] = true
	}
	for _, f := range []string{"/latencyMs", "/errorRate", "/statusCode", "/errorStatus", "/timeoutMs"} {
		if !fields[f] {
			t.Errorf("no error for %s in %+v", f, p.Errors)
		}
	}
	h.wantProblem(h.putJSON("/__admin/scenarios/needy", `{"latency": 5}`), 400, "invalid-json")
	h.wantProblem(h.putJSON("/__admin/scenarios/needy", `{"latencyMs": "5"}`), 400, "invalid-json")
	h.wantProblem(h.putJSON("/__admin/scenarios/taxes", `{}`), 404, "unknown-dataset")

	h.scenario("needy", `{"latencyMs": 5}`)
	res := h.do(http.MethodGet, "/__admin/scenarios", nil, nil)
	var all map[string]Scenario
	h.decode(res, &all)
	if all["needy"].LatencyMs != 5 || len(all) != 1 {
		t.Errorf("scenarios: %+v", all)
	}
}

// The answer to PUT and the list show the values that will be applied:
// fields left out (or 0) show their defaults, set fields are kept, and
// what the mocks show can be put back unchanged.
func TestScenarioShowsEffectiveValues(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Scenario
	}{
		{"empty", `{}`, Scenario{TimeoutMs: 30000, ErrorStatus: 500}},
		{"timeout without a hold", `{"timeout": true}`, Scenario{Timeout: true, TimeoutMs: 30000, ErrorStatus: 500}},
		{"zero means the default", `{"timeout": true, "timeoutMs": 0, "errorRate": 0.5, "errorStatus": 0}`,
			Scenario{Timeout: true, TimeoutMs: 30000, ErrorRate: 0.5, ErrorStatus: 500}},
		{"error rate without a status", `{"latencyMs": 800, "errorRate": 0.1}`, Scenario{LatencyMs: 800, TimeoutMs: 30000, ErrorRate: 0.1, ErrorStatus: 500}},
		{"set values kept", `{"timeout": true, "timeoutMs": 80, "errorRate": 0.1, "errorStatus": 503, "statusCode": 429, "outage": true}`,
			Scenario{Outage: true, Timeout: true, TimeoutMs: 80, StatusCode: 429, ErrorRate: 0.1, ErrorStatus: 503}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			res := h.putJSON("/__admin/scenarios/pensioners", tc.body)
			if res.status != http.StatusOK {
				t.Fatalf("put: %d %s", res.status, res.body)
			}
			var put Scenario
			h.decode(res, &put)
			if put != tc.want {
				t.Errorf("PUT answered %+v, want %+v", put, tc.want)
			}
			var all map[string]Scenario
			h.decode(h.do(http.MethodGet, "/__admin/scenarios", nil, nil), &all)
			if all["pensioners"] != tc.want {
				t.Errorf("GET lists %+v, want %+v", all["pensioners"], tc.want)
			}
			var again Scenario
			h.decode(h.putJSON("/__admin/scenarios/pensioners", string(res.body)), &again)
			if again != tc.want {
				t.Errorf("put back: %+v, want %+v", again, tc.want)
			}
		})
	}
}

// With timeout, the hold starts after the latency: the two together must
// stay within the hold cap, or the server's write timeout would cut the
// connection before the 504. The refusal names timeoutMs, also when it is
// left at its default.
func TestScenarioHoldWithinCap(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{
		`{"latencyMs": 100000, "timeout": true, "timeoutMs": 30000}`,
		`{"latencyMs": 100000, "timeout": true}`,
		`{"latencyMs": 120000, "timeout": true, "timeoutMs": 1}`,
	} {
		p := h.wantProblem(h.putJSON("/__admin/scenarios/needy", body), 400, "invalid-scenario")
		if len(p.Errors) != 1 || p.Errors[0].Field != "/timeoutMs" {
			t.Errorf("%s: errors %+v, want one on /timeoutMs", body, p.Errors)
		}
	}
	for _, body := range []string{
		`{"latencyMs": 90000, "timeout": true}`,
		`{"latencyMs": 60000, "timeout": true, "timeoutMs": 60000}`,
		`{"latencyMs": 120000, "timeoutMs": 120000}`, // no timeout: only the latency holds
	} {
		if res := h.putJSON("/__admin/scenarios/needy", body); res.status != http.StatusOK {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
}
