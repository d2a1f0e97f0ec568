package api_test

// Regression tests for holes found by the red-team review of issue 10.

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.temporal.io/sdk/converter"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestEarlyEkoResponseDoesNotBlockTheRepeat: a forged eko-response sent before any debit-hook
// must never block the reference, and that includes the genuine debit-hook's repeat (a retry
// of a lost reply): it gets the first confirmation again. Only an eko-response that came after
// the allow (linked to the transaction) ends the repeats.
func TestEarlyEkoResponseDoesNotBlockTheRepeat(t *testing.T) {
	t.Parallel()
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("own client_ref_id %v", own), func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if own {
				env["CLIENT_REF_ID_SOURCE"] = "own"
			}
			a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: env})
			a.RegisterAgent(agentCode, nil, nil)
			ref := apptest.Ref(t)
			for _, status := range []string{"0", "1"} { // two different forgeries
				if code, r := post(t, a, ekoResponse(t, ref, status, nil)); code != http.StatusOK || r.Status != "ok" {
					t.Fatalf("early eko-response: %d %+v", code, r)
				}
			}
			h := cashHook(ref, agentCode, "100")
			code, first := post(t, a, h.body(t))
			if code != http.StatusOK || !first.allowed() {
				t.Fatalf("genuine debit-hook: %d %+v", code, first)
			}
			waitFor(t, 5*time.Second, "the clock to move past the first allow", func() (bool, error) {
				return fmt.Sprint(time.Now().UnixMilli()) > first.SecretKeyTimestamp, nil
			})
			code, again := post(t, a, h.body(t))
			if code != http.StatusOK || !sameReply(again, first) {
				t.Fatalf("repeat after a forged early eko-response: %d %+v\nwant the first confirmation %+v", code, again, first)
			}
			checkSignsBooked(t, again, bookedRow(t, a, "provider_ref = $1", ref))

			// The genuine report, after the allow, ends the repeats.
			ours := ref
			if own {
				ours = first.ClientRefID
			}
			if code, r := post(t, a, ekoResponse(t, ours, "0", map[string]any{"reason": "genuine"})); code != http.StatusOK {
				t.Fatalf("eko-response: %d %+v", code, r)
			}
			if code, after := post(t, a, h.body(t)); code != http.StatusOK || !after.isRefusal() {
				t.Fatalf("repeat after the genuine eko-response: %d %+v, want refused", code, after)
			}
		})
	}
}

// spacedOut is a haystack with every escaped (\t, \\n, ...) and Unicode white space removed, so
// that a number written with any of them between its groups reads as its 12 digits.
func spacedOut(s string) string {
	s = regexp.MustCompile(`\\+[tnr]`).ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// TestAadhaarWrittenWithAnySpacesNeverStored: an Aadhaar number written with spaces between its
// groups is masked whatever the spaces are: tabs, line breaks, several spaces, a no-break or em
// space. Free text of both callbacks (eko-response message, reason, tx_status, a custom field;
// a debit-hook's custom fields) carried such numbers in full into the eko_responses columns,
// the stored requests' details and the log lines, which mask only single ASCII spaces or dashes.
func TestAadhaarWrittenWithAnySpacesNeverStored(t *testing.T) {
	t.Parallel()
	probe := "84620975130"
	probe += string(verhoeffCheck(probe))
	a := apptest.Start(t, apptest.Options{NoWorker: true})
	a.RegisterAgent(agentCode, nil, nil)
	seps := map[string]string{"tab": "\t", "LF": "\n", "CRLF": "\r\n", "four spaces": "    ", "no-break space": "\u00a0",
		"em space": "\u2003", "space tab space": " \t "}
	for name, sep := range seps {
		t.Run(name, func(t *testing.T) {
			written := probe[:4] + sep + probe[4:8] + sep + probe[8:]
			ref := apptest.Ref(t)
			h := cashHook(ref, agentCode, "100")
			h.Extra = map[string]any{"note": "Aadhaar " + written}
			h.Data["remark"] = written
			if code, r := post(t, a, h.body(t)); code != http.StatusOK || !r.allowed() {
				t.Fatalf("debit-hook: %d %+v", code, r)
			}
			for i, ref := range []string{ref, apptest.Ref(t)} { // its transaction's, and an unknown reference
				body := ekoResponse(t, ref, "0", map[string]any{"reason": "UID " + written, "tx_status": written, "remark": written})
				body = strings.Replace(body, `"Transaction successful"`, mustJSON(t, "Aadhaar "+written+" verified"), 1)
				if code, r := post(t, a, body); code != http.StatusOK || r.Status != "ok" {
					t.Fatalf("eko-response %d: %d %+v", i, code, r)
				}
			}
		})
	}
	logs, complete := a.Logs()
	if !complete {
		t.Fatal("the logs outgrew the test buffer")
	}
	for _, part := range []struct{ name, text string }{{"pg_dump", pgDump(t, a.DatabaseURL)}, {"logs", logs}} {
		text := spacedOut(part.text)
		if !strings.Contains(text, probe[8:]) {
			t.Errorf("%s: not even the last four digits are there: the search looks in the wrong place", part.name)
		}
		if i := strings.Index(text, probe); i >= 0 {
			t.Errorf("%s holds the full number, e.g. …%s…", part.name, text[max(0, i-200):min(len(text), i+40)])
		}
	}
}

// TestCallbackAmbiguousNamesRefused: a callback naming its reference, its outcome or its detail
// twice is refused, and one naming them in another letter case is read by the exact names only;
// either way nothing reaches another transaction. Before, the last one silently won (encoding/json
// matches struct fields case-insensitively), so an eko-response whose body reads as a report on
// one reference was recorded against another transaction, and a debit-hook carrying two details
// was decided on the second.
func TestCallbackAmbiguousNamesRefused(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	target := apptest.Ref(t)
	if code, r := post(t, a, cashHook(target, agentCode, "100").body(t)); code != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook: %d %+v", code, r)
	}
	tx := mustTx(t, a, target)
	other := apptest.Ref(t)
	resp := ekoResponse(t, other, "1", nil)
	hook100 := cashHook(apptest.Ref(t), agentCode, "100").body(t)
	detail := hook100[strings.Index(hook100, `"detail":`):]
	detail = detail[:strings.LastIndex(detail, `}`)+1]
	tests := []struct {
		name, body string
		refused    bool // else recorded under the exact names: for other, unknown
	}{
		{"eko-response client_ref_id in another case", strings.Replace(resp, `"client_ref_id":"`+other+`"`,
			`"client_ref_id":"`+other+`","CLIENT_REF_ID":"`+target+`"`, 1), false},
		{"eko-response client_ref_id twice", strings.Replace(resp, `"client_ref_id":"`+other+`"`,
			`"client_ref_id":"`+other+`","client_ref_id":"`+target+`"`, 1), true},
		{"eko-response tx_status twice", strings.Replace(resp, `"tx_status":"1"`, `"tx_status":"1","tx_status":"0"`, 1), true},
		{"eko-response response twice", strings.Replace(resp, `"response":{`, `"response":{"data":{"tx_status":"0"}},"response":{`, 1), true},
		{"debit-hook detail twice", strings.Replace(hook100, `"detail":`,
			strings.Replace(detail, `"amount":"100"`, `"amount":"10000"`, 1)+`,"detail":`, 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.QueryInt(t, `SELECT count(*) FROM transactions`)
			code, r := post(t, a, tt.body)
			if tt.refused && (code != http.StatusBadRequest || r.allowed() || r.RequestHash != "") {
				t.Fatalf("%d %+v, want a 400 refusal", code, r)
			}
			if !tt.refused && (code != http.StatusOK || r.Outcome != "recorded") {
				t.Fatalf("%d %+v, want recorded", code, r)
			}
			if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE transaction_id IS NOT NULL`); n != 0 {
				t.Errorf("%d eko-responses linked to a transaction, want none", n)
			}
			if n := a.QueryInt(t, `SELECT count(*) FROM transactions`); n != before {
				t.Errorf("%d transactions, want %d", n, before)
			}
			if n := a.QueryInt(t, `SELECT count(*) FROM inbound_requests WHERE transaction_id = $1`, tx.ID); n != 1 {
				t.Errorf("%d requests linked to the transaction, want its debit-hook only", n)
			}
		})
	}
}

// TestEkoTIDReachesTheWorkflowExactly: Eko's tid is a reference, by which operators find a
// transaction in Temporal (search attribute TxProviderTxnID), so it must stay exact even when it
// is twelve digits that happen to pass Aadhaar's check, as one 12-digit number in ten does. It
// was masked as free text on its way into the workflow's signal.
func TestEkoTIDReachesTheWorkflowExactly(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Inquirer: pendingInquirer{}})
	a.RegisterAgent(agentCode, nil, nil)
	ref := apptest.Ref(t)
	wfID := workflows.WorkflowID("eko", ref)
	terminateAtEnd(t, a, wfID)
	if code, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); code != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook: %d %+v", code, r)
	}
	const tid = "234567890124" // passes the Verhoeff check
	if code, r := post(t, a, ekoResponse(t, ref, "2", map[string]any{"tid": tid})); code != http.StatusOK {
		t.Fatalf("eko-response: %d %+v", code, r)
	}
	var got string
	waitFor(t, 30*time.Second, "TxProviderTxnID on the workflow", func() (bool, error) {
		d, err := a.Temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
		if err != nil {
			return false, err
		}
		p := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["TxProviderTxnID"]
		if p == nil {
			return false, nil
		}
		if err := converter.GetDefaultDataConverter().FromPayload(p, &got); err != nil {
			return false, err
		}
		return got != "", nil
	})
	if got != tid {
		t.Errorf("TxProviderTxnID = %q, want Eko's tid exactly, %q", got, tid)
	}
	var stored string
	if err := a.Store.DB().Get(&stored, `SELECT tid FROM eko_responses WHERE client_ref_id = $1`, ref); err != nil || stored != tid {
		t.Errorf("eko_responses.tid = %q (%v), want %q", stored, err, tid)
	}
}

// TestStrangerCannotTellAgentsApart: with REQUIRE_GATEWAY_SESSION on, a debit-hook from someone
// without a gateway launch gets the same reply whatever agent code it names: registered or not,
// suspended, or at its daily limit. Before, the agent and its limits were checked before the
// launch, so a stranger learnt from the reply which agent codes exist and which agents have used
// up the day.
func TestStrangerCannotTellAgentsApart(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
		Env: gatewayEnv("REQUIRE_GATEWAY_SESSION", "true", "GATEWAY_SESSION_WINDOW", "30m")})
	const suspended, capped, unknown = "20810298", "20810296", "20819999"
	zero := "0"
	a.RegisterAgent(agentCode, nil, nil)
	a.RegisterAgent(suspended, nil, nil)
	a.RegisterAgent(capped, nil, &zero)
	if status, body := admin(t, a, http.MethodPut, "/v1/agents/"+suspended, apptest.AdminToken, `{"status":"suspended"}`); status != http.StatusOK {
		t.Fatalf("suspend agent: %d %v", status, body)
	}
	var first reply
	for i, agent := range []string{unknown, agentCode, suspended, capped} {
		h := cashHook(apptest.Ref(t), agent, "100")
		status, r := post(t, a, h.body(t))
		if status != http.StatusOK || !r.isRefusal() {
			t.Fatalf("agent %s: %d %+v, want refused", agent, status, r)
		}
		if i == 0 {
			first = r
		} else if r.Message != first.Message {
			t.Errorf("agent %s: refused with %q, an unregistered code with %q: a stranger tells them apart", agent, r.Message, first.Message)
		}
	}
}

// TestStrangerCannotTellReferencesApart: with REQUIRE_GATEWAY_SESSION on, a debit-hook from
// someone without a launch for the agent it names gets the same reply for a reference in use as
// for a new one. Before, a used reference answered "cannot be used again", so anyone could find
// which references exist (what the neutral eko-response reply keeps to itself).
func TestStrangerCannotTellReferencesApart(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
		Env: gatewayEnv("REQUIRE_GATEWAY_SESSION", "true", "GATEWAY_SESSION_WINDOW", "30m")})
	const stranger = "20810201" // registered, never launched
	a.RegisterAgent(agentCode, nil, nil)
	a.RegisterAgent(stranger, nil, nil)
	if status, raw, _ := gatewayCall(t, a, "/v1/gateway/session", gwToken, `{"user_code":"`+agentCode+`"}`); status != http.StatusOK {
		t.Fatalf("session: %d %s", status, raw)
	}
	used := apptest.Ref(t)
	h := cashHook(used, agentCode, "100")
	status, first := post(t, a, h.body(t))
	if status != http.StatusOK || !first.allowed() {
		t.Fatalf("genuine debit-hook: %d %+v", status, first)
	}
	_, fresh := post(t, a, cashHook(apptest.Ref(t), stranger, "100").body(t))
	for _, agent := range []string{stranger, "20819999"} {
		status, r := post(t, a, cashHook(used, agent, "200").body(t))
		if status != http.StatusOK || !r.isRefusal() || r.Message != fresh.Message {
			t.Errorf("agent %s on a used reference: %d %+v, want the reply to a new reference, %q", agent, status, r, fresh.Message)
		}
	}
	// The genuine repeat is still the first confirmation, and the agent's own conflicting
	// request still says what to do.
	if _, again := post(t, a, h.body(t)); !sameReply(again, first) {
		t.Errorf("genuine repeat: %+v, want %+v", again, first)
	}
	if _, r := post(t, a, cashHook(used, agentCode, "200").body(t)); !r.isRefusal() || !strings.Contains(r.Message, "cannot be used again") {
		t.Errorf("the launched agent's conflicting request: %+v", r)
	}
}
