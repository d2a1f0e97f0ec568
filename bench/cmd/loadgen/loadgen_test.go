package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/webhook"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, 0},
		{"one value", []float64{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 is the max", hundred, 100, 100},
		{"p99 of 10 values is the max", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

// The load generator's own HMAC must agree with package eko/sign on good replies and catch bad ones:
// two implementations, so that a bug in one is not confirmed by the other.
func TestCheckAllowReply(t *testing.T) {
	const key = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
	now := time.Now()
	ts := sign.Timestamp(now)
	params := []string{"customer_id", "amount", "user_code"}
	data := map[string]string{"customer_id": "9999999999", "amount": "100", "user_code": "20810200", "type": "2"}
	s := sign.NewSigner(key)
	good, goodHash := s.SecretKey(ts), s.RequestHash(ts, params, data)
	noAmount := map[string]string{"customer_id": "9999999999", "user_code": "20810200"}
	tests := []struct {
		name           string
		ts, secret, rh string
		data           map[string]string
		wantErr        bool
	}{
		{"signed by ekosign", ts, good, goodHash, data, false},
		{"absent param skipped", ts, good, s.RequestHash(ts, params, noAmount), noAmount, false},
		{"wrong secret_key", ts, s.SecretKey(ts + "1"), goodHash, data, true},
		{"hash over other values", ts, good, s.RequestHash(ts, params, map[string]string{"customer_id": "9999999998", "amount": "100", "user_code": "20810200"}), data, true},
		{"signed with another key", ts, sign.NewSigner("other").SecretKey(ts), goodHash, data, true},
		{"stale timestamp", sign.Timestamp(now.Add(-time.Hour)), good, goodHash, data, true},
		{"not a timestamp", "abc", good, goodHash, data, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkAllowReply(key, tt.ts, tt.secret, tt.rh, params, tt.data, now)
			if (err != nil) != tt.wantErr {
				t.Errorf("checkAllowReply: err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    int // entries
		wantErr bool
	}{
		{"0:90,1:5,2:5", 3, false},
		{"0:1", 1, false},
		{"0:0", 0, true},
		{"3:10", 0, true},
		{"0", 0, true},
		{"0:x", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMix(tt.in)
			if (err != nil) != tt.wantErr || len(got) != tt.want {
				t.Errorf("parseMix(%q) = %v, %v; want %d entries, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRecorderSummary(t *testing.T) {
	r := newRecorder("x")
	base := time.Now()
	for i := 1; i <= 4; i++ {
		start := base.Add(time.Duration(i) * 100 * time.Millisecond)
		r.add(start, start.Add(time.Duration(i)*time.Millisecond), nil)
	}
	s := r.summary()
	if s.Count != 4 || s.P50 != 2 || s.Max != 4 || s.Errors != 0 {
		t.Fatalf("summary = %+v", s)
	}
	// 4 requests from the first start (100 ms) to the last end (404 ms).
	if want := 4 / 0.304; s.PerSec < want-0.01 || s.PerSec > want+0.01 {
		t.Errorf("per second = %v, want %v", s.PerSec, want)
	}
}

// TestPlatformReceiver: the bench's receiver acknowledges verified events, counts a second
// delivery of one event_id (what the loss check calls a duplicate) and refuses a bad signature.
func TestPlatformReceiver(t *testing.T) {
	p := newPlatform("bench-webhook-secret-0123456789")
	send := func(body, secret, key string) int {
		req := httptest.NewRequest(http.MethodPost, "/platform/events", strings.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(secret), time.Now().Unix(), []byte(body)))
		req.Header.Set(webhook.IdempotencyHeader, key)
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		return w.Code
	}
	body := `{"event_id":"evt_1","type":"transaction.succeeded"}`
	if c := send(body, "bench-webhook-secret-0123456789", "evt_1"); c != http.StatusNoContent {
		t.Fatalf("good delivery: %d", c)
	}
	send(body, "bench-webhook-secret-0123456789", "evt_1")
	if c := send(body, "another-secret-000000000000", "evt_1"); c != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", c)
	}
	if c := send(body, "bench-webhook-secret-0123456789", "evt_2"); c != http.StatusUnauthorized {
		t.Fatalf("Idempotency-Key other than event_id: %d", c)
	}
	if p.stats.Deliveries != 4 || p.stats.BadSignatures != 2 || p.stats.ByEvent["evt_1"] != 2 {
		t.Fatalf("stats %+v", p.stats)
	}
}

// TestTargets: the targets table has the six rows, computed from this run's figures, and
// a missed one never fails the run (only loss, duplication or a failed request does).
func TestTargets(t *testing.T) {
	r := Results{Options: map[string]any{"outage_p99_tolerance": 1.25}}
	r.add(Summary{Name: "floor: PostgreSQL INSERT", P50: 2, P99: 10, PerSec: 6000},
		Summary{Name: "floor: Temporal SignalWithStart", P50: 60, P99: 130, PerSec: 200},
		Summary{Name: "debit-hook", P50: 25, P99: 80, PerSec: 700},
		Summary{Name: "debit-hook, Temporal stopped", P99: 40},
		Summary{Name: "eko-response → final state, paced 10/s", P50: 120},
		Summary{Name: pacedTrivialName + " 10/s", P50: 30})
	r.Workflows.Floor = WorkflowRate{Count: 2000, PerSec: 80}
	r.Workflows.Ours = WorkflowRate{Count: 2200, PerSec: 40}
	r.Phases = []PhaseCPU{
		{Name: "floor-temporal", CPU: CPUUse{Seconds: map[string]float64{"temporal": 20}}},
		{Name: "debit-hooks", CPU: CPUUse{Seconds: map[string]float64{"temporal": 2}}},
		{Name: "eko-responses+partner", CPU: CPUUse{Seconds: map[string]float64{"temporal": 2}}},
		{Name: "drain", CPU: CPUUse{Seconds: map[string]float64{"temporal": 40}}},
		{Name: "paced", CPU: CPUUse{Seconds: map[string]float64{"temporal": 99}}},
	}
	r.Loss = LossReport{Expected: 5, Rows: 5, FinalRows: 5, Workflows: 5}
	r.finish()
	want := []struct {
		ratio float64
		met   bool
	}{{0.5, false}, {2, false}, {3.5, true}, {0.5, true}, {4, false}, {0, true}}
	if len(r.Targets) != len(want) {
		t.Fatalf("%d targets, want %d: %+v", len(r.Targets), len(want), r.Targets)
	}
	for i, w := range want {
		got := r.Targets[i]
		if math.Abs(got.Ratio-w.ratio) > 1e-9 || got.Met != w.met {
			t.Errorf("target %q: %.3f met %v, want %.3f met %v", got.What, got.Ratio, got.Met, w.ratio, w.met)
		}
	}
	if p := r.problems(); len(p) != 0 {
		t.Errorf("missed targets fail the run: %v", p)
	}
	r.Loss.LostRows = 1
	if p := r.problems(); len(p) == 0 {
		t.Error("a lost transaction does not fail the run")
	}
}
