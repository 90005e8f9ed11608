package server

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scenario is a fault to inject on one data set's endpoints (or on the
// token endpoint, under the name "token"). Faults apply before
// authentication, as a network or upstream fault would, in this order:
// latency, outage, timeout, statusCode, errorRate.
type Scenario struct {
	// LatencyMs delays every answer.
	LatencyMs int `json:"latencyMs"`
	// Outage answers 503 with Retry-After to every request.
	Outage bool `json:"outage"`
	// Timeout holds each request without answering until the client gives
	// up or TimeoutMs passes (0 or absent: 30000), then answers 504.
	Timeout   bool `json:"timeout"`
	TimeoutMs int  `json:"timeoutMs"`
	// StatusCode, if set (400..599), answers every request with it.
	StatusCode int `json:"statusCode"`
	// ErrorRate (0..1) answers that share of requests with ErrorStatus
	// (0 or absent: 500). The draws come from a generator seeded with the
	// population seed and the data set, so the same request sequence fails
	// at the same places on every run.
	ErrorRate   float64 `json:"errorRate"`
	ErrorStatus int     `json:"errorStatus"`
}

// maxHold bounds how long a scenario holds a request: LatencyMs, TimeoutMs
// and, with Timeout, their sum, since the timeout's hold starts after the
// latency. The HTTP server's write timeout is set above it: a longer hold
// would end in an empty reply while the journal recorded a 504.
const maxHold = 120_000

// MaxHold is the longest a scenario holds a request.
const MaxHold = maxHold * time.Millisecond

// Defaults of the fields for which 0 means "not given".
const (
	defaultTimeoutMs   = 30_000
	defaultErrorStatus = http.StatusInternalServerError
)

// withDefaults fills in the fields left at 0 with the values that will be
// applied, so that what is stored, answered and listed is what happens
// (and can be put back unchanged).
func (sc Scenario) withDefaults() Scenario {
	if sc.TimeoutMs == 0 {
		sc.TimeoutMs = defaultTimeoutMs
	}
	if sc.ErrorStatus == 0 {
		sc.ErrorStatus = defaultErrorStatus
	}
	return sc
}

func (sc Scenario) validate() []ProblemField {
	var errs []ProblemField
	bad := func(field, format string, args ...any) {
		errs = append(errs, ProblemField{Field: "/" + field, Detail: fmt.Sprintf(format, args...)})
	}
	latencyOK := sc.LatencyMs >= 0 && sc.LatencyMs <= maxHold
	if !latencyOK {
		bad("latencyMs", "%d is outside 0..%d", sc.LatencyMs, maxHold)
	}
	if sc.TimeoutMs < 0 || sc.TimeoutMs > maxHold {
		bad("timeoutMs", "%d is outside 0..%d", sc.TimeoutMs, maxHold)
	} else if hold := sc.withDefaults().TimeoutMs; sc.Timeout && latencyOK && sc.LatencyMs+hold > maxHold {
		bad("timeoutMs", "latencyMs %d + timeoutMs %d = %d: a request is held at most %d ms in all",
			sc.LatencyMs, hold, sc.LatencyMs+hold, maxHold)
	}
	if sc.StatusCode != 0 && (sc.StatusCode < 400 || sc.StatusCode > 599) {
		bad("statusCode", "%d is not an error status (400..599), use 0 for none", sc.StatusCode)
	}
	if sc.ErrorRate < 0 || sc.ErrorRate > 1 {
		bad("errorRate", "%g is outside 0..1", sc.ErrorRate)
	}
	if sc.ErrorStatus != 0 && (sc.ErrorStatus < 400 || sc.ErrorStatus > 599) {
		bad("errorStatus", "%d is not an error status (400..599)", sc.ErrorStatus)
	}
	return errs
}

// activeScenario is a scenario with its error-draw generator.
type activeScenario struct {
	Scenario
	rng *rand.Rand
}

func newActiveScenario(sc Scenario, seed uint64, key string) *activeScenario {
	h := fnv.New64a()
	h.Write([]byte(key))
	return &activeScenario{Scenario: sc.withDefaults(), rng: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// applyScenario runs the scenario for key, if any. It returns true when it
// answered the request itself. The error draw happens under the server
// lock so concurrent requests consume the sequence in arrival order.
func (s *Server) applyScenario(ctx context.Context, w http.ResponseWriter, key string) bool {
	s.mu.Lock()
	as := s.scenarios[key]
	var sc Scenario
	failDraw := false
	if as != nil {
		sc = as.Scenario
		if sc.ErrorRate > 0 {
			failDraw = as.rng.Float64() < sc.ErrorRate
		}
	}
	s.mu.Unlock()
	if as == nil {
		return false
	}
	rec, _ := w.(*recorder)
	var applied []string
	note := func(what string) {
		applied = append(applied, what)
		if rec != nil {
			rec.scenario = strings.Join(applied, ",")
		}
	}
	if sc.LatencyMs > 0 {
		note("latency")
		if !sleep(ctx, time.Duration(sc.LatencyMs)*time.Millisecond) {
			return true // client gone: nothing to answer
		}
	}
	switch {
	case sc.Outage:
		note("outage")
		writeProblem(w, newProblem(http.StatusServiceUnavailable, "registry-outage", "Registry unavailable",
			"scenario: the "+key+" registry is in an outage").withHeader("Retry-After", "5"))
		return true
	case sc.Timeout:
		note("timeout")
		hold := sc.TimeoutMs
		if sleep(ctx, time.Duration(hold)*time.Millisecond) {
			writeProblem(w, newProblem(http.StatusGatewayTimeout, "registry-timeout", "Registry did not answer in time",
				"scenario: held the request for "+strconv.Itoa(hold)+" ms"))
		}
		return true
	case sc.StatusCode != 0:
		note("status")
		p := newProblem(sc.StatusCode, "scenario-status", http.StatusText(sc.StatusCode), "scenario: forced status "+strconv.Itoa(sc.StatusCode))
		if sc.StatusCode == http.StatusTooManyRequests || sc.StatusCode == http.StatusServiceUnavailable {
			p.withHeader("Retry-After", "1")
		}
		writeProblem(w, p)
		return true
	case failDraw:
		note("error")
		status := sc.ErrorStatus
		writeProblem(w, newProblem(status, "scenario-error", http.StatusText(status),
			fmt.Sprintf("scenario: injected error (rate %g)", sc.ErrorRate)))
		return true
	}
	return false
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
