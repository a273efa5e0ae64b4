package db

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports pgxpool statistics as Prometheus metrics, labelled with the pool's name.
type PoolCollector struct {
	pools map[string]*pgxpool.Pool

	acquired, idle, total, max *prometheus.Desc
	acquires, emptyAcquires    *prometheus.Desc
	acquireWait                *prometheus.Desc
}

var _ prometheus.Collector = (*PoolCollector)(nil)

// NewPoolCollector returns a collector for the named pools (for example "admin" and "request").
func NewPoolCollector(pools map[string]*pgxpool.Pool) *PoolCollector {
	label := []string{"pool"}
	return &PoolCollector{
		pools:         pools,
		acquired:      prometheus.NewDesc("goforward_db_pool_acquired_conns", "Connections currently in use.", label, nil),
		idle:          prometheus.NewDesc("goforward_db_pool_idle_conns", "Idle connections.", label, nil),
		total:         prometheus.NewDesc("goforward_db_pool_total_conns", "Open connections.", label, nil),
		max:           prometheus.NewDesc("goforward_db_pool_max_conns", "Configured maximum connections.", label, nil),
		acquires:      prometheus.NewDesc("goforward_db_pool_acquires_total", "Successful connection acquisitions.", label, nil),
		emptyAcquires: prometheus.NewDesc("goforward_db_pool_empty_acquires_total", "Acquisitions that had to wait because the pool was empty.", label, nil),
		acquireWait:   prometheus.NewDesc("goforward_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection.", label, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.emptyAcquires, c.acquireWait} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, pool := range c.pools {
		s := pool.Stat()
		ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()), name)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()), name)
		ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()), name)
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.emptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.acquireWait, prometheus.CounterValue, s.AcquireDuration().Seconds(), name)
	}
}
