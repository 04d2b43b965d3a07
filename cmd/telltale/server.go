package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/telltale-dev/telltale/aggregate"
	"github.com/telltale-dev/telltale/api"
	"github.com/telltale-dev/telltale/ingest"
)

// Main is a running Telltale: it owns the one registry and logger, wires the
// components, and shuts them down in data-flow order.
type Main struct {
	Config   Config
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Sink receives every flush; nil discards flushes. Set before Run.
	Sink aggregate.Sink

	agg    *aggregate.Aggregator
	statsd *ingest.StatsdServer
	http   *api.Server

	cancelFlush context.CancelFunc
	flushDone   chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// NewMain returns a Main for cfg; log nil discards logs.
func NewMain(cfg Config, log *slog.Logger) *Main {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "telltale_build_info",
			Help:        "Always 1; the labels say which build runs.",
			ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
		}, func() float64 { return 1 }),
	)
	return &Main{Config: cfg, Log: log, Registry: reg}
}

// Run starts every component and returns once they listen. The flush loop
// runs until Close. Run must be called once; after an error, call Close.
func (m *Main) Run(ctx context.Context) error {
	start := time.Now()
	cfg := m.Config
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cannot create data directory: %w", err)
	}
	var err error
	m.agg, err = aggregate.New(aggregate.Config{
		FlushInterval:      cfg.Statsd.FlushInterval,
		Percentiles:        cfg.Statsd.Percentiles,
		IdleTimeout:        cfg.Statsd.SeriesIdleTimeout,
		MaxSeries:          cfg.Statsd.MaxSeries,
		MaxSeriesPerMetric: cfg.Statsd.MaxSeriesPerMetric,
	}, m.Sink, m.Registry, m.Log.With("component", "aggregate"))
	if err != nil {
		return err
	}
	tcpIdle := cfg.Statsd.TCPIdleTimeout
	if tcpIdle == 0 {
		tcpIdle = -1 // ingest spells "never" as negative
	}
	m.statsd, err = ingest.NewStatsdServer(ingest.StatsdConfig{
		Addr:           cfg.Statsd.Addr,
		UDPReaders:     cfg.Statsd.UDPReaders,
		Workers:        cfg.Statsd.Workers,
		ReadBuffer:     cfg.Statsd.ReadBuffer,
		QueueSize:      cfg.Statsd.QueueSize,
		MaxLineLength:  cfg.Statsd.MaxLineLength,
		MaxTCPConns:    cfg.Statsd.MaxTCPConnections,
		TCPIdleTimeout: tcpIdle,
	}, func() ingest.Appender { return m.agg.NewAppender() }, m.Registry, m.Log.With("component", "statsd"))
	if err != nil {
		return err
	}
	m.http, err = api.New(api.Config{Addr: cfg.HTTP.Addr}, m.Registry, m.agg, m.Registry, m.Log.With("component", "http"))
	if err != nil {
		return err
	}

	flushCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelFlush = cancel
	m.flushDone = make(chan struct{})
	go func() {
		defer close(m.flushDone)
		m.agg.Run(flushCtx)
	}()
	if err := m.statsd.Start(); err != nil {
		return err
	}
	if err := m.http.Start(); err != nil {
		return err
	}
	m.http.SetReady(true)
	m.Log.Info("telltale started",
		"version", version,
		"http", m.http.Addr().String(),
		"statsd_udp", m.statsd.UDPAddr().String(),
		"statsd_tcp", m.statsd.TCPAddr().String(),
		"data_dir", cfg.DataDir,
		"flush_interval", cfg.Statsd.FlushInterval,
		"startup", time.Since(start).Round(time.Millisecond))
	return nil
}

// Close shuts down in data-flow order, so that nothing accepted is lost:
// stop the HTTP listener, stop the statsd listeners and drain their queue,
// stop the flush loop, then make the final flush. It is idempotent; later
// calls return the first call's error.
func (m *Main) Close(ctx context.Context) error {
	m.closeOnce.Do(func() {
		var errs []error
		step := func(name string, f func() error) {
			t := time.Now()
			err := f()
			m.Log.Info("shutdown step", "step", name, "took", time.Since(t).Round(time.Microsecond), "err", err)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
		if m.http != nil {
			step("http", func() error { return m.http.Shutdown(ctx) })
		}
		if m.statsd != nil {
			step("statsd", func() error { return m.statsd.Close(ctx) })
		}
		if m.cancelFlush != nil {
			m.cancelFlush()
			<-m.flushDone
		}
		if m.agg != nil {
			step("final flush", func() error {
				err := m.agg.Close(ctx)
				m.Log.Info("final flush", "series", m.agg.Series())
				return err
			})
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

// HTTPAddr returns the HTTP listener's address, after Run.
func (m *Main) HTTPAddr() string { return m.http.Addr().String() }

// StatsdAddr returns the statsd UDP address, after Run; TCP listens on the
// same port.
func (m *Main) StatsdAddr() string { return m.statsd.UDPAddr().String() }
