package metrics

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDeployFilesNameRealMetrics: every aepsflow_* series the alert rules and the Grafana dashboard
// query is one this package exports, so that a renamed metric cannot silently disarm an alert.
func TestDeployFilesNameRealMetrics(t *testing.T) {
	m := New()
	n := 1
	m.StateFunc(func(context.Context) (State, error) { return State{ReconciliationMismatches: &n}, nil })
	m.Observe("eko", "debit-hook", "allowed", time.Millisecond)
	m.Delivered("start", "ok")
	m.Inquired("signature")
	m.Pruned("outbox", 1)
	m.PruneFailed("outbox")
	m.PruneSucceeded(time.Now(), time.Second)
	body := scrape(t, m)
	exported := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exported[name] = true
		}
	}
	re := regexp.MustCompile(`aepsflow_[a-z_]+`)
	for _, file := range []string{"../deploy/prometheus/alerts.yml", "../deploy/grafana/aepsflow.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := re.FindAllString(string(raw), -1)
		if len(names) == 0 {
			t.Fatalf("%s names no aepsflow metric", file)
		}
		for _, name := range names {
			if strings.HasPrefix(name, "aepsflow_api") || strings.HasPrefix(name, "aepsflow_worker") { // job names
				continue
			}
			if !exported[name] {
				t.Errorf("%s queries %s, which aepsflow does not export", file, name)
			}
		}
	}
}
