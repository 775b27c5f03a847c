package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Server's Prometheus series, in a registry of its own (no
// global state). Names follow the apiserver's, so its dashboards apply.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	watchers prometheus.Gauge
}

func newMetrics(count func(context.Context) (int64, error)) (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Requests answered, by verb, resource and HTTP status code.",
		}, []string{"verb", "resource", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds",
			Help: "Time to answer a request, by verb and resource (a watch: its whole life).",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "resource"}),
		watchers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Watches in progress.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.watchers,
		&objectCounter{count: count, desc: prometheus.NewDesc("apiserver_storage_objects",
			"Objects in the catalog at the time of the scrape.", nil, prometheus.Labels{"resource": "images.image.openshift.io"})},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.registry.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(info *requestInfo, code int, took time.Duration) {
	verb := info.verb
	switch verb {
	case "GET", "HEAD", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "OPTIONS":
	default:
		verb = "OTHER" // any token is a method to net/http: keep the label set bounded
	}
	m.requests.WithLabelValues(verb, info.resource, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(verb, info.resource).Observe(took.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// objectCounter asks the catalog how many images it holds at each scrape.
type objectCounter struct {
	count func(context.Context) (int64, error)
	desc  *prometheus.Desc
}

func (o *objectCounter) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

func (o *objectCounter) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := o.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(o.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(n))
}
