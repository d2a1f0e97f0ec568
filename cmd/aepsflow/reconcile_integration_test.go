package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestReconcileCommand runs `aepsflow reconcile --date` against a running system: the workflow
// runs on the worker and the command prints its record.
func TestReconcileCommand(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	for k, v := range map[string]string{"APP_ENV": "development", "DATABASE_URL": a.DatabaseURL, "TEMPORAL_ADDRESS": a.Config.TemporalAddress,
		"TEMPORAL_TASK_QUEUE": a.Config.TemporalTaskQueue, "ADMIN_TOKEN": apptest.AdminToken} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := reconcileCommand(ctx, []string{"--date", "2026-03-10"}, &out, logger); err != nil {
		t.Fatalf("reconcile: %v\n%s", err, out.String())
	}
	_, rest, _ := strings.Cut(out.String(), "\n")
	var res struct {
		ID     int64 `json:"id"`
		Record struct {
			Date string `json:"date"`
		} `json:"record"`
	}
	if err := json.Unmarshal([]byte(rest), &res); err != nil || res.ID == 0 || res.Record.Date != "2026-03-10" {
		t.Fatalf("output %q: %+v %v", out.String(), res, err)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM reconciliations WHERE business_day = '2026-03-10'`); n != 1 {
		t.Fatalf("%d records", n)
	}
	if err := reconcileCommand(ctx, []string{"--date", "10/03/2026"}, &out, logger); err == nil {
		t.Fatal("a bad date was accepted")
	}
}
