package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestMisroutedCallbacks: a method other than POST on either callback URL (405, with Allow), or
// a URL beside one, such as a trailing slash or a typo (404), is answered in that protocol's shape,
// and the request is stored with its body like any bad input.
func TestMisroutedCallbacks(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	for _, tt := range []struct {
		method, path string
		wantStatus   int
		wantAllow    string
		check        func(raw []byte) bool
		wantOutcome  string
	}{
		{http.MethodGet, callbackPath, 405, "POST, OPTIONS", ekoRefusal, "method_not_allowed"},
		{http.MethodPut, callbackPath, 405, "POST, OPTIONS", ekoRefusal, "method_not_allowed"},
		{http.MethodDelete, callbackPath, 405, "POST, OPTIONS", ekoRefusal, "method_not_allowed"},
		{"PROPFIND", callbackPath, 405, "POST, OPTIONS", ekoRefusal, "method_not_allowed"},
		{http.MethodGet, "/partner/aeps/callback", 405, "POST", partnerFailure, "method_not_allowed"},
		{http.MethodPatch, "/partner/aeps/callback", 405, "POST", partnerFailure, "method_not_allowed"},
		{http.MethodOptions, "/partner/aeps/callback", 405, "POST", partnerFailure, "method_not_allowed"},
		{http.MethodTrace, "/partner/aeps/callback", 405, "POST", partnerFailure, "method_not_allowed"},
		{http.MethodPost, callbackPath + "/", 404, "", ekoRefusal, "not_found"},
		{http.MethodPost, "/eko/aeps/callbak", 404, "", ekoRefusal, "not_found"},
		{http.MethodPost, "/partner/aeps/callback/", 404, "", partnerFailure, "not_found"},
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
			if resp.StatusCode != tt.wantStatus || !tt.check(raw) || resp.Header.Get("Allow") != tt.wantAllow {
				t.Fatalf("status %d Allow %q reply %s, want %d, Allow %q and the protocol's error shape",
					resp.StatusCode, resp.Header.Get("Allow"), raw, tt.wantStatus, tt.wantAllow)
			}
			in := inboundByMarker(t, a, marker)
			if in.Outcome != tt.wantOutcome || in.HTTPStatus != tt.wantStatus || in.OutcomeDetail == "" {
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
