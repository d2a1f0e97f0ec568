// Package e2e_test drives whole transaction lifecycles end to end: the real API, outbox relay and
// worker (package apptest) on real PostgreSQL and a real Temporal dev server, with ekosim as Eko:
// its Gateway sends the browser's callbacks and its InquiryServer answers the Transaction Inquiry
// API over HTTP, so the service's own eko/inquiry client, signing and configuration are exercised.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
)

// Keys of this suite: not the dev defaults, so that a service ignoring its configuration (or
// signing with the wrong key) fails here.
const (
	accessKey    = "0b9e2f4c-e2e0-4a8e-9f51-3c7d5e6a7b8c"
	developerKey = "e2e0developer0key0000000000000001"
	initiatorID  = "9000000001"
	agent        = "20810200"
	customer     = "9999999999"

	waitTimeout = 60 * time.Second
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// system is one running aepsflow with ekosim as Eko.
type system struct {
	app *apptest.App
	sim *sim.InquiryServer
	gw  *sim.Gateway
}

// start runs aepsflow against a fresh simulator, with the Inquiry API version given ("v3"/"v1")
// and lifecycle timings short enough for tests; extra adds or overrides configuration.
func start(t *testing.T, version string, extra ...map[string]string) *system {
	t.Helper()
	inq, err := sim.NewInquiryServer(sim.InquiryConfig{
		DeveloperKey: developerKey, AccessKey: accessKey, InitiatorID: initiatorID, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the app (cleanups run last-in first-out), so the worker never sees it vanish.
	srv := httptest.NewServer(inq)
	t.Cleanup(srv.Close)
	base := srv.URL + inq.V3Prefix()
	if version == "v1" {
		base = srv.URL + inq.V1Prefix()
	}
	env := map[string]string{
		"EKO_API_BASE_URL": base, "EKO_INQUIRY_VERSION": version,
		"EKO_DEVELOPER_KEY": developerKey, "EKO_ACCESS_KEY": accessKey, "EKO_INITIATOR_ID": initiatorID,
		"EKO_ALLOWED_ORIGINS":     sim.UATOrigin,
		"EKO_RESPONSE_TIMEOUT":    "2s",
		"INQUIRY_INITIAL_BACKOFF": "200ms",
		"INQUIRY_MAX_BACKOFF":     "1s",
		"INQUIRY_NOT_FOUND_GRACE": "3s",
		"INQUIRY_DEADLINE":        "30s",
	}
	for _, m := range extra {
		maps.Copy(env, m)
	}
	app := apptest.Start(t, apptest.Options{Env: env})
	app.RegisterAgent(agent, nil, nil)
	return &system{
		app: app, sim: inq,
		gw: &sim.Gateway{CallbackURL: app.URL + "/eko/aeps/callback", Origin: sim.UATOrigin, AccessKey: accessKey,
			HTTP: &http.Client{Timeout: 20 * time.Second}, Logger: quiet},
	}
}

// debitHook starts a cash withdrawal of Rs 100 under ref and requires Eko's checks to pass.
func (s *system) debitHook(t *testing.T, ref string) {
	t.Helper()
	s.sim.SetAmount(ref, "100.0") // Eko's inquiry reports the amount of the withdrawal made, as Eko writes it
	res, err := s.gw.DebitHook(context.Background(), sim.DebitHookRequest{
		ClientRefID: ref, Type: "2", CustomerID: customer, UserCode: agent, Amount: "100", BankCode: "PUNB",
	})
	if err != nil {
		t.Fatalf("debit-hook %s: %v", ref, err)
	}
	if !res.Verified() || res.ClientRefID != ref {
		t.Fatalf("debit-hook %s: reply fails Eko's checks: allowed %v key %v hash %v time %v ref %q: %s (message %q)",
			ref, res.Allowed, res.SecretKeyOK, res.HashOK, res.TimestampOK, res.ClientRefID, res.Mismatch, res.Message)
	}
}

// ekoResponse reports txStatus for ref and returns the service's reply.
func (s *system) ekoResponse(t *testing.T, ref, txStatus string) sim.EkoResponseResult {
	t.Helper()
	res, err := s.gw.EkoResponse(context.Background(), ref, txStatus, nil)
	if err != nil {
		t.Fatalf("eko-response %s tx_status %s: %v", ref, txStatus, err)
	}
	if res.HTTPStatus != http.StatusOK || res.Status != "ok" {
		t.Fatalf("eko-response %s tx_status %s: HTTP %d %s", ref, txStatus, res.HTTPStatus, res.Reply)
	}
	return res
}

// script scripts ref's inquiry answers in ParseSteps notation.
func (s *system) script(t *testing.T, ref, spec string) {
	t.Helper()
	steps, err := sim.ParseSteps(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.sim.Script(ref, steps...)
}

// txView is the read API's answer (GET /v1/transactions/:ref), the fields these tests read.
type txView struct {
	ClientRefID string        `json:"client_ref_id"`
	State       txstate.State `json:"state"`
	StateReason string        `json:"state_reason"`
	Flagged     bool          `json:"flagged"`
	FlagReason  string        `json:"flag_reason"`
	EkoTID      string        `json:"eko_tid"`
	BankRefNum  string        `json:"bank_ref_num"`
	Events      []struct {
		Kind   string         `json:"kind"`
		From   string         `json:"from"`
		To     string         `json:"to"`
		Detail map[string]any `json:"detail"`
	} `json:"events"`
	EkoResponses []struct {
		TxStatus string `json:"tx_status"`
	} `json:"eko_responses"`
	Workflow struct {
		WorkflowID string `json:"workflow_id"`
		State      struct {
			State           string `json:"state"`
			ClaimedTxStatus string `json:"claimed_tx_status"`
			InquiryTxStatus string `json:"inquiry_tx_status"`
			Inquiries       int    `json:"inquiries"`
		} `json:"state"`
		Error string `json:"error"`
	} `json:"workflow"`
	raw string
}

// hasEvent reports whether the history holds an event of kind (and, if to is set, to that state).
func (v txView) hasEvent(kind, to string) bool {
	for _, e := range v.Events {
		if e.Kind == kind && (to == "" || e.To == to) {
			return true
		}
	}
	return false
}

func (v txView) event(kind string) (map[string]any, bool) {
	for _, e := range v.Events {
		if e.Kind == kind {
			return e.Detail, true
		}
	}
	return nil, false
}

// admin calls the admin API with the test token.
func (s *system) admin(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.app.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func (s *system) read(t *testing.T, ref string) (txView, error) {
	t.Helper()
	code, body := s.admin(t, http.MethodGet, "/v1/transactions/"+ref, nil)
	if code != http.StatusOK {
		return txView{}, fmt.Errorf("GET /v1/transactions/%s: HTTP %d: %s", ref, code, body)
	}
	var v txView
	if err := json.Unmarshal(body, &v); err != nil {
		return txView{}, fmt.Errorf("decode transaction view: %w: %s", err, body)
	}
	v.raw = string(body)
	return v, nil
}

// waitState waits until the read API shows ref in state and returns that view. A different final
// state fails at once: final states never change.
func (s *system) waitState(t *testing.T, ref string, state txstate.State) txView {
	t.Helper()
	var v txView
	testenv.WaitFor(t, waitTimeout, "transaction "+ref+" in state "+string(state), func() (bool, error) {
		var err error
		if v, err = s.read(t, ref); err != nil {
			return false, err
		}
		if v.State != state && txstate.IsFinal(v.State) {
			t.Fatalf("transaction %s ended %s (%s), want %s\ninquiries: %+v\nview: %s", ref, v.State, v.StateReason, state, s.sim.State(ref), v.raw)
		}
		return v.State == state, fmt.Errorf("state %s (%s)", v.State, v.StateReason)
	})
	return v
}

// waitSearch waits until Temporal's visibility finds ref's workflow by its search attributes in
// state (visibility is eventually consistent).
func (s *system) waitSearch(t *testing.T, ref string, state txstate.State) {
	t.Helper()
	query := fmt.Sprintf(`TxState=%q AND ClientRefID=%q`, state, ref)
	testenv.WaitFor(t, waitTimeout, "visibility query "+query, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := s.app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.app.Config.TemporalNamespace, Query: query,
		})
		if err != nil {
			return false, err
		}
		n := len(resp.GetExecutions())
		if n > 1 {
			t.Fatalf("query %s found %d workflows, want 1", query, n)
		}
		return n == 1, fmt.Errorf("%d workflows found", n)
	})
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%s = %q, want it to contain %q", what, s, sub)
		}
	}
}
