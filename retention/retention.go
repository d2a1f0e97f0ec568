// Package retention prunes what aepsflow no longer needs: delivered outbox entries and raw
// requests of closed transactions, older than configured ages. It runs as a loop in every API
// replica (beside the outbox relay); the deletes skip rows another replica holds, so running it
// in several at once is safe.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/aepsflow/aepsflow/metrics"
)

// Store is what the pruner deletes through (db.Store).
type Store interface {
	PruneDeliveredOutbox(ctx context.Context, age time.Duration, limit int) (int64, error)
	PruneRawRequests(ctx context.Context, age time.Duration, limit int) (int64, error)
}

// Pruner deletes in small batches, pausing between them, so that a first run over a large
// backlog never holds many locks or starves the callbacks' writes.
type Pruner struct {
	Store     Store
	OutboxAge time.Duration // delivered outbox entries older than this go
	RawAge    time.Duration // raw requests older than this go
	Batch     int           // rows per DELETE
	Pause     time.Duration // between batches
	Interval  time.Duration // between runs (daily)
	Logger    *slog.Logger
	Metrics   *metrics.Metrics // may be nil
}

// Run prunes once shortly after start, then every Interval, until ctx ends.
func (p *Pruner) Run(ctx context.Context) error {
	// A short delay: a deploy that restarts every replica does not run it at once in all of them
	// while they warm up.
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Error("retention run failed; next run as scheduled", "err", err)
		}
		wait = p.Interval
	}
}

// Once runs one full pass: each table until a batch comes back short.
func (p *Pruner) Once(ctx context.Context) error {
	start := time.Now()
	tables := []struct {
		name  string
		age   time.Duration
		prune func(context.Context, time.Duration, int) (int64, error)
	}{
		{"outbox", p.OutboxAge, p.Store.PruneDeliveredOutbox},
		{"inbound_requests", p.RawAge, p.Store.PruneRawRequests},
	}
	for _, t := range tables {
		var total int64
		for {
			n, err := t.prune(ctx, t.age, p.Batch)
			total += n
			p.Metrics.Pruned(t.name, n)
			if err != nil {
				p.Metrics.PruneFailed(t.name)
				p.Logger.Warn("retention: pruning stopped", "table", t.name, "deleted", total, "err", err)
				return err
			}
			if n < int64(p.Batch) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(p.Pause):
			}
		}
		p.Logger.Info("retention: pruned", "table", t.name, "older_than", t.age.String(), "deleted", total)
	}
	p.Metrics.PruneSucceeded(time.Now(), time.Since(start))
	return nil
}
