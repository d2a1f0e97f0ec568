package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestWrongMethodOnCallbackURLs: a method other than POST on either callback URL is answered 405
// in that protocol's shape, and the request is stored with its body like any bad input.
func TestWrongMethodOnCallbackURLs(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	for _, tt := range []struct {
		method, path, wantAllow string
		check                   func(raw []byte) bool
	}{
		{http.MethodGet, callbackPath, "POST, OPTIONS", ekoRefusal},
		{http.MethodPut, callbackPath, "POST, OPTIONS", ekoRefusal},
		{http.MethodDelete, callbackPath, "POST, OPTIONS", ekoRefusal},
		{http.MethodGet, "/partner/aeps/callback", "POST", partnerFailure},
		{http.MethodPatch, "/partner/aeps/callback", "POST", partnerFailure},
		{http.MethodOptions, "/partner/aeps/callback", "POST", partnerFailure},
		{http.MethodTrace, "/partner/aeps/callback", "POST", partnerFailure},
		{"PROPFIND", callbackPath, "POST, OPTIONS", ekoRefusal},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			marker := newMarker(t)
			req, err := http.NewRequest(tt.method, a.URL+tt.path, strings.NewReader(`{"marker":"`+marker+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusMethodNotAllowed || !tt.check(raw) || resp.Header.Get("Allow") != tt.wantAllow {
				t.Fatalf("status %d Allow %q reply %s, want 405, Allow %q and the protocol's error shape",
					resp.StatusCode, resp.Header.Get("Allow"), raw, tt.wantAllow)
			}
			in := inboundByMarker(t, a, marker)
			if in.Outcome != "method_not_allowed" || in.HTTPStatus != http.StatusMethodNotAllowed ||
				!strings.Contains(in.OutcomeDetail, tt.method) {
				t.Errorf("stored outcome %q status %d detail %q", in.Outcome, in.HTTPStatus, in.OutcomeDetail)
			}
		})
	}
}

func ekoRefusal(raw []byte) bool {
	var r reply
	return json.Unmarshal(raw, &r) == nil && r.isRefusal() && r.Message != ""
}

func partnerFailure(raw []byte) bool {
	var r partnerReply
	return json.Unmarshal(raw, &r) == nil && r.Status == "1" && r.StatusDesc != ""
}
