package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/eko/inquiry"
	"github.com/aepsflow/aepsflow/eko/sign"
)

const testInitiator = "9962981729"

func newSim(t *testing.T, mod func(*InquiryConfig)) (*InquiryServer, *httptest.Server) {
	t.Helper()
	cfg := InquiryConfig{DeveloperKey: DevDeveloperKey, AccessKey: DevAccessKey, Logger: quiet}
	if mod != nil {
		mod(&cfg)
	}
	sim, err := NewInquiryServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

type clientOpts struct {
	version      string
	accessKey    string
	developerKey string
	timeout      time.Duration
	now          func() time.Time
}

// newClient is the service's real Inquiry client pointed at the simulator.
func newClient(t *testing.T, srv *httptest.Server, sim *InquiryServer, o clientOpts) *inquiry.Client {
	t.Helper()
	if o.version == "" {
		o.version = "v3"
	}
	if o.accessKey == "" {
		o.accessKey = DevAccessKey
	}
	if o.developerKey == "" {
		o.developerKey = DevDeveloperKey
	}
	base := srv.URL + sim.V3Prefix()
	if o.version == "v1" {
		base = srv.URL + sim.V1Prefix()
	}
	c, err := inquiry.New(inquiry.Config{BaseURL: base, Version: o.version, DeveloperKey: o.developerKey,
		InitiatorID: testInitiator, Timeout: o.timeout}, sign.NewSigner(o.accessKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.now != nil {
		c.Now = o.now
	}
	return c
}

func TestInquiryPendingThenFinal(t *testing.T) {
	for _, version := range []string{"v3", "v1"} {
		t.Run(version, func(t *testing.T) {
			sim, srv := newSim(t, nil)
			c := newClient(t, srv, sim, clientOpts{version: version})
			ref := NewClientRefID()
			sim.Script(ref, Step{TxStatus: "2", Times: 3}, Step{TxStatus: "0"})
			want := []struct {
				class inquiry.Class
				tx    string
			}{{inquiry.ClassPending, "2"}, {inquiry.ClassPending, "2"}, {inquiry.ClassPending, "2"},
				{inquiry.ClassFinal, "0"}, {inquiry.ClassFinal, "0"}} // the last step keeps answering
			var tid string
			for i, w := range want {
				r, err := c.Inquire(context.Background(), ref, "20810200")
				if err != nil {
					t.Fatalf("call %d: %v", i+1, err)
				}
				if r.Class != w.class || r.TxStatus != w.tx || r.ClientRefID != ref || r.Status != "0" {
					t.Fatalf("call %d: %+v, want class %s tx_status %s", i+1, r, w.class, w.tx)
				}
				if tid == "" {
					tid = r.TID
				} else if r.TID != tid {
					t.Fatalf("tid changed from %s to %s", tid, r.TID)
				}
				if w.tx == "0" && (r.BankRefNum == "" || r.TxStatusDesc != "Success") {
					t.Fatalf("success without bank_ref_num/desc: %+v", r)
				}
			}
			if n := sim.Calls(ref); n != len(want) {
				t.Fatalf("Calls = %d, want %d", n, len(want))
			}
			st := sim.State(ref)
			if st.Position != 1 || len(st.Log) != len(want) || st.Log[0].Version != version || st.Log[0].InitiatorID != testInitiator {
				t.Fatalf("state = %+v", st)
			}
			if version == "v3" && st.Log[0].UserCode != "20810200" {
				t.Fatalf("v3 call without user_code: %+v", st.Log[0])
			}
		})
	}
}

func TestInquiryBehaviours(t *testing.T) {
	type want struct {
		class    inquiry.Class
		tx       string
		statusID string
		errKind  string // non-empty: an *ekoapi.Error of this kind
		retry    bool
		httpCode int
	}
	tests := []struct {
		name   string
		steps  []Step // nil: unscripted
		client clientOpts
		sim    func(*InquiryConfig)
		want   want
	}{
		{"unknown reference is not found", nil, clientOpts{}, nil, want{class: inquiry.ClassNotFound, statusID: "463", httpCode: 200}},
		{"scripted not found", []Step{{NotFound: true}}, clientOpts{}, nil, want{class: inquiry.ClassNotFound, statusID: "463", httpCode: 200}},
		{"not found with a 404", []Step{{NotFound: true, HTTPStatus: 404}}, clientOpts{}, nil, want{class: inquiry.ClassNotFound, statusID: "463", httpCode: 404}},
		{"v1 unknown reference", nil, clientOpts{version: "v1"}, nil, want{class: inquiry.ClassNotFound, statusID: "463", httpCode: 200}},
		{"failed", []Step{{TxStatus: "1"}}, clientOpts{}, nil, want{class: inquiry.ClassFinal, tx: "1", statusID: "0", httpCode: 200}},
		{"refund pending", []Step{{TxStatus: "3"}}, clientOpts{}, nil, want{class: inquiry.ClassReversalPending, tx: "3", statusID: "0", httpCode: 200}},
		{"refunded", []Step{{TxStatus: "4"}}, clientOpts{}, nil, want{class: inquiry.ClassFinal, tx: "4", statusID: "0", httpCode: 200}},
		{"hold", []Step{{TxStatus: "5"}}, clientOpts{}, nil, want{class: inquiry.ClassPending, tx: "5", statusID: "0", httpCode: 200}},
		{"suspicious", []Step{{TxStatus: "7"}}, clientOpts{}, nil, want{class: inquiry.ClassSuspicious, tx: "7", statusID: "0", httpCode: 200}},
		{"tx_status as a number", []Step{{TxStatus: "0", Fields: map[string]any{"tx_status": 0, "amount": json.Number("2000.00")}}}, clientOpts{}, nil,
			want{class: inquiry.ClassFinal, tx: "0", statusID: "0", httpCode: 200}},
		{"wrong access key: 403", []Step{{TxStatus: "0"}}, clientOpts{accessKey: GatewayStagingKey}, nil, want{errKind: inquiry.KindSignature, httpCode: 403}},
		{"wrong developer key: 403", []Step{{TxStatus: "0"}}, clientOpts{developerKey: "0123456789abcdef"}, nil, want{errKind: inquiry.KindSignature, httpCode: 403}},
		{"stale timestamp: 403", []Step{{TxStatus: "0"}}, clientOpts{now: func() time.Time { return time.Now().Add(-10 * time.Minute) }}, nil,
			want{errKind: inquiry.KindSignature, httpCode: 403}},
		{"500", []Step{{HTTPStatus: 500}}, clientOpts{}, nil, want{errKind: inquiry.KindHTTPStatus, retry: true, httpCode: 500}},
		{"slow: client timeout", []Step{{TxStatus: "0", Delay: time.Minute}}, clientOpts{timeout: 100 * time.Millisecond}, nil,
			want{errKind: inquiry.KindTimeout, retry: true}},
		{"garbage", []Step{{Garbage: true}}, clientOpts{}, nil, want{errKind: inquiry.KindGarbage, retry: true, httpCode: 200}},
		{"another initiator: 400", []Step{{TxStatus: "0"}}, clientOpts{}, func(c *InquiryConfig) { c.InitiatorID = "9000000000" },
			want{errKind: inquiry.KindHTTPStatus, httpCode: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, srv := newSim(t, tt.sim)
			c := newClient(t, srv, sim, tt.client)
			ref := NewClientRefID()
			if tt.steps != nil {
				sim.Script(ref, tt.steps...)
			}
			r, err := c.Inquire(context.Background(), ref, "20810200")
			if tt.want.errKind != "" {
				var e *inquiry.Error
				if !errors.As(err, &e) || e.Kind != tt.want.errKind || e.Retryable != tt.want.retry || e.HTTPStatus != tt.want.httpCode {
					t.Fatalf("Inquire = %+v, %v; want %s error (retryable %v, HTTP %d)", r, err, tt.want.errKind, tt.want.retry, tt.want.httpCode)
				}
			} else {
				if err != nil {
					t.Fatalf("Inquire: %v", err)
				}
				if r.Class != tt.want.class || r.TxStatus != tt.want.tx || r.ResponseStatusID != tt.want.statusID || r.HTTPStatus != tt.want.httpCode {
					t.Fatalf("Inquire = %+v, want class %s tx %q status id %s HTTP %d", r, tt.want.class, tt.want.tx, tt.want.statusID, tt.want.httpCode)
				}
			}
			if n := sim.Calls(ref); n != 1 {
				t.Fatalf("Calls = %d, want 1", n)
			}
		})
	}
}

// A refused call does not use up a scripted answer.
func TestInquiryForbiddenKeepsScript(t *testing.T) {
	sim, srv := newSim(t, nil)
	bad := newClient(t, srv, sim, clientOpts{accessKey: GatewayStagingKey})
	good := newClient(t, srv, sim, clientOpts{})
	ref := NewClientRefID()
	sim.Script(ref, Step{TxStatus: "2", Times: 1}, Step{TxStatus: "0"})
	if _, err := bad.Inquire(context.Background(), ref, "20810200"); err == nil {
		t.Fatal("wrong key accepted")
	}
	r, err := good.Inquire(context.Background(), ref, "20810200")
	if err != nil || r.TxStatus != "2" {
		t.Fatalf("Inquire = %+v, %v; want the first step", r, err)
	}
	st := sim.State(ref)
	if st.Calls != 2 || st.Log[0].HTTPStatus != 403 || st.Log[0].Answer != "forbidden" || st.Log[1].Answer != "2x1" {
		t.Fatalf("state = %+v", st)
	}
}

// Raw requests for what the real client never sends: missing headers and parameters, tid lookup.
func TestInquiryRawRequests(t *testing.T) {
	sim, srv := newSim(t, nil)
	ref := NewClientRefID()
	sim.Script(ref, Step{TxStatus: "0"})
	signer := sign.NewSigner(DevAccessKey)
	get := func(path string, signed bool) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if signed {
			ts := sign.Timestamp(time.Now())
			req.Header["developer_key"] = []string{DevDeveloperKey}
			req.Header["secret-key"] = []string{signer.SecretKey(ts)}
			req.Header["secret-key-timestamp"] = []string{ts}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	tests := []struct {
		name       string
		path       string
		sign       bool
		wantStatus int
		wantTx     string
	}{
		{"unsigned", "/ekoapi/v3/tools/reference/transaction/client_ref_id:" + ref + "?initiator_id=1&user_code=2", false, 403, ""},
		{"no initiator_id", "/ekoapi/v3/tools/reference/transaction/client_ref_id:" + ref + "?user_code=2", true, 400, ""},
		{"v3 without user_code", "/ekoapi/v3/tools/reference/transaction/client_ref_id:" + ref + "?initiator_id=1", true, 400, ""},
		{"v1 without user_code", "/ekoapi/v1/transactions/client_ref_id:" + ref + "?initiator_id=1", true, 200, "0"},
		{"v1 bare ref", "/ekoapi/v1/transactions/" + ref + "?initiator_id=1", true, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(tt.path, tt.sign)
			if code != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d: %v", code, tt.wantStatus, body)
			}
			if tt.wantTx != "" {
				if data, _ := body["data"].(map[string]any); data["tx_status"] != tt.wantTx {
					t.Fatalf("body = %v", body)
				}
			}
		})
	}
	t.Run("v3 by tid", func(t *testing.T) {
		_, body := get("/ekoapi/v3/tools/reference/transaction/client_ref_id:"+ref+"?initiator_id=1&user_code=2", true)
		tid := body["data"].(map[string]any)["tid"].(string)
		code, body := get("/ekoapi/v3/tools/reference/transaction/"+tid+"?initiator_id=1&user_code=2", true)
		if data, _ := body["data"].(map[string]any); code != 200 || data["client_ref_id"] != ref {
			t.Fatalf("HTTP %d %v", code, body)
		}
	})
}

func TestInquiryCustomPrefixes(t *testing.T) {
	sim, srv := newSim(t, func(c *InquiryConfig) { c.V3Prefix, c.V1Prefix = "ekoicici/v3/", "/" })
	ref := NewClientRefID()
	sim.Script(ref, Step{TxStatus: "1"})
	for _, version := range []string{"v3", "v1"} {
		c := newClient(t, srv, sim, clientOpts{version: version})
		if r, err := c.Inquire(context.Background(), ref, "20810200"); err != nil || r.TxStatus != "1" {
			t.Fatalf("%s: %+v, %v", version, r, err)
		}
	}
	if sim.V3Prefix() != "/ekoicici/v3" || sim.V1Prefix() != "" {
		t.Fatalf("prefixes %q %q", sim.V3Prefix(), sim.V1Prefix())
	}
}

// Concurrent callers consume a script exactly: no answer is given twice or skipped.
func TestInquiryConcurrent(t *testing.T) {
	sim, srv := newSim(t, nil)
	c := newClient(t, srv, sim, clientOpts{})
	ref := NewClientRefID()
	sim.Script(ref, Step{TxStatus: "2", Times: 30}, Step{TxStatus: "0"})
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			r, err := c.Inquire(context.Background(), ref, "20810200")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[r.TxStatus]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts["2"] != 30 || counts["0"] != 10 || sim.Calls(ref) != 40 {
		t.Fatalf("answers %v, calls %d", counts, sim.Calls(ref))
	}
}

func TestControlAPI(t *testing.T) {
	sim, srv := newSim(t, nil)
	c := newClient(t, srv, sim, clientOpts{})
	ref := NewClientRefID()
	ctx := context.Background()
	steps, err := ParseSteps("2x2,nfx1,0@10msx1,http503,garbage,1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := ScriptRemote(ctx, nil, srv.URL+"/sim", ref, steps)
	if err != nil {
		t.Fatal(err)
	}
	if stepsString(st.Steps) != "2x2,notfoundx1,0@10msx1,http503,garbage,1" || st.Calls != 0 {
		t.Fatalf("state after scripting = %+v", st)
	}
	wantTx := []string{"2", "2", "", "0"}
	for i, tx := range wantTx {
		r, err := c.Inquire(ctx, ref, "20810200")
		if err != nil || r.TxStatus != tx {
			t.Fatalf("call %d: %+v, %v; want tx_status %q", i+1, r, err, tx)
		}
	}
	st, err = ShowRemote(ctx, nil, srv.URL+"/sim/", ref)
	if err != nil || st.Calls != 4 || st.Position != 3 || len(st.Log) != 4 {
		t.Fatalf("ShowRemote = %+v, %v", st, err)
	}

	resp, err := http.Post(srv.URL+"/sim/inquiry/"+ref, "application/json", strings.NewReader(`[{"times":-1,"tx_status":"0"}]`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid step: HTTP %d, want 400", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/sim/inquiry")
	if err != nil {
		t.Fatal(err)
	}
	var list []RefState
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 1 || list[0].Ref != ref {
		t.Fatalf("list = %+v", list)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/sim/inquiry/"+ref, nil)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	if sim.Calls(ref) != 0 {
		t.Fatal("ref not forgotten")
	}
}

func TestParseSteps(t *testing.T) {
	tests := []struct {
		spec    string
		want    []Step
		wantErr bool
	}{
		{"2x3,0", []Step{{TxStatus: "2", Times: 3}, {TxStatus: "0"}}, false},
		{"nfx2, notfound ,1", []Step{{NotFound: true, Times: 2}, {NotFound: true}, {TxStatus: "1"}}, false},
		{"0@2s", []Step{{TxStatus: "0", Delay: 2 * time.Second}}, false},
		{"http500x2,garbage,7", []Step{{HTTPStatus: 500, Times: 2}, {Garbage: true}, {TxStatus: "7"}}, false},
		{"", nil, true},
		{"2,,0", nil, true},
		{"2x0", nil, true},
		{"success", nil, true},
		{"http99", nil, true},
		{"0@soon", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseSteps(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("ParseSteps = %s, want %s", gotJSON, wantJSON)
			}
			// The JSON form round-trips.
			var back []Step
			if err := json.Unmarshal(gotJSON, &back); err != nil || stepsString(back) != stepsString(got) {
				t.Fatalf("round trip: %v, %v", back, err)
			}
		})
	}
}

func TestNewInquiryServerNeedsKeys(t *testing.T) {
	if _, err := NewInquiryServer(InquiryConfig{DeveloperKey: "x"}); err == nil {
		t.Fatal("want an error without an access key")
	}
}
