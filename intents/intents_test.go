package intents_test

import (
	"database/sql"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// entry is an outbox payload as the relay reads it.
type entry struct {
	Input  workflows.Input `json:"input"`
	Signal json.RawMessage `json:"signal"`
}

func decode(t *testing.T, e db.OutboxEntry) entry {
	t.Helper()
	var p entry
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatalf("payload %s: %v", e.Payload, err)
	}
	return p
}

// TestEntries: every entry names the transaction's workflow, carries the input that starts it
// with the configured policy, and delivers what the request meant, request text masked.
func TestEntries(t *testing.T) {
	cfg := config.Config{Lifecycle: config.Lifecycle{EkoResponseTimeout: 7 * time.Minute, VerifySuccess: true}}
	in := intents.New(cfg, nil)
	created := time.Date(2026, 3, 10, 9, 30, 0, 0, time.FixedZone("IST", 19800))
	ref := db.TxRef{ID: 7, Provider: txstate.ProviderEko, ClientRefID: "1540880592059", ProviderRef: "1540880592059",
		WorkflowID: in.WorkflowID(txstate.ProviderEko, "1540880592059"), TxType: "cash_withdrawal",
		AgentUserCode: sql.NullString{String: "20810200", Valid: true}, AmountText: sql.NullString{String: "100", Valid: true},
		CreatedAt: created, CustomerMobile: sql.NullString{String: "9876543210", Valid: true}}
	if ref.WorkflowID != "aeps/eko/1540880592059" {
		t.Fatalf("WorkflowID = %q", ref.WorkflowID)
	}
	wantInput := workflows.Input{Provider: "eko", ClientRefID: "1540880592059", ProviderRef: "1540880592059",
		TxType: "cash_withdrawal", AgentUserCode: "20810200", Amount: "100", CreatedAt: created.UTC(), Customer: "XXXXXX3210",
		Policy: workflows.Policy{ResponseTimeout: 7 * time.Minute, VerifySuccess: true, EventAttemptTimeout: 5 * time.Second}}

	tests := []struct {
		name       string
		build      func() (db.OutboxEntry, error)
		kind       string
		signalName string
		dedupe     string
		signal     any // nil: no signal
	}{
		{name: "start", build: func() (db.OutboxEntry, error) { return in.Start(ref) },
			kind: "start", dedupe: "start:aeps/eko/1540880592059"},
		{name: "eko report, tx_status masked",
			build: func() (db.OutboxEntry, error) {
				return in.Report(ref, db.Report{Source: db.ReportEko, ID: 42, TxStatus: "2345 6789 0124", TxnID: "14563687"})
			},
			kind: "signal", signalName: workflows.SignalOutcome, dedupe: "eko_response:42",
			signal: workflows.Outcome{EventID: "eko_response:42", Source: workflows.SourceEko, TxStatus: "XXXX XXXX 0124", ProviderTxnID: "14563687"}},
		{name: "partner report without an amount",
			build: func() (db.OutboxEntry, error) {
				return in.Report(ref, db.Report{Source: db.ReportPartner, ID: 9, Outcome: "unknown", Status: "  DEBIT TIMEOUT "})
			},
			kind: "signal", signalName: workflows.SignalOutcome, dedupe: "partner_callback:9",
			signal: workflows.Outcome{EventID: "partner_callback:9", Source: workflows.SourcePartner, PartnerOutcome: "unknown",
				PartnerStatus: "DEBIT TIMEOUT", Amount: "0"}},
		{name: "partner report with an amount",
			build: func() (db.OutboxEntry, error) {
				return in.Report(ref, db.Report{Source: db.ReportPartner, ID: 10, Outcome: "success", Status: "SUCCESS",
					Amount: decimal.NullDecimal{Decimal: decimal.RequireFromString("2000.50"), Valid: true}})
			},
			kind: "signal", signalName: workflows.SignalOutcome, dedupe: "partner_callback:10",
			signal: workflows.Outcome{EventID: "partner_callback:10", Source: workflows.SourcePartner, PartnerOutcome: "success",
				PartnerStatus: "SUCCESS", Amount: "2000.5"}},
		{name: "resolution",
			build: func() (db.OutboxEntry, error) {
				return in.Resolve(ref, "resolve:7:1", db.Resolution{State: txstate.Failed, Reason: "bank statement", By: "ops"})
			},
			kind: "signal", signalName: workflows.SignalResolve, dedupe: "resolve:7:1",
			signal: workflows.Resolution{EventID: "resolve:7:1", State: txstate.Failed, Reason: "bank statement", By: "ops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != tt.kind || e.WorkflowID != ref.WorkflowID || e.SignalName != tt.signalName || e.DedupeKey != tt.dedupe {
				t.Errorf("entry %s %s %q %s, want %s %s %q %s", e.Kind, e.WorkflowID, e.SignalName, e.DedupeKey,
					tt.kind, ref.WorkflowID, tt.signalName, tt.dedupe)
			}
			p := decode(t, e)
			if !reflect.DeepEqual(p.Input, wantInput) {
				t.Errorf("input %+v\nwant  %+v", p.Input, wantInput)
			}
			if tt.signal == nil {
				if len(p.Signal) != 0 {
					t.Errorf("a start carries signal %s", p.Signal)
				}
				return
			}
			got := reflect.New(reflect.TypeOf(tt.signal))
			if err := json.Unmarshal(p.Signal, got.Interface()); err != nil {
				t.Fatalf("signal %s: %v", p.Signal, err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), tt.signal) {
				t.Errorf("signal %+v\nwant   %+v", got.Elem().Interface(), tt.signal)
			}
		})
	}

	if _, err := in.Report(ref, db.Report{Source: "fax", ID: 1}); err == nil || !strings.Contains(err.Error(), "fax") {
		t.Errorf("a report from an unknown source: %v", err)
	}
}

// TestStartDeferral: a start is held back OUTBOX_START_DEFER, never more than half the response
// timeout; a report is delivered with SignalWithStart (so it supersedes a waiting start), a
// resolution is not.
func TestStartDeferral(t *testing.T) {
	ref := db.TxRef{ID: 7, Provider: txstate.ProviderEko, ClientRefID: "1540880592059", ProviderRef: "1540880592059",
		WorkflowID: "aeps/eko/1540880592059", TxType: "cash_withdrawal", CreatedAt: time.Now()}
	// The deferral plus one sweep (a deferred start is found by the sweep) stays within half
	// the response timeout.
	tests := []struct {
		defer_, timeout, sweep, want time.Duration
	}{
		{10 * time.Second, 5 * time.Minute, 2 * time.Second, 10 * time.Second},
		{10 * time.Second, 4 * time.Second, 0, 2 * time.Second},
		{10 * time.Second, 30 * time.Second, 8 * time.Second, 7 * time.Second},
		{10 * time.Second, 4 * time.Second, 5 * time.Second, 0},
		{0, 5 * time.Minute, 2 * time.Second, 0},
	}
	for _, tc := range tests {
		in := intents.New(config.Config{OutboxStartDefer: tc.defer_, RelaySweepInterval: tc.sweep, Lifecycle: config.Lifecycle{EkoResponseTimeout: tc.timeout}}, nil)
		e, err := in.Start(ref)
		if err != nil || e.Defer != tc.want || e.StartsWorkflow {
			t.Errorf("defer %s, timeout %s, sweep %s: entry defer %s starts %v (%v), want defer %s", tc.defer_, tc.timeout, tc.sweep, e.Defer, e.StartsWorkflow, err, tc.want)
		}
	}
	in := intents.New(config.Config{OutboxStartDefer: 10 * time.Second, Lifecycle: config.Lifecycle{EkoResponseTimeout: time.Minute}}, nil)
	r, err := in.Report(ref, db.Report{Source: db.ReportEko, ID: 1, TxStatus: "0"})
	if err != nil || !r.StartsWorkflow || r.Defer != 0 {
		t.Errorf("report entry: starts %v, defer %s (%v); want SignalWithStart at once", r.StartsWorkflow, r.Defer, err)
	}
	res, err := in.Resolve(ref, "resolve:1", db.Resolution{State: txstate.Success, Reason: "checked", By: "asha"})
	if err != nil || res.StartsWorkflow {
		t.Errorf("resolution entry: starts %v (%v); want a plain signal", res.StartsWorkflow, err)
	}
}
