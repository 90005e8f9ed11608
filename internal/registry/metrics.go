package registry

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the registry client. Labels are data sets and outcomes only,
// never anything about a person.
type metrics struct {
	duration *prometheus.HistogramVec
	breaker  *prometheus.GaugeVec
	token    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avis_registry_request_duration_seconds",
			Help:    "Registry requests by data set and outcome (ok, not_found, cursor_expired, error, timeout, breaker_open).",
			Buckets: []float64{.001, .0025, .005, .01, .02, .03, .05, .075, .1, .25, .5, 1, 2.5},
		}, []string{"dataset", "outcome"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "avis_registry_breaker_state",
			Help: "Circuit breaker state per data set: 0 closed, 1 half-open, 2 open.",
		}, []string{"dataset"}),
		token: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avis_registry_token_request_duration_seconds",
			Help:    "Signed token requests to DAGR by outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.duration, m.breaker, m.token} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register registry metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(d Dataset, outcome string, took time.Duration) {
	m.duration.WithLabelValues(string(d), outcome).Observe(took.Seconds())
}

func (m *metrics) observeToken(outcome string, took time.Duration) {
	m.token.WithLabelValues(outcome).Observe(took.Seconds())
}
