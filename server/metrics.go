package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/ingest"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
// Labels take values from fixed sets only (method names, codes, job kinds
// and statuses, dataset names): no source, URL, token or user.
type metrics struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	jobs     *prometheus.CounterVec
	jobTime  *prometheus.HistogramVec
	rows     *prometheus.CounterVec
	bytes    prometheus.Counter
	rejected prometheus.Counter
}

// latencyBuckets span 1 ms to about 4 minutes (a long job).
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 4, 10)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "focus_ingest_grpc_requests_total",
			Help: "Finished gRPC calls by service, method and status code (errors are the codes other than OK)."},
			[]string{"service", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "focus_ingest_grpc_request_duration_seconds",
			Help: "Duration of finished gRPC calls.", Buckets: latencyBuckets}, []string{"service", "method"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "focus_ingest_grpc_streams_in_flight",
			Help: "Streaming gRPC calls open now."}, []string{"service", "method"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "focus_ingest_jobs_total",
			Help: "Finished jobs by kind (put, ingest) and status (committed, failed)."}, []string{"kind", "status"}),
		jobTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "focus_ingest_job_duration_seconds",
			Help: "Duration of finished jobs.", Buckets: latencyBuckets}, []string{"kind"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "focus_ingest_rows_total",
			Help: "Rows committed by jobs, by dataset (costs_raw, tags_index)."}, []string{"dataset"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "focus_ingest_input_bytes_total",
			Help: "Input bytes (as stored, compressed or not) read by committed jobs."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "focus_ingest_rows_rejected_total",
			Help: "Rows (or whole inputs) quarantined by committed jobs."}),
	}
	m.reg.MustRegister(m.calls, m.latency, m.inFlight, m.jobs, m.jobTime, m.rows, m.bytes, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// splitMethod splits "/pkg.Service/Method" into service and method.
func splitMethod(full string) (service, method string) {
	service, method, _ = strings.Cut(strings.TrimPrefix(full, "/"), "/")
	return service, method
}

// call counts a finished call.
func (m *metrics) call(fullMethod string, start time.Time, err error) {
	svc, method := splitMethod(fullMethod)
	m.calls.WithLabelValues(svc, method, status.Code(err).String()).Inc()
	m.latency.WithLabelValues(svc, method).Observe(time.Since(start).Seconds())
}

// streamOpened counts an open stream; the function returned closes it.
func (m *metrics) streamOpened(fullMethod string) func() {
	g := m.inFlight.WithLabelValues(splitMethod(fullMethod))
	g.Inc()
	return g.Dec
}

// job counts a finished job (flightsvc.Config.OnJob).
func (m *metrics) job(kind string, sum ingest.Summary, err error) {
	st := sum.Status
	if err != nil || st == "" {
		st = ingest.StatusFailed
	}
	m.jobs.WithLabelValues(kind, st).Inc()
	m.jobTime.WithLabelValues(kind).Observe(sum.Elapsed.Seconds())
	if err != nil {
		return
	}
	for ds, n := range sum.Rows {
		m.rows.WithLabelValues(ds).Add(float64(n))
	}
	m.bytes.Add(float64(sum.Bytes))
	m.rejected.Add(float64(sum.Rejected))
}

// MetricsHandler serves the server's metrics in the Prometheus text
// format (the binary mounts it on /metrics of --metrics-listen).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}
