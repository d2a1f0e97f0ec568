package api_test

// One Aadhaar number, sent in every field of both Eko callbacks and of the partner callback (and
// in headers, the URL query and path, custom parameters), must not be found in full anywhere the
// system keeps or sends data: a pg_dump of the database, the Temporal histories of the
// transactions' workflows, and the logs.
//
// References that are exact by definition (client_ref_id/ClientRefID, tid, bank_ref_num, rrn,
// txnId) are stored exactly, because reconciliation with Eko and the partner needs them: a
// 12-digit RRN with a valid check digit is indistinguishable from an Aadhaar number. Those fields
// carry other numbers here, which the test does not look for.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/testenv"
)

// verhoeffCheck returns the Verhoeff check digit of the digits s: an Aadhaar number's last digit.
func verhoeffCheck(s string) byte {
	d := [10][10]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}
	p := [8][10]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}}
	inv := [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
	c := 0
	for i := range len(s) {
		c = d[c][p[(i+1)%8][s[len(s)-1-i]-'0']]
	}
	return byte('0' + inv[c])
}

// probeForms are the spellings of the probe the haystacks are searched for.
func probeForms(probe string) []string {
	return []string{probe, probe[:4] + " " + probe[4:8] + " " + probe[8:], probe[:4] + "-" + probe[4:8] + "-" + probe[8:]}
}

// found reports each form of the probe in haystack, with some context.
func found(haystack, probe string) []string {
	var hits []string
	for _, f := range probeForms(probe) {
		for i, off := 0, 0; i < 200; i++ {
			j := strings.Index(haystack[off:], f)
			if j < 0 {
				break
			}
			at := off + j
			hits = append(hits, fmt.Sprintf("…%s…", haystack[max(0, at-100):min(len(haystack), at+len(f)+30)]))
			off = at + len(f)
		}
	}
	return hits
}

// byteaRE finds bytea values in a pg_dump (COPY text format writes them \\x<hex>).
var byteaRE = regexp.MustCompile(`\\\\x([0-9a-f]+)`)

// pgDump dumps the test database and appends every bytea value decoded, so that a stored raw
// body is searched as text.
func pgDump(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.PostgresTool(t, "pg_dump"), "--no-owner", "--no-privileges", "--dbname", dbURL).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("pg_dump: %v %s", err, stderr)
	}
	var b strings.Builder
	b.Write(out)
	for _, m := range byteaRE.FindAllSubmatch(out, -1) {
		if dec, err := hex.DecodeString(string(m[1])); err == nil {
			b.WriteString("\n-- bytea decoded: ")
			b.Write(dec)
		}
	}
	return b.String()
}

// dataRE finds a payload's base64 data in a protojson history.
var dataRE = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)

// histories returns the Temporal histories of the workflows as JSON, with every payload's data
// decoded beside it (payloads are JSON encoded as base64 bytes).
func histories(t *testing.T, a *apptest.App, workflowIDs []string) string {
	t.Helper()
	var b strings.Builder
	for _, id := range workflowIDs {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		it := a.Temporal.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n := 0
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				cancel()
				t.Fatalf("history of %s: %v", id, err)
			}
			js, err := protojson.Marshal(ev)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			b.Write(js)
			b.WriteByte('\n')
			for _, m := range dataRE.FindAllSubmatch(js, -1) {
				if dec, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil {
					b.WriteString("  payload decoded: ")
					b.Write(dec)
					b.WriteByte('\n')
				}
			}
			n++
		}
		cancel()
		if n == 0 {
			t.Fatalf("workflow %s has no history", id)
		}
	}
	return b.String()
}

// setJSON sets the value at the dotted path in v (maps only), creating maps on the way.
func setJSON(v map[string]any, path string, val any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := v[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			v[k] = next
		}
		v = next
	}
	v[keys[len(keys)-1]] = val
}

func decodeObject(t testing.TB, body string) map[string]any {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNoFullAadhaarAnywhere sends the probe everywhere a caller can put it, runs the transactions
// through PostgreSQL and Temporal, and searches a pg_dump, the workflows' histories and the logs.
func TestNoFullAadhaarAnywhere(t *testing.T) {
	t.Parallel()
	probe := "73519246801"
	probe += string(verhoeffCheck(probe))
	spaced := probeForms(probe)[1]
	a := startPartnerApp(t, map[string]string{
		"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false", "EKO_ALLOWED_HEADERS": "X-Agent-Note",
	}, apptest.Options{Inquirer: pendingInquirer{}})
	a.RegisterAgent(agentCode, nil, nil)

	// Every Eko request carries the probe in its headers and URL query, and in custom
	// parameters at the top level, as strings, numbers and nested values.
	ekoPost := func(body string, origin string) (int, []byte) {
		t.Helper()
		status, _, raw := request(t, http.MethodPost, a.URL+callbackPath+"?aadhaar="+probe+"&note=uid%20"+probe, map[string]string{
			"Content-Type": "application/json", "Origin": origin, "User-Agent": "AePS/1.0 (uid " + probe + ")",
			"Referer": "https://stagegateway.eko.in/aeps?aadhaar=" + probe + "&n=" + probe, "X-Request-Id": probe,
			"X-Forwarded-For": probe, "X-Agent-Note": spaced,
		}, body)
		return status, raw
	}
	custom := func(v map[string]any) {
		v["param1"] = probe
		v["customer_note"] = "Aadhaar " + probe + " / " + spaced
		v["probe_number"] = json.Number(probe)
		v["nested"] = map[string]any{"list": []any{probe, json.Number(probe), map[string]any{"k": probe}}}
		v[probe] = "a key that is the number"
	}

	// Debit-hooks: the probe in each field in turn, and in all at once.
	var allowedRefs []string
	hookCases := []struct {
		path string
		val  any
	}{
		{"", nil}, // custom parameters, headers and query only
		{"detail.data.customer_id", probe}, {"detail.data.bank_code", probe}, {"detail.data.type", probe},
		{"detail.data.user_code", probe}, {"detail.data.amount", probe}, {"detail.data.amount", json.Number(probe)},
		{"detail.data.aadhaar", probe}, {"detail.data.remark", "uid " + probe}, {"detail.data.customer_name", spaced},
		{"detail.http_method", probe}, {"detail.interaction_label", probe}, {"detail.interaction_type_id", json.Number(probe)},
		{"detail.request_hash_params", []any{"customer_id", "amount", "user_code", probe}},
		{"detail.note", probe}, {"action", probe},
	}
	for i, c := range hookCases {
		ref := apptest.Ref(t)
		v := decodeObject(t, cashHook(ref, agentCode, "100").body(t))
		custom(v)
		if c.path != "" {
			setJSON(v, c.path, c.val)
		}
		status, raw := ekoPost(mustJSON(t, v), uatOrigin)
		if status == http.StatusOK && bytes.Contains(raw, []byte(`"allow":true`)) {
			allowedRefs = append(allowedRefs, ref)
		}
		t.Logf("debit-hook %d (%s): %d", i, c.path, status)
	}
	// A balance inquiry with the number as its amount, one with everything, one from an origin
	// that is the number.
	bal := cashHook(apptest.Ref(t), agentCode, probe)
	bal.Data["type"] = "3"
	if status, raw := ekoPost(bal.body(t), uatOrigin); status == http.StatusOK && bytes.Contains(raw, []byte(`"allow":true`)) {
		allowedRefs = append(allowedRefs, bal.Ref)
	}
	everything := decodeObject(t, cashHook(apptest.Ref(t), agentCode, "100").body(t))
	custom(everything)
	for _, c := range hookCases[1:] {
		setJSON(everything, c.path, c.val)
	}
	ekoPost(mustJSON(t, everything), uatOrigin)
	ekoPost(cashHook(apptest.Ref(t), agentCode, "100").body(t), "https://"+probe+".example")
	if len(allowedRefs) == 0 {
		t.Fatal("no debit-hook was allowed: nothing reaches Temporal")
	}

	// Eko-responses: the probe in each field in turn (tid and bank_ref_num are references:
	// they carry other numbers), spread over the allowed transactions, and one for an unknown
	// reference with everything.
	respCases := []struct {
		path string
		val  any
	}{
		{"", nil},
		{"detail.response.data.tx_status", probe}, {"detail.response.data.amount", probe},
		{"detail.response.data.amount", json.Number(probe)}, {"detail.response.data.commission", probe},
		{"detail.response.data.tds", probe}, {"detail.response.data.fee", probe}, {"detail.response.data.balance", probe},
		{"detail.response.data.customer_balance", probe}, {"detail.response.data.reason", "Aadhaar " + probe + " seeded"},
		{"detail.response.data.sender_name", probe}, {"detail.response.data.merchantname", spaced},
		{"detail.response.data.aadhaar", probe}, {"detail.response.data.user_code", probe},
		{"detail.response.data.auth_code", probe}, {"detail.response.data.terminal_id", probe},
		{"detail.response.data.transaction_date", probe}, {"detail.response.data.extra", probe},
		{"detail.response.message", "Transaction " + probe + " successful"}, {"detail.response.status", json.Number(probe)},
		{"detail.response.response_status_id", json.Number(probe)}, {"detail.response.response_type_id", probe},
		{"detail.url", "https://stagegateway.eko.in/v2/api?aadhaar=" + probe}, {"detail.http_status", json.Number(probe)},
		{"detail.interaction_type_id", probe}, {"detail.is_final", probe}, {"detail.note", probe},
	}
	for i, c := range respCases {
		ref := allowedRefs[i%len(allowedRefs)]
		v := decodeObject(t, ekoResponse(t, ref, []string{"0", "2", "1"}[i%3], nil))
		custom(v)
		if c.path != "" {
			setJSON(v, c.path, c.val)
		}
		status, _ := ekoPost(mustJSON(t, v), "")
		t.Logf("eko-response %d (%s): %d", i, c.path, status)
	}
	unknown := decodeObject(t, ekoResponse(t, apptest.Ref(t), "0", nil))
	custom(unknown)
	for _, c := range respCases[1:] {
		setJSON(unknown, c.path, c.val)
	}
	ekoPost(mustJSON(t, unknown), "")

	// Partner callbacks: the probe in each field in turn (ClientRefID, rrn and txnId are
	// references), in unknown keys, in headers and the query; and with the number as client_id.
	partnerCases := []struct{ key, val string }{
		{"", ""}, {"statusDesc", `"Aadhaar ` + probe + ` verified"`}, {"productCode", `"` + probe + `"`},
		{"txnType", `"` + probe + `"`}, {"txnAmount", `"` + probe + `"`}, {"txnAmount", probe},
		{"status", `"` + probe + `"`}, {"username", `"` + probe + `"`}, {"param_b", `"` + probe + `"`},
		{"param_c", `"` + probe + `"`}, {"customeridentIfication", `"` + probe + `"`},
		{"customeridentIfication", `"` + spaced + `"`}, {"createdDate", `"` + probe + `"`}, {"note", `"` + probe + `"`},
	}
	partnerPost := func(clientID string, body []byte) int {
		status, _, _ := request(t, http.MethodPost, a.URL+"/partner/aeps/callback?aadhaar="+probe, map[string]string{
			"Content-Type": "application/json", "client_id": clientID, "client_secret": p1Secret,
			"User-Agent": "partner " + probe, "X-Request-Id": probe, "X-Forwarded-For": probe,
		}, string(body))
		return status
	}
	for i, c := range partnerCases {
		changes := map[string]string{}
		if c.key != "" {
			changes[c.key] = c.val
		}
		body := partnerBody(apptest.Ref(t)[:12], partnerTxnID(t), changes)
		t.Logf("partner callback %d (%s): %d", i, c.key, partnerPost("p1", body))
	}
	partnerPost(probe, partnerBody(apptest.Ref(t)[:12], partnerTxnID(t), nil))

	// Misrouted: the number in the path, and a wrong method.
	request(t, http.MethodPost, a.URL+"/eko/aeps/"+probe+"?aadhaar="+probe, map[string]string{"User-Agent": probe}, `{"aadhaar_hint":"`+probe+`"}`)
	request(t, http.MethodGet, a.URL+"/partner/aeps/callback?aadhaar="+probe, map[string]string{"client_id": probe}, "")

	// Let everything reach Temporal and settle: the outbox delivered, and no workflow with work
	// pending that could carry request text (its activities write to PostgreSQL too).
	var workflowIDs []string
	if err := a.Store.DB().Select(&workflowIDs, `SELECT workflow_id FROM transactions ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "the outbox delivered and every workflow idle", func() (bool, error) {
		if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`); n > 0 {
			return false, fmt.Errorf("%d outbox entries undelivered", n)
		}
		for _, id := range workflowIDs {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			d, err := a.Temporal.DescribeWorkflowExecution(ctx, id, "")
			cancel()
			if err != nil {
				return false, err
			}
			if d.GetPendingWorkflowTask() != nil {
				return false, fmt.Errorf("workflow %s has a workflow task pending", id)
			}
			for _, pa := range d.GetPendingActivities() {
				if pa.GetActivityType().GetName() == "Inquire" {
					continue // pendingInquirer's answer and its record hold no request text
				}
				return false, fmt.Errorf("workflow %s has activity %s pending (%s, scheduled %s, attempt %d, last failure %v)", id,
					pa.GetActivityType().GetName(), pa.GetState(), pa.GetLastStartedTime().AsTime(), pa.GetAttempt(), pa.GetLastFailure().GetMessage())
			}
		}
		return true, nil
	})
	for _, id := range workflowIDs {
		terminateAtEnd(t, a, id)
	}
	t.Logf("%d transactions, %d allowed Eko debit-hooks", len(workflowIDs), len(allowedRefs))

	logs, complete := a.Logs()
	if !complete {
		t.Fatal("the logs outgrew the test buffer; the search would be incomplete")
	}
	for _, part := range []struct{ name, text string }{
		{"pg_dump of the database", pgDump(t, a.DatabaseURL)},
		{"Temporal histories", histories(t, a, workflowIDs)},
		{"logs", logs},
	} {
		if !strings.Contains(part.text, probe[8:]) {
			t.Errorf("%s: not even the last four digits of the number are there: the search looks in the wrong place", part.name)
		}
		if hits := found(part.text, probe); len(hits) > 0 {
			t.Errorf("%s holds the full number %d times, e.g.:\n%s", part.name, len(hits), strings.Join(hits, "\n"))
		}
	}
}
