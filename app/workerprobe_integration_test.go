package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/metrics"
	"github.com/aepsflow/aepsflow/testenv"
)

func probeGet(t *testing.T, url string) (int, map[string]any, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, string(raw)
}

// TestWorkerProbe: the worker's /readyz is 503 until Temporal lists this worker among its task
// queue's pollers, 200 while it polls, 503 again once it stopped; /healthz is 200 throughout and
// /metrics serves the worker's registry.
func TestWorkerProbe(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	probe := &app.WorkerProbe{Temporal: a.Temporal, TaskQueue: a.Config.TemporalTaskQueue, Identity: app.WorkerIdentity(),
		Metrics: metrics.New()}
	srv := httptest.NewServer(probe.Handler())
	t.Cleanup(srv.Close)

	if code, body, raw := probeGet(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || body["ready"] != false ||
		!strings.Contains(raw, "not started") {
		t.Fatalf("/readyz before start: %d %s, want 503 not started", code, raw)
	}
	// Started but not yet polling (no worker on the queue): still not ready.
	probe.SetStarted(true)
	if code, _, raw := probeGet(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(raw, "not among") {
		t.Fatalf("/readyz with no poller: %d %s, want 503", code, raw)
	}
	a.StartWorker()
	testenv.WaitFor(t, 30*time.Second, "worker /readyz 200", func() (bool, error) {
		code, _, raw := probeGet(t, srv.URL+"/readyz")
		return code == http.StatusOK && strings.Contains(raw, "polling "+a.Config.TemporalTaskQueue), nil
	})
	if code, body, _ := probeGet(t, srv.URL+"/healthz"); code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("/healthz %d %v", code, body)
	}
	if code, _, raw := probeGet(t, srv.URL+"/metrics"); code != http.StatusOK || !strings.Contains(raw, "go_goroutines") {
		t.Fatalf("/metrics %d", code)
	}
	a.StopWorker()
	probe.SetStarted(false)
	if code, _, raw := probeGet(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz after stop: %d %s, want 503", code, raw)
	}
}

// TestWorkerProbeTemporalAway: a worker whose Temporal does not answer is not ready, and says why.
func TestWorkerProbeTemporalAway(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{TemporalAddress: "127.0.0.1:1", NoWorker: true, NoRelay: true})
	probe := &app.WorkerProbe{Temporal: a.Temporal, TaskQueue: a.Config.TemporalTaskQueue, Identity: app.WorkerIdentity()}
	probe.SetStarted(true)
	srv := httptest.NewServer(probe.Handler())
	t.Cleanup(srv.Close)
	if code, _, raw := probeGet(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(raw, "temporal unreachable") {
		t.Fatalf("/readyz: %d %s, want 503 temporal unreachable", code, raw)
	}
	if code, _, _ := probeGet(t, srv.URL+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics without a registry: %d, want 404", code)
	}
}
