package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the gateway's collectors. Labels stay bounded: route is a registered
// pattern or "unmatched", method is one of the standard methods or "OTHER".
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	gatherer prometheus.Gatherer
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	gatherer, ok := reg.(prometheus.Gatherer)
	if !ok {
		return nil, errors.New("gateway: Deps.Metrics must also be a prometheus.Gatherer (a *prometheus.Registry is) so /metrics can serve it")
	}
	requests, err := registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goforward_http_requests_total",
		Help: "HTTP requests served, by service, route pattern, method and status code.",
	}, []string{"service", "route", "method", "code"}))
	if err != nil {
		return nil, err
	}
	duration, err := registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goforward_http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by service, route pattern and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"service", "route", "method"}))
	if err != nil {
		return nil, err
	}
	return &httpMetrics{requests: requests, duration: duration, gatherer: gatherer}, nil
}

// registerOrReuse registers c, or returns the identical collector already registered (two
// gateways in one process, as in tests, share the counters).
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("gateway: register metrics: %w", err)
}

// measure counts and times every request. The status of a request whose handler panicked is
// recorded as 500, which is what the recovery layer around it sends.
func (g *Gateway) measure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ex := exchangeFrom(r.Context())
		completed := false
		defer func() {
			status := ex.w.Status()
			switch {
			case status != 0:
			case completed:
				status = http.StatusOK // net/http sends 200 for a handler that wrote nothing
			default:
				status = http.StatusInternalServerError
			}
			method := methodLabel(r.Method)
			g.metrics.requests.WithLabelValues(ex.service, ex.route, method, strconv.Itoa(status)).Inc()
			g.metrics.duration.WithLabelValues(ex.service, ex.route, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(w, r)
		completed = true
	})
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
