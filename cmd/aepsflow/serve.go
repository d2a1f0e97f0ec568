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
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/api"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/ekoapi"
	"github.com/aepsflow/aepsflow/ekosign"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/workflows"
)

// serve runs the API (with the outbox relay), the worker, or both, until ctx ends.
func serve(ctx context.Context, logger *slog.Logger, runAPI, runWorker bool) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	logger.Info("starting", "config", cfg, "api", runAPI, "worker", runWorker)
	store, err := openStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	// Lazy: the API must start, confirm debit-hooks and record callbacks while Temporal is away.
	tc, err := client.NewLazyClient(client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(logger.With("component", "temporal")),
	})
	if err != nil {
		return fmt.Errorf("create temporal client: %w", err)
	}
	defer tc.Close()

	g, ctx := errgroup.WithContext(ctx)
	if runAPI {
		g.Go(func() error { return runHTTP(ctx, cfg, store, tc, logger) })
		g.Go(func() error { return runRelay(ctx, cfg, store, tc, logger) })
	}
	if runWorker {
		g.Go(func() error { return runTemporalWorker(ctx, cfg, store, tc, logger) })
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

func runHTTP(ctx context.Context, cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger) error {
	s := &api.Server{
		Config: cfg, Store: store, Signer: ekosign.NewSigner(cfg.EkoAccessKey), Temporal: tc,
		Logger: logger.With("component", "api"), Now: time.Now, NewClientRefID: api.NewClientRefID,
	}
	srv := &http.Server{
		Addr: cfg.HTTPAddr, Handler: s.Handler(),
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

func runRelay(ctx context.Context, cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger) error {
	log := logger.With("component", "outbox")
	r := &outbox.Relay{
		Store: store, DatabaseURL: cfg.DatabaseURL, Logger: log,
		Deliverer: &outbox.Temporal{Client: tc, TaskQueue: cfg.TemporalTaskQueue, Late: lateOutcome(store)},
		Sweep:     cfg.RelaySweepInterval, BatchSize: cfg.RelayBatchSize, Concurrency: 16, CallTimeout: 5 * time.Second,
	}
	return r.Run(ctx)
}

// lateOutcome records an outcome that reached its workflow after it had closed, flagging the
// transaction when the report contradicts its final state.
func lateOutcome(store *db.Store) outbox.LateHandler {
	return func(ctx context.Context, workflowID string, o workflows.Outcome) error {
		t, err := store.TransactionByWorkflowID(ctx, workflowID)
		if err != nil {
			return err
		}
		ch := db.Change{WorkflowID: workflowID, Key: "late:" + o.EventID, Kind: "late_outcome",
			Detail: map[string]string{"event_id": o.EventID, "tx_status": o.TxStatus, "partner_outcome": o.PartnerOutcome}}
		if workflows.ContradictsFinal(t.State, o) {
			ch.Flag = fmt.Sprintf("late report (%s) contradicts final state %s", o.EventID, t.State)
		}
		return store.ApplyChange(ctx, ch)
	}
}

func runTemporalWorker(ctx context.Context, cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger) error {
	log := logger.With("component", "worker")
	// Wait for Temporal rather than crash-loop: the worker is useless without it, but nothing is lost
	// while it waits (the outbox holds every start and signal).
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
	if err := workflows.CheckSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return fmt.Errorf("refusing to run the worker: %w", err)
	}
	inq, err := ekoapi.New(ekoapi.Config{
		BaseURL: cfg.EkoAPIBaseURL, Version: cfg.EkoInquiryVersion, DeveloperKey: cfg.EkoDeveloperKey,
		InitiatorID: cfg.EkoInitiatorID,
	}, ekosign.NewSigner(cfg.EkoAccessKey), nil)
	if err != nil {
		return fmt.Errorf("configure transaction inquiry: %w", err)
	}
	w := worker.New(tc, cfg.TemporalTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
	w.RegisterActivity(&activities.Activities{Store: store, Inquirer: activities.EkoInquirer{Client: inq}})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info("worker running", "task_queue", cfg.TemporalTaskQueue)
	<-ctx.Done()
	w.Stop()
	return nil
}
