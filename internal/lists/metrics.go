package lists

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics count what operators watch: uploads by outcome, rows read and
// how long processing takes. Labels never carry list ids or personal data.
type metrics struct {
	uploads  *prometheus.CounterVec
	rows     prometheus.Counter
	duration prometheus.Histogram
	versions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_list_uploads_total",
			Help: "Person-list uploads that ended, by status (applied, rejected, failed).",
		}, []string{"status"}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "avis_list_upload_rows_total",
			Help: "Data rows read from uploaded person-list files.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "avis_list_upload_processing_seconds",
			Help:    "Time from lease to end of processing of one upload attempt.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10),
		}),
		versions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avis_list_versions_total",
			Help: "Person-list versions made, by source (push, upload).",
		}, []string{"source"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.uploads, m.rows, m.duration, m.versions} {
			// A registry that has these already (a second service in one
			// process) keeps the first ones; this service still counts.
			_ = reg.Register(c)
		}
	}
	return m
}
