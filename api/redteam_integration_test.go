package api_test

// Regression tests for holes found by the red-team review of issue 10.

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aepsflow/aepsflow/apptest"
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
