package apptest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// Helpers that integration tests in several packages share.

// DevAccessKey is Eko's public UAT access key, the configuration's default under
// APP_ENV=development, which the test system runs with.
const DevAccessKey = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"

// EkoMAC is Eko's signature computed from scratch, without package eko/sign, as Eko's guide
// describes it (docs/eko-aeps.md#signing): HMAC-SHA256 keyed with the base64 text of the access
// key, base64 encoded. Tests compare eko/sign's output, and replies, against it.
func EkoMAC(accessKey, msg string) string {
	m := hmac.New(sha256.New, []byte(base64.StdEncoding.EncodeToString([]byte(accessKey))))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// CashWithdrawal sends the debit-hook of a new cash withdrawal of amount by agent, fails the test
// unless it is allowed, and returns its reference and workflow ID. When it returns, the outbox
// entry that starts the workflow is committed; the workflow is terminated when the test ends.
func (a *App) CashWithdrawal(t testing.TB, agent, amount string) (ref, wfID string) {
	t.Helper()
	ref = Ref(t)
	wfID = workflows.WorkflowID(txstate.ProviderEko, ref)
	a.TerminateAtEnd(t, wfID)
	a.debitHook(t, ref, agent, amount)
	return ref, wfID
}

// TerminateAtEnd terminates the workflow when the test ends, so that the shared dev server does
// not keep running it; a workflow that has closed is left alone.
func (a *App) TerminateAtEnd(t testing.TB, wfID string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Temporal.TerminateWorkflow(ctx, wfID, "", "test finished")
	})
}

// WaitTxState waits until the transaction ref (of provider; "" for any) is in state, and returns
// it. A different final state fails the test at once: final states never change.
func (a *App) WaitTxState(t testing.TB, provider, ref string, state txstate.State) db.Transaction {
	t.Helper()
	var tx db.Transaction
	testenv.WaitFor(t, 60*time.Second, "transaction "+ref+" in state "+string(state), func() (bool, error) {
		txs, err := a.Store.FindTransactions(context.Background(), ref, provider)
		if err != nil || len(txs) != 1 {
			return false, fmt.Errorf("%d transactions (%v)", len(txs), err)
		}
		tx = txs[0]
		if tx.State != state && txstate.IsFinal(tx.State) {
			t.Fatalf("transaction %s ended %s (%s), want %s", ref, tx.State, tx.StateReason, state)
		}
		return tx.State == state, fmt.Errorf("state %s (%s)", tx.State, tx.StateReason)
	})
	return tx
}

// WaitTxPassed waits until the transaction has entered state, whether or not it is still there: a
// state that lasts a short while (unknown, before its review window ends) can be missed by polling
// the current state, but its transition stays in tx_events.
func (a *App) WaitTxPassed(t testing.TB, provider, ref string, state txstate.State) {
	t.Helper()
	testenv.WaitFor(t, 60*time.Second, "transaction "+ref+" through state "+string(state), func() (bool, error) {
		var n int
		err := a.Store.DB().GetContext(context.Background(), &n, `SELECT count(*) FROM tx_events e
			JOIN transactions t ON t.id = e.transaction_id
			WHERE t.client_ref_id = $1 AND t.provider = $2 AND e.to_state = $3`, ref, provider, string(state))
		return err == nil && n > 0, err
	})
}

// QueryInt runs a query that returns one integer (a count, usually) against the test's database.
func (a *App) QueryInt(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := a.Store.DB().GetContext(context.Background(), &n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
