package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP metrics of the server. Labels are bounded: route is
// the matched ServeMux pattern's path ("unmatched" when none matched) and
// method is one of the standard methods or "OTHER".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge

	mu     sync.RWMutex
	routes map[routeKey]*routeMetrics // guarded by mu; children resolved once per route
}

type routeKey struct{ method, route string }

type routeMetrics struct {
	duration prometheus.Observer

	mu       sync.RWMutex
	byStatus map[int]prometheus.Counter // guarded by mu
}

// newMetrics creates the collectors and registers them with reg unless it
// is nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentphone_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentphone_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agentphone_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
		routes: map[routeKey]*routeMetrics{},
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.inFlight)
	}
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	method = methodLabel(method)
	k := routeKey{method, route}
	m.mu.RLock()
	rm := m.routes[k]
	m.mu.RUnlock()
	if rm == nil {
		m.mu.Lock()
		if rm = m.routes[k]; rm == nil {
			rm = &routeMetrics{
				duration: m.duration.WithLabelValues(method, route),
				byStatus: map[int]prometheus.Counter{},
			}
			m.routes[k] = rm
		}
		m.mu.Unlock()
	}
	rm.duration.Observe(d.Seconds())

	rm.mu.RLock()
	c := rm.byStatus[status]
	rm.mu.RUnlock()
	if c == nil {
		rm.mu.Lock()
		if c = rm.byStatus[status]; c == nil {
			c = m.requests.WithLabelValues(method, route, strconv.Itoa(status))
			rm.byStatus[status] = c
		}
		rm.mu.Unlock()
	}
	c.Inc()
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// metricsHandler serves the gatherer in the Prometheus text format.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
}
