package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aepsflow/aepsflow/metrics"
)

// WorkerIdentity names this process's worker to Temporal: the worker probe finds it among the
// task queue's pollers by this name.
func WorkerIdentity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%d@%s@aepsflow-worker", os.Getpid(), host)
}

// WorkerProbe serves a worker process's own endpoints: /healthz (the process is up), /readyz
// (Temporal lists this worker among its task queue's pollers) and /metrics.
type WorkerProbe struct {
	Temporal  client.Client
	TaskQueue string
	Identity  string
	Metrics   *metrics.Metrics // may be nil: no /metrics
	// PollerMaxAge: a poller Temporal last saw longer ago than this does not count (default 1m).
	PollerMaxAge time.Duration
	Now          func() time.Time

	started atomic.Bool
}

// SetStarted marks the worker started (true) or stopped (false).
func (p *WorkerProbe) SetStarted(v bool) { p.started.Store(v) }

// Handler serves the probe endpoints.
func (p *WorkerProbe) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", p.readyz)
	if p.Metrics != nil {
		mux.Handle("GET /metrics", p.Metrics.Handler())
	}
	return mux
}

func (p *WorkerProbe) readyz(w http.ResponseWriter, r *http.Request) {
	ready, detail := p.check(r.Context())
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ready, "checks": map[string]string{"task_queue": detail}})
}

// check asks Temporal for the task queue's workflow pollers and looks for this worker among them:
// that proves at once that Temporal answers, that the worker is registered on the right queue,
// and that it is polling.
func (p *WorkerProbe) check(ctx context.Context) (bool, string) {
	if !p.started.Load() {
		return false, "worker not started (waiting for Temporal or its search attributes)"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := p.Temporal.DescribeTaskQueue(ctx, p.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, "temporal unreachable: " + err.Error()
	}
	maxAge, now := p.PollerMaxAge, time.Now
	if maxAge <= 0 {
		maxAge = time.Minute
	}
	if p.Now != nil {
		now = p.Now
	}
	for _, pl := range resp.GetPollers() {
		if pl.GetIdentity() != p.Identity {
			continue
		}
		if seen := pl.GetLastAccessTime(); seen != nil && now().Sub(seen.AsTime()) > maxAge {
			return false, fmt.Sprintf("last polled %s ago", now().Sub(seen.AsTime()).Round(time.Second))
		}
		return true, "polling " + p.TaskQueue
	}
	return false, fmt.Sprintf("not among the %d pollers of %s yet", len(resp.GetPollers()), p.TaskQueue)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
