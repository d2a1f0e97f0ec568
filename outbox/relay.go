// Package outbox delivers what the API committed to PostgreSQL's outbox table to Temporal:
// workflow starts and signals. The API never waits on Temporal; the relay does, and retries
// until Temporal takes each entry.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/metrics"
)

// Channel is the PostgreSQL NOTIFY channel the outbox trigger signals.
const Channel = "aepsflow_outbox"

// Deliverer hands one entry to Temporal. It must be idempotent: an entry can be delivered again
// after a crash.
type Deliverer interface {
	Deliver(ctx context.Context, e db.PendingEntry) (note string, err error)
}

// Relay moves outbox entries to Temporal. Several relays (one per API replica) may run at once.
type Relay struct {
	Store       *db.Store
	DatabaseURL string // for LISTEN
	Deliverer   Deliverer
	Logger      *slog.Logger
	Sweep       time.Duration // poll even without a notification
	BatchSize   int
	Concurrency int           // deliveries in flight per batch
	CallTimeout time.Duration // per delivery
	Metrics     *metrics.Metrics
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	listener := pq.NewListener(r.DatabaseURL, 200*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			r.Logger.Warn("outbox listener", "event", ev, "err", err)
		}
	})
	defer listener.Close()
	if err := listener.Listen(Channel); err != nil {
		// The sweep still works without notifications; say so and go on.
		r.Logger.Warn("outbox: LISTEN failed, relying on the periodic sweep", "err", err)
	}
	ticker := time.NewTicker(r.Sweep)
	defer ticker.Stop()
	for {
		r.drain(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-listener.Notify:
		case <-ticker.C:
		}
	}
}

// drain delivers batches until a claim settles nothing or ctx ends. A batch that is not full does
// not mean nothing is left: it holds one entry per workflow, and the next entry of each becomes
// claimable once that one is delivered. A batch that settled nothing (every delivery failed)
// ends the drain too: what failed waits for its backoff, and the relay for its next wake-up,
// instead of claiming the same entries again at once.
func (r *Relay) drain(ctx context.Context) {
	for ctx.Err() == nil {
		settled, err := r.Store.ClaimOutbox(ctx, r.BatchSize, func(entries []db.PendingEntry) []db.Delivery {
			return r.deliverBatch(ctx, entries)
		})
		if err != nil {
			if ctx.Err() == nil {
				r.Logger.Warn("outbox: batch failed", "err", err)
			}
			return
		}
		if settled == 0 {
			return
		}
	}
}

// deliverBatch delivers entries concurrently. A batch holds at most one entry per workflow
// (db.ClaimOutbox), so no two deliveries here can overtake each other.
func (r *Relay) deliverBatch(ctx context.Context, entries []db.PendingEntry) []db.Delivery {
	results := make([]db.Delivery, len(entries))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(r.Concurrency, 1))
	for i, e := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.deliver(ctx, e)
		}()
	}
	wg.Wait()
	return results
}

// deliver hands one entry to Temporal and says what to record.
func (r *Relay) deliver(ctx context.Context, e db.PendingEntry) db.Delivery {
	cctx, cancel := context.WithTimeout(ctx, r.CallTimeout)
	defer cancel()
	d := db.Delivery{ID: e.ID, WorkflowID: e.WorkflowID}
	d.Note, d.Err = r.Deliverer.Deliver(cctx, e)
	switch {
	case d.Err == nil:
		r.Metrics.Delivered(e.Kind, "ok")
	case errors.Is(d.Err, ErrNoRunningWorkflow):
		d.NoWorkflow = true
		r.Metrics.Delivered(e.Kind, "no_workflow")
		r.Logger.Warn("outbox: signal found no running workflow; set aside and its transaction flagged", "entry", e.ID,
			"signal", e.SignalName, "workflow_id", e.WorkflowID, "err", d.Err)
	case errors.Is(d.Err, ErrBadEntry):
		d.Dead = true
		r.Metrics.Delivered(e.Kind, "undeliverable")
		r.Logger.Error("outbox: entry can never be delivered; set aside and its transaction flagged", "entry", e.ID,
			"kind", e.Kind, "workflow_id", e.WorkflowID, "err", d.Err)
	default:
		d.Retry = backoff(e.Attempts)
		r.Metrics.Delivered(e.Kind, "error")
		r.Logger.Warn("outbox: delivery failed", "entry", e.ID, "kind", e.Kind, "workflow_id", e.WorkflowID,
			"attempt", e.Attempts+1, "retry_in", d.Retry, "err", d.Err)
	}
	return d
}

// backoff paces retries while Temporal is away: 0.5 s doubling to 15 s, so that a returning
// server is used within seconds.
func backoff(attempts int) time.Duration {
	d := 500 * time.Millisecond
	for i := 0; i < attempts && d < 15*time.Second; i++ {
		d *= 2
	}
	return min(d, 15*time.Second)
}

// ErrNoRunningWorkflow marks a signal whose workflow has closed (or, for a resolve, does not
// exist): it was not acted on, so it is set aside and its transaction flagged.
var ErrNoRunningWorkflow = errors.New("no running workflow")

// ErrBadEntry marks an entry that can never be delivered as stored.
var ErrBadEntry = errors.New("bad outbox entry")

func badEntry(id int64, err error) error { return fmt.Errorf("%w %d: %v", ErrBadEntry, id, err) }
