package realtime

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// metrics are the service's Prometheus collectors. Without a registerer they still count,
// unexported.
type metrics struct {
	reg              prometheus.Registerer
	connections      prometheus.Gauge
	messagesOut      prometheus.Counter
	slowDisconnects  prometheus.Counter
	changesDelivered prometheus.Counter
	checkSeconds     prometheus.Histogram
	rowChecks        prometheus.Counter
	changesDropped   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reg: reg,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "goforward_realtime_connections", Help: "Open realtime WebSockets on this node.",
		}),
		messagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goforward_realtime_messages_sent_total", Help: "Messages written to realtime WebSockets.",
		}),
		slowDisconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goforward_realtime_slow_disconnects_total", Help: "WebSockets closed because their send queue was full.",
		}),
		changesDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goforward_realtime_changes_delivered_total", Help: "postgres_changes messages queued for subscribers.",
		}),
		checkSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "goforward_realtime_authorization_check_seconds",
			Help:    "Duration of one authorization check of a change (one role and claims group).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		rowChecks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goforward_realtime_authorization_checks_total",
			Help: "Row-level security checks of changed rows: one per change, role and distinct claims under row-level security.",
		}),
		changesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goforward_realtime_changes_dropped_total",
			Help: "Changes this node dropped because its queue was full or they waited longer than realtime.postgres_changes.max_delay.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.messagesOut, m.slowDisconnects, m.changesDelivered, m.checkSeconds, m.rowChecks, m.changesDropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// watchSource exports the replication reader's state.
func (m *metrics) watchSource(src *replication.Source) error {
	if m.reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "goforward_realtime_replication_reader", Help: "1 while this node reads the replication stream.",
		}, func() float64 {
			if src.Status().Reader {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "goforward_realtime_replication_slot_lag_bytes", Help: "WAL the replication slot held back at the last check (-1 before the first).",
		}, func() float64 { return float64(src.Status().LagBytes) }),
	} {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
