package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/telltale-dev/telltale/aggregate"
	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/api"
	"github.com/telltale-dev/telltale/ingest"
	"github.com/telltale-dev/telltale/storage"
)

// Main is a running Telltale: it owns the one registry and logger, wires the
// components, and shuts them down in data-flow order.
type Main struct {
	Config   Config
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Sink, when set before Run, receives every flush instead of the
	// history (tests use an in-memory sink); without it, flushes go to the
	// history when Config.Statsd.History is on, or nowhere.
	Sink aggregate.Sink

	db     *storage.DB
	agg    *aggregate.Aggregator
	statsd *ingest.StatsdServer
	http   *api.Server
	// tracker commits Sentry events and holds the issue table.
	tracker *issues.Tracker
	sentry  *ingest.Sentry

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
	scfg := storage.DefaultConfig(cfg.DataDir)
	scfg.Retention = cfg.Retention.Metrics
	scfg.EventRetention = cfg.Retention.Events
	scfg.MaxNewSeriesPerFlush = cfg.Statsd.HistoryMaxNewSeries
	// Events are acknowledged only once durable: every write request
	// fsyncs, and the group commit makes many events share one.
	scfg.SyncWrites = true
	db, err := storage.Open(scfg, m.Registry, m.Log.With("component", "storage"))
	if err != nil {
		return err
	}
	m.db = db
	sink := m.Sink
	var hist *aggregate.HistorySink
	if sink == nil && cfg.Statsd.History {
		hist = aggregate.NewHistorySink(db, m.Registry)
		sink = hist
	}
	tokens, err := m.apiTokens()
	if err != nil {
		return err
	}
	if err := m.startTracker(); err != nil {
		return err
	}
	m.agg, err = aggregate.New(aggregate.Config{
		FlushInterval:      cfg.Statsd.FlushInterval,
		Percentiles:        cfg.Statsd.Percentiles,
		IdleTimeout:        cfg.Statsd.SeriesIdleTimeout,
		MaxSeries:          cfg.Statsd.MaxSeries,
		MaxSeriesPerMetric: cfg.Statsd.MaxSeriesPerMetric,
	}, sink, m.Registry, m.Log.With("component", "aggregate"))
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
	m.http, err = api.New(api.Config{Addr: cfg.HTTP.Addr, Tokens: tokens, MaxRequestBodySize: maxIngestBody}, m.Registry, m.agg, m.Registry, m.Log.With("component", "http"))
	if err != nil {
		return err
	}
	if cfg.Statsd.History {
		if err := m.http.EnableQuery(m.db, api.QueryConfig{}, m.Registry); err != nil {
			return err
		}
	}
	if err := m.http.EnableIssues(m.tracker, api.IssuesConfig{Organization: cfg.Organization, PublicURL: cfg.HTTP.PublicURL}); err != nil {
		return err
	}
	m.sentry, err = ingest.NewSentry(ingest.SentryConfig{}, m.tracker, m.Registry, m.Log.With("component", "sentry"))
	if err != nil {
		return err
	}
	m.http.SetIngest(m.sentry.Handle)

	if err := m.statsd.Start(); err != nil {
		return err
	}
	if err := m.http.Start(); err != nil {
		return err
	}
	if hist != nil {
		// Telltale's own metrics go into the history too, labelled as a
		// Prometheus scrape of it would be (instance: the address bound),
		// so that the query API, and the Grafana health dashboard over it,
		// need no Prometheus.
		hist.RecordSelf(m.Registry, map[string]string{"job": "telltale", "instance": m.HTTPAddr()})
	}
	flushCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelFlush = cancel
	m.flushDone = make(chan struct{})
	go func() {
		defer close(m.flushDone)
		m.agg.Run(flushCtx)
	}()
	m.http.SetReady(true)
	m.Log.Info("telltale started",
		"version", version,
		"http", m.http.Addr().String(),
		"statsd_udp", m.statsd.UDPAddr().String(),
		"statsd_tcp", m.statsd.TCPAddr().String(),
		"data_dir", cfg.DataDir,
		"flush_interval", cfg.Statsd.FlushInterval,
		"history", cfg.Statsd.History,
		"startup", time.Since(start).Round(time.Millisecond))
	return nil
}

// Close shuts down in data-flow order, so that nothing accepted is lost:
// stop the HTTP listener, stop the statsd listeners and drain their queue,
// stop the flush loop, make the final flush, then close storage. It is idempotent; later
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
		if m.tracker != nil {
			step("event commit", func() error { return m.tracker.Close(ctx) })
		}
		if m.sentry != nil {
			m.sentry.Close()
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
		if m.db != nil {
			step("storage", m.db.Close)
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

// adminTokenFile holds the API token made at first start when the config
// names none, so that it survives restarts.
const adminTokenFile = "admin-token"

// apiTokens returns the Bearer tokens of the query API: the configured
// ones, or else the admin token kept in the data directory, made (32 random
// bytes, hex) and logged at first start.
func (m *Main) apiTokens() ([]string, error) {
	if len(m.Config.Auth.Tokens) > 0 {
		return m.Config.Auth.Tokens, nil
	}
	path := filepath.Join(m.Config.DataDir, adminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return []string{tok}, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot read the admin token: %w", err)
	}
	tok := rand.Text() + rand.Text()
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("cannot store the admin token: %w", err)
	}
	m.Log.Info("made an admin API token; use it as 'Authorization: Bearer <token>' for /api/v1 (and Grafana)", "token", tok, "file", path)
	return []string{tok}, nil
}

// maxIngestBody bounds a request body as received (compressed or not):
// Sentry envelopes with attachments can be large; the decompressed size
// has its own bound in ingest.
const maxIngestBody = 32 << 20

// startTracker opens the issue table, creates the configured projects (or
// the default one) and starts the group commit. A project created here has
// its DSN logged, so that a new user can paste it into an SDK.
func (m *Main) startTracker() error {
	// Events are stored as the payloads SDKs sent; ingest reads them back.
	t, err := issues.New(issues.Config{DecodePayload: ingest.DecodeStoredEvent}, m.db, m.Registry, m.Log.With("component", "issues"))
	if err != nil {
		return err
	}
	var want []issues.Project
	for _, p := range m.Config.Projects {
		want = append(want, issues.Project{ID: uint32(p.ID), Slug: p.Slug, Name: p.Slug, Platform: p.Platform, Keys: p.Keys, RateLimit: p.RateLimit})
	}
	created, err := t.EnsureProjects(want)
	if err != nil {
		return err
	}
	for _, p := range created {
		m.Log.Info("created project; point a Sentry SDK at its DSN", "project", p.Slug, "id", p.ID, "dsn", api.DSN(m.Config.HTTP.PublicURL, p.Keys[0], p.ID))
	}
	m.tracker = t
	go t.Run()
	return nil
}
