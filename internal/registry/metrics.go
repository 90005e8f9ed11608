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
	feed     *prometheus.HistogramVec
	rejected *prometheus.CounterVec
	breaker  *prometheus.GaugeVec
	token    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avis_registry_request_duration_seconds",
			Help:    "Registry lookups for eligibility checks by data set and outcome (ok, not_found, error, timeout); those the breaker refused are in avis_registry_breaker_rejections_total.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .03, .05, .075, .1, .25, .5, 1, 2.5},
		}, []string{"dataset", "outcome"}),
		// Feed pages are background work with a longer timeout: apart, so
		// that they do not blur the lookups' latency at the tills.
		feed: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avis_registry_feed_request_duration_seconds",
			Help:    "Changed-records feed pages read from the registries by data set and outcome (ok, cursor_expired, error, timeout).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"dataset", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_registry_breaker_rejections_total",
			Help: "Registry lookups not made because the data set's circuit breaker was open.",
		}, []string{"dataset"}),
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
	for _, c := range []prometheus.Collector{m.duration, m.feed, m.rejected, m.breaker, m.token} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register registry metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(d Dataset, outcome string, took time.Duration) {
	m.duration.WithLabelValues(string(d), outcome).Observe(took.Seconds())
}

func (m *metrics) observeFeed(d Dataset, outcome string, took time.Duration) {
	m.feed.WithLabelValues(string(d), outcome).Observe(took.Seconds())
}

func (m *metrics) observeToken(outcome string, took time.Duration) {
	m.token.WithLabelValues(outcome).Observe(took.Seconds())
}
