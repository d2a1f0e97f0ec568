package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"golang.org/x/sync/errgroup"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/metrics"
)

// serve runs the API (with the outbox relay), the worker, or both, until ctx ends.
func serve(ctx context.Context, logger *slog.Logger, runAPI, runWorker bool) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	logger.Info("starting", "config", cfg, "api", runAPI, "worker", runWorker)
	startPprof(ctx, logger)
	store, err := openStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	// One registry per process: the API's (or the worker's) own metrics, the gauges read from
	// PostgreSQL, and the Temporal SDK's metrics of the relay's and the worker's calls.
	m := app.NewMetrics(store)
	sdkMetrics, closeSDKMetrics := m.TemporalHandler()
	defer closeSDKMetrics.Close()
	// Lazy: the API must start, confirm debit-hooks and record callbacks while Temporal is away.
	tc, err := client.NewLazyClient(client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger:         tlog.NewStructuredLogger(logger.With("component", "temporal")),
		MetricsHandler: sdkMetrics,
	})
	if err != nil {
		return fmt.Errorf("create temporal client: %w", err)
	}
	defer tc.Close()

	g, ctx := errgroup.WithContext(ctx)
	if runAPI {
		g.Go(func() error { return runHTTP(ctx, cfg, store, tc, logger, m) })
		g.Go(func() error { return app.NewRelay(cfg, store, tc, logger, m).Run(ctx) })
		if cfg.RetentionEnabled {
			g.Go(func() error { return app.NewPruner(cfg, store, logger, m).Run(ctx) })
		}
	}
	if runWorker {
		probe := &app.WorkerProbe{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue, Identity: app.WorkerIdentity(), Metrics: m}
		if cfg.WorkerHTTPAddr != "" {
			g.Go(func() error { return runWorkerHTTP(ctx, cfg.WorkerHTTPAddr, probe, logger) })
		}
		g.Go(func() error { return runTemporalWorker(ctx, cfg, store, tc, logger, probe, m) })
	}
	return g.Wait()
}

func openStore(ctx context.Context, url string) (*db.Store, error) {
	if url == "" {
		return nil, errors.New("DATABASE_URL is required")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return db.Open(ctx, url)
}

func runHTTP(ctx context.Context, cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger, m *metrics.Metrics) error {
	srv := &http.Server{
		Addr: cfg.HTTPAddr, Handler: app.NewAPI(cfg, store, tc, logger, m).Handler(),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 15 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("api listening", "addr", cfg.HTTPAddr)
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", cfg.HTTPAddr, err)
	case <-ctx.Done():
	}
	// Drain in-flight requests: each one ends in a committed record and a reply.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	logger.Info("api shutting down: draining in-flight requests")
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain http server: %w", err)
	}
	return nil
}

// runWorkerHTTP serves the worker's probes and metrics: a worker process has no API of its own,
// yet an orchestrator must know whether it is alive and polling, and Prometheus must scrape it.
func runWorkerHTTP(ctx context.Context, addr string, probe *app.WorkerProbe, logger *slog.Logger) error {
	srv := &http.Server{Addr: addr, Handler: probe.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("worker probes listening", "addr", addr)
	select {
	case err := <-errc:
		return fmt.Errorf("serve worker probes on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func runTemporalWorker(ctx context.Context, cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger, probe *app.WorkerProbe, m *metrics.Metrics) error {
	log := logger.With("component", "worker")
	// Wait for Temporal rather than crash-loop: nothing is lost meanwhile (the outbox holds every
	// start and signal).
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := tc.CheckHealth(cctx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			break
		}
		log.Warn("waiting for temporal", "address", cfg.TemporalAddress, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	inq, err := app.NewInquirer(cfg)
	if err != nil {
		return err
	}
	w, err := app.NewWorker(ctx, cfg, store, tc, app.ObserveInquiries(inq, m))
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	probe.SetStarted(true)
	log.Info("worker running", "task_queue", cfg.TemporalTaskQueue)
	// The daily reconciliation: created, or updated to this configuration, at every start.
	if err := app.EnsureReconcileSchedule(ctx, tc, cfg); err != nil {
		log.Error("could not create or update the reconciliation schedule", "err", err)
	} else {
		log.Info("reconciliation scheduled", "schedule_id", app.ReconcileScheduleID(cfg), "at", cfg.ReconcileAt, "zone", cfg.LimitLocation.String())
	}
	<-ctx.Done()
	probe.SetStarted(false)
	w.Stop()
	return nil
}
