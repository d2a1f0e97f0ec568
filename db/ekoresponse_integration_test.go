package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/txstate"
)

// TestLateEkoResponseFlags: an eko-response after the final state flags the transaction exactly
// when the workflow would call it a conflict: money moved (0) against no money moved (1, 3, 4).
func TestLateEkoResponseFlags(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	agent := newAgent(t, s)
	flagged := map[txstate.State]map[string]bool{
		"success":  {"0": false, "1": true, "2": false, "3": true, "4": true, "5": false, "9": false},
		"failed":   {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false, "9": false},
		"reversed": {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false, "9": false},
		"expired":  {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false, "9": false},
	}
	n := 0
	for final, byTx := range flagged {
		for tx, want := range byTx {
			t.Run(string(final)+"/late "+tx, func(t *testing.T) {
				n++
				ref := fmt.Sprintf("%d%03d", time.Now().UnixNano()%1e10, n)
				if d, err := s.DecideDebitHook(ctx, handoff, debitHook(ref, agent, false)); err != nil || !d.Allow {
					t.Fatalf("debit-hook: %+v %v", d, err)
				}
				if err := s.ApplyChange(ctx, db.Change{WorkflowID: "aeps/eko/" + ref, Key: "wf:1", Kind: "state_changed",
					From: "pending", To: final, Final: true}); err != nil {
					t.Fatal(err)
				}
				res, err := s.RecordEkoResponse(ctx, noReports{handoff, t}, db.EkoResponse{
					Inbound:     db.Inbound{Source: "eko", Method: "POST", Path: "/eko/aeps/callback", RemoteAddr: "test", Body: []byte("{}"), Action: "eko-response", Reference: ref, HTTPStatus: 200},
					ClientRefID: ref, ContentHash: "late-" + tx, TxStatus: tx, Status: "0", Response: []byte("{}"),
				})
				if err != nil {
					t.Fatal(err)
				}
				if res.Outcome != db.OutcomeAfterFinal || res.Flagged != want {
					t.Fatalf("late tx_status %s after %s: %+v, want after_final flagged %v", tx, final, res, want)
				}
				if want && !strings.Contains(res.FlagReason, "tx_status "+tx) {
					t.Errorf("flag reason %q does not name the tx_status", res.FlagReason)
				}
			})
		}
	}
}

// noReports fails the test when the store asks for a report's entry.
type noReports struct {
	db.Intents
	t *testing.T
}

func (n noReports) Report(db.TxRef, db.Report) (db.OutboxEntry, error) {
	n.t.Fatal("a late report must not be signalled")
	return db.OutboxEntry{}, nil
}
