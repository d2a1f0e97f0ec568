// Package app assembles aepsflow's components (API, outbox relay, worker) from a configuration.
// The binary and the integration tests build the system through it, so tests run what ships.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/api"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/eko/inquiry"
	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/metrics"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/retention"
	"github.com/aepsflow/aepsflow/webhook"
	"github.com/aepsflow/aepsflow/workflows"
)

// NewAPI builds the HTTP API. m may be nil.
func NewAPI(cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger, m *metrics.Metrics) *api.Server {
	return &api.Server{
		Webhook: NewWebhook(cfg),
		Config:  cfg, Store: store, Signer: sign.NewSigner(cfg.EkoGatewayAccessKey), Temporal: tc,
		Intents: intents.New(cfg, tc),
		Logger:  logger.With("component", "api"), Now: time.Now, NewClientRefID: api.NewClientRefID, Metrics: m,
	}
}

// NewRelay builds the outbox relay. m may be nil.
func NewRelay(cfg config.Config, store *db.Store, tc client.Client, logger *slog.Logger, m *metrics.Metrics) *outbox.Relay {
	return &outbox.Relay{
		Store: store, DatabaseURL: cfg.DatabaseURL, Logger: logger.With("component", "outbox"),
		Deliverer: &outbox.Temporal{Client: tc, TaskQueue: cfg.TemporalTaskQueue, Late: LateOutcome(store), NoStartDelay: !cfg.WorkflowStartDelay},
		Sweep:     cfg.RelaySweepInterval, BatchSize: cfg.RelayBatchSize, Concurrency: 16, CallTimeout: 5 * time.Second,
		Metrics: m,
	}
}

// NewPruner builds the retention loop. m may be nil.
func NewPruner(cfg config.Config, store *db.Store, logger *slog.Logger, m *metrics.Metrics) *retention.Pruner {
	return &retention.Pruner{
		Store: store, OutboxAge: cfg.RetentionOutboxAge, RawAge: cfg.RetentionRawAge, Batch: cfg.RetentionBatch,
		Pause: 200 * time.Millisecond, Interval: cfg.RetentionInterval, Logger: logger.With("component", "retention"), Metrics: m,
	}
}

// NewMetrics builds the process's metrics, with the gauges read from PostgreSQL at scrape time.
func NewMetrics(store *db.Store) *metrics.Metrics {
	m := metrics.New()
	m.StateFunc(func(ctx context.Context) (metrics.State, error) {
		g, err := store.ReadGauges(ctx)
		if err != nil {
			return metrics.State{}, err
		}
		st := metrics.State{OutboxPending: g.OutboxPending, OutboxOldest: g.OutboxOldest, NeedsReview: g.NeedsReview,
			OpenOldest: g.OpenOldest, Flagged: g.Flagged, WebhookBacklog: g.WebhookBacklog, WebhookOldest: g.WebhookOldest,
			WebhookSetAside: g.WebhookSetAside}
		if g.ReconciliationMismatches.Valid {
			n := int(g.ReconciliationMismatches.Int64)
			st.ReconciliationMismatches = &n
		}
		return st, nil
	})
	return m
}

// ObserveInquiries counts every Transaction Inquiry call's result on m.
func ObserveInquiries(inq activities.Inquirer, m *metrics.Metrics) activities.Inquirer {
	return observedInquirer{Inquirer: inq, m: m}
}

type observedInquirer struct {
	activities.Inquirer
	m *metrics.Metrics
}

func (o observedInquirer) Inquire(ctx context.Context, clientRefID, userCode string) (activities.InquiryResult, error) {
	r, err := o.Inquirer.Inquire(ctx, clientRefID, userCode)
	result := "ok"
	if err != nil {
		result = "other"
		var e *inquiry.Error
		if errors.As(err, &e) {
			result = e.Kind
		}
	}
	o.m.Inquired(result)
	return r, err
}

// LateOutcome records an outcome that reached its workflow after it had closed, flagging the
// transaction when the report contradicts its final state.
func LateOutcome(store *db.Store) outbox.LateHandler {
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

// NewInquirer builds the Transaction Inquiry client from the configuration.
func NewInquirer(cfg config.Config) (activities.Inquirer, error) {
	c, err := inquiry.New(inquiry.Config{
		BaseURL: cfg.EkoAPIBaseURL, Version: cfg.EkoInquiryVersion, DeveloperKey: cfg.EkoDeveloperKey,
		InitiatorID: cfg.EkoInitiatorID,
	}, sign.NewSigner(cfg.EkoAccessKey), nil)
	if err != nil {
		return nil, fmt.Errorf("configure transaction inquiry: %w", err)
	}
	return activities.EkoInquirer{Client: c}, nil
}

// NewWorker checks the namespace's search attributes and builds the worker (not started).
func NewWorker(ctx context.Context, cfg config.Config, store *db.Store, tc client.Client, inq activities.Inquirer) (worker.Worker, error) {
	if err := CheckSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return nil, fmt.Errorf("refusing to run the worker: %w", err)
	}
	w := worker.New(tc, cfg.TemporalTaskQueue, worker.Options{Identity: WorkerIdentity(),
		PreferredVersionProvider: workflows.PreferVersions(cfg.WorkflowLight)})
	w.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	w.RegisterActivity(&activities.Activities{Store: store, Inquirer: inq, Webhook: NewWebhook(cfg),
		Workflows: transactionWorkflows{tc: tc, cfg: cfg}, EventSlots: make(chan struct{}, max(cfg.WebhookConcurrency, 1))})
	return w, nil
}

// NewWebhook builds the platform's event client, or nil when WEBHOOK_URL is unset (events off).
func NewWebhook(cfg config.Config) *webhook.Client {
	if cfg.WebhookURL == "" {
		return nil
	}
	return &webhook.Client{URL: cfg.WebhookURL, Secret: []byte(cfg.WebhookSecret),
		HTTP: &http.Client{Timeout: cfg.WebhookTimeout}}
}
