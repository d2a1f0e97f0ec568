package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

const cliAgent = "20810200"

// transactionInReview drives a new transaction to needs_review through the API (debit-hook, then
// an eko-response with tx_status 9) and returns its reference and workflow ID.
func transactionInReview(t *testing.T, a *apptest.App) (string, string) {
	t.Helper()
	ref, wfID := a.CashWithdrawal(t, cliAgent, "100")
	a.Callback(t, fmt.Sprintf(`{"action":"eko-response","detail":{"client_ref_id":%q,`+
		`"response":{"status":0,"message":"recorded","data":{"tx_status":"9","amount":"100.0","tid":"T%s",`+
		`"user_code":%q}}}}`, ref, ref, cliAgent), `"status":"ok"`)
	a.WaitTxState(t, "", ref, txstate.NeedsReview)
	return ref, wfID
}

func txState(t *testing.T, a *apptest.App, ref string) string {
	t.Helper()
	var state string
	if err := a.Store.DB().Get(&state, `SELECT state FROM transactions WHERE client_ref_id = $1`, ref); err != nil {
		t.Fatalf("state of %s: %v", ref, err)
	}
	return state
}

// TestResolveCommand runs `aepsflow resolve` (resolveCommand) against a running API: refusals
// come back as errors that say why and record nothing; an accepted resolution is recorded,
// queued, and reaches the workflow, which settles the transaction.
func TestResolveCommand(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	a.RegisterAgent(cliAgent, nil, nil)
	ref, wfID := transactionInReview(t, a)
	t.Setenv("AEPSFLOW_API", "")

	resolutions := func() int {
		var n int
		if err := a.Store.DB().Get(&n, `SELECT count(*) FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.workflow_id = $1 AND e.kind = 'resolve_requested'`, wfID); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := []string{"--api", a.URL, "--client-ref-id", ref, "--state", "success", "--reason", "bank statement shows the debit"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }

	failures := []struct {
		name      string
		token     string
		user      string // $USER, the default of --by
		args      []string
		wantErr   string
		wantOut   string // in what the command printed (the API's reply)
		noRequest bool   // refused before calling the API
	}{
		{name: "wrong token", token: "not-the-admin-token-123", args: with(),
			wantErr: "resolve refused: HTTP 401", wantOut: "missing or invalid admin token"},
		{name: "no token", token: "", args: with(),
			wantErr: "resolve refused: HTTP 401", wantOut: "missing or invalid admin token"},
		{name: "--by naming another operator than the token's", token: apptest.AshaToken, args: with("--by", "ravi"),
			wantErr: "resolve refused: HTTP 400", wantOut: "by is taken from your token"},
		{name: "missing --reason", token: apptest.AdminToken, user: "ops",
			args: []string{"--api", a.URL, "--client-ref-id", ref, "--state", "success"}, wantErr: "usage: aepsflow resolve", noRequest: true},
		{name: "missing --client-ref-id", token: apptest.AdminToken, user: "ops",
			args: []string{"--api", a.URL, "--state", "success", "--reason", "r"}, wantErr: "usage: aepsflow resolve", noRequest: true},
		{name: "unknown flag", token: apptest.AdminToken, user: "ops", args: with("--force"),
			wantErr: "flag provided but not defined: -force", noRequest: true},
		{name: "bad state", token: apptest.AdminToken,
			args:    []string{"--api", a.URL, "--client-ref-id", ref, "--state", "done", "--reason", "r"},
			wantErr: "resolve refused: HTTP 400", wantOut: "state must be success or failed"},
		{name: "unknown reference", token: apptest.AdminToken,
			args:    []string{"--api", a.URL, "--client-ref-id", apptest.Ref(t), "--state", "failed", "--reason", "r"},
			wantErr: "resolve refused: HTTP 404", wantOut: "no transaction with client_ref_id"},
		{name: "API unreachable", token: apptest.AdminToken,
			args:    []string{"--api", "http://127.0.0.1:1", "--client-ref-id", ref, "--state", "failed", "--reason", "r"},
			wantErr: "call http://127.0.0.1:1"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ADMIN_TOKEN", tt.token)
			t.Setenv("AEPSFLOW_TOKEN", "")
			t.Setenv("USER", tt.user)
			var out bytes.Buffer
			err := resolveCommand(context.Background(), tt.args, &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q (output %q)", err, tt.wantErr, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q, want it to contain %q", out.String(), tt.wantOut)
			}
			if tt.noRequest && out.Len() != 0 {
				t.Errorf("refused before the call, yet printed %q", out.String())
			}
			if n := resolutions(); n != 0 {
				t.Fatalf("%d resolutions recorded after a refusal", n)
			}
		})
	}
	if s := txState(t, a, ref); s != "needs_review" {
		t.Fatalf("after the refusals the transaction is %s, want needs_review", s)
	}

	t.Run("accepted", func(t *testing.T) {
		// AEPSFLOW_TOKEN, the operator's own token, wins over ADMIN_TOKEN; $USER plays no part.
		t.Setenv("ADMIN_TOKEN", apptest.AdminToken)
		t.Setenv("AEPSFLOW_TOKEN", apptest.AshaToken)
		t.Setenv("USER", "someone-else")
		var out bytes.Buffer
		if err := resolveCommand(context.Background(), with(), &out); err != nil {
			t.Fatalf("resolve: %v (output %q)", err, out.String())
		}
		if !strings.Contains(out.String(), `"status":"accepted"`) || !strings.Contains(out.String(), wfID) {
			t.Errorf("output %q, want the API's accepted reply for %s", out.String(), wfID)
		}
		var ev struct {
			To     string `db:"to_state"`
			Reason string `db:"reason"`
			By     string `db:"by"`
			Key    string `db:"dedupe_key"`
		}
		if err := a.Store.DB().Get(&ev, `SELECT e.detail->>'to' AS to_state, e.detail->>'reason' AS reason, e.detail->>'by' AS by, e.dedupe_key
			FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.workflow_id = $1 AND e.kind = 'resolve_requested'`, wfID); err != nil {
			t.Fatalf("resolve_requested event: %v", err)
		}
		if ev.To != "success" || ev.Reason != "bank statement shows the debit" || ev.By != "asha" {
			t.Errorf("recorded resolution %+v", ev)
		}
		var op string
		if err := a.Store.DB().Get(&op, `SELECT operator FROM audit_events WHERE action = 'resolve' AND target = $1`, wfID); err != nil || op != "asha" {
			t.Errorf("audit event of the resolution: operator %q (%v), want asha", op, err)
		}
		var queued int
		if err := a.Store.DB().Get(&queued, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'
			AND signal_name = $2 AND dedupe_key = $3`, wfID, workflows.SignalResolve, ev.Key); err != nil || queued != 1 {
			t.Errorf("%d resolve signals queued under %s (%v), want 1", queued, ev.Key, err)
		}
		a.WaitTxState(t, "", ref, txstate.Success)

		// The transaction is settled: the same command is now refused.
		out.Reset()
		err := resolveCommand(context.Background(), with(), &out)
		if err == nil || !strings.Contains(err.Error(), "HTTP 409") || !strings.Contains(out.String(), "not needs_review") {
			t.Fatalf("second resolve: %v, output %q; want HTTP 409", err, out.String())
		}
	})
}

// agentRow is an agents row as PostgreSQL holds it.
type agentRow struct {
	Name   string              `db:"name"`
	Status string              `db:"status"`
	Count  sql.NullInt64       `db:"daily_cash_count_limit"`
	Amount decimal.NullDecimal `db:"daily_cash_amount_limit"`
}

func (r agentRow) equal(o agentRow) bool {
	return r.Name == o.Name && r.Status == o.Status && r.Count == o.Count &&
		r.Amount.Valid == o.Amount.Valid && r.Amount.Decimal.Equal(o.Amount.Decimal)
}

// TestAgentCommand runs `aepsflow agent` (agentCommand) against a real database: register,
// limits, suspend, activate, clearing the limits and show, each checked in the agents table;
// then refusals that say why and change nothing.
func TestAgentCommand(t *testing.T) {
	dbURL, sqlDB := migratedDB(t)
	t.Setenv("DATABASE_URL", dbURL)
	const code = "40000001"
	row := func(t *testing.T, userCode string) (agentRow, bool) {
		t.Helper()
		var r agentRow
		err := sqlDB.QueryRow(`SELECT name, status, daily_cash_count_limit, daily_cash_amount_limit FROM agents WHERE user_code = $1`,
			userCode).Scan(&r.Name, &r.Status, &r.Count, &r.Amount)
		if err == sql.ErrNoRows {
			return r, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return r, true
	}
	count := func(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: true} }
	amount := func(s string) decimal.NullDecimal {
		return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
	}

	steps := []struct {
		name    string
		args    []string
		want    agentRow // the row afterwards
		wantOut string
	}{
		{"register", []string{"register", "--user-code", code, "--name", "Shop One"},
			agentRow{Name: "Shop One", Status: "active"}, `"status": "active"`},
		{"register again changes nothing", []string{"register", "--user-code", code},
			agentRow{Name: "Shop One", Status: "active"}, `"user_code": "40000001"`},
		{"set limits", []string{"limits", "--user-code", code, "--count-limit", "3", "--amount-limit", "2500.50"},
			agentRow{Name: "Shop One", Status: "active", Count: count(3), Amount: amount("2500.50")}, `"name": "Shop One"`},
		{"count limit zero", []string{"limits", "--user-code", code, "--count-limit", "0"},
			agentRow{Name: "Shop One", Status: "active", Count: count(0), Amount: amount("2500.50")}, ""},
		{"suspend keeps the limits", []string{"suspend", "--user-code", code},
			agentRow{Name: "Shop One", Status: "suspended", Count: count(0), Amount: amount("2500.50")}, `"status": "suspended"`},
		{"activate", []string{"activate", "--user-code", code},
			agentRow{Name: "Shop One", Status: "active", Count: count(0), Amount: amount("2500.50")}, `"status": "active"`},
		{"clear the limits", []string{"limits", "--user-code", code, "--clear"},
			agentRow{Name: "Shop One", Status: "active"}, ""},
		{"register with limits", []string{"register", "--user-code", "40000002", "--count-limit", "7", "--amount-limit", "100"},
			agentRow{Status: "active", Count: count(7), Amount: amount("100")}, `"user_code": "40000002"`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := agentCommand(context.Background(), s.args, &out); err != nil {
				t.Fatalf("agent %v: %v", s.args, err)
			}
			if !strings.Contains(out.String(), s.wantOut) {
				t.Errorf("output %q, want it to contain %q", out.String(), s.wantOut)
			}
			got, ok := row(t, s.args[2])
			if !ok {
				t.Fatalf("no agents row for %s", s.args[2])
			}
			if !got.equal(s.want) {
				t.Errorf("agents row %+v, want %+v", got, s.want)
			}
		})
	}

	t.Run("show", func(t *testing.T) {
		var out bytes.Buffer
		if err := agentCommand(context.Background(), []string{"show", "--user-code", code}, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"user_code": "40000001"`, `"name": "Shop One"`, `"status": "active"`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("show printed %q, want %s", out.String(), want)
			}
		}
	})

	before, _ := row(t, code)
	failures := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subcommand", nil, "usage: aepsflow agent"},
		{"unknown subcommand", []string{"delete", "--user-code", code}, `unknown agent command "delete"`},
		{"suspend an unregistered agent", []string{"suspend", "--user-code", "49999999"}, "agent 49999999: not found (register it first)"},
		{"limits of an unregistered agent", []string{"limits", "--user-code", "49999999", "--count-limit", "1"}, "register it first"},
		{"show an unregistered agent", []string{"show", "--user-code", "49999999"}, "not found"},
		{"missing --user-code", []string{"register", "--name", "Nobody"}, "user_code must be 1 to 32"},
		{"invalid user code", []string{"register", "--user-code", "no spaces"}, "user_code must be 1 to 32"},
		{"negative amount", []string{"limits", "--user-code", code, "--amount-limit", "-5"}, "daily_cash_amount_limit must be a non-negative decimal"},
		{"amount not a number", []string{"limits", "--user-code", code, "--amount-limit", "lots"}, "daily_cash_amount_limit must be a non-negative decimal"},
		{"count not a number", []string{"limits", "--user-code", code, "--count-limit", "x"}, `invalid value "x" for flag -count-limit`},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := agentCommand(context.Background(), tt.args, &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("agent %v: error %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			if _, ok := row(t, "49999999"); ok {
				t.Errorf("a refused command registered 49999999")
			}
			if got, _ := row(t, code); !got.equal(before) {
				t.Errorf("a refused command changed %s: %+v, was %+v", code, got, before)
			}
		})
	}

	// Each change made is one audit event of the operator "cli"; the refusals and show made none.
	var changes, other int
	if err := sqlDB.QueryRow(`SELECT count(*) FILTER (WHERE operator = 'cli' AND action = 'agent_change'),
		count(*) FILTER (WHERE operator <> 'cli' OR action <> 'agent_change') FROM audit_events`).Scan(&changes, &other); err != nil {
		t.Fatal(err)
	}
	if changes != len(steps) || other != 0 {
		t.Errorf("audit events: %d agent changes by cli, %d others; want %d and 0", changes, other, len(steps))
	}

	t.Run("no DATABASE_URL", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "")
		err := agentCommand(context.Background(), []string{"register", "--user-code", "40000003"}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "DATABASE_URL is required") {
			t.Fatalf("error %v, want DATABASE_URL is required", err)
		}
	})
}
