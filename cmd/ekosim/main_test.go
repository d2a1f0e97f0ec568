package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/eko/callback"
	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/eko/sim"
)

// callback is a minimal integrator: CORS for the UAT origin, debit-hooks signed with key.
func callbackServer(t *testing.T, key string, got *[]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, _ := io.ReadAll(r.Body)
		env, err := callback.ParseEnvelope(body)
		if err != nil {
			t.Errorf("envelope: %v", err)
			return
		}
		*got = append(*got, env.Action)
		if env.Action == callback.ActionEkoResponse {
			io.WriteString(w, `{"status":"ok","outcome":"recorded"}`)
			return
		}
		var d struct {
			Params []string          `json:"request_hash_params"`
			Data   map[string]string `json:"data"`
		}
		json.Unmarshal(env.Detail, &d)
		s := sign.NewSigner(key)
		ts := sign.Timestamp(time.Now())
		json.NewEncoder(w).Encode(map[string]any{"action": "go", "allow": true, "secret_key_timestamp": ts,
			"secret_key": s.SecretKey(ts), "request_hash": s.RequestHash(ts, d.Params, d.Data)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func noEnv(string) string { return "" }

func TestTxn(t *testing.T) {
	tests := []struct {
		name       string
		serverKey  string
		extra      []string
		wantCode   int
		wantCalls  string
		wantOutput string
	}{
		{"verified, then eko-response", sim.DevAccessKey, nil, exitOK, "debit-hook,eko-response", "VERIFIED"},
		{"no response", sim.DevAccessKey, []string{"--no-response"}, exitOK, "debit-hook", "VERIFIED"},
		{"server signs with another key", sim.GatewayStagingKey, nil, exitMismatch, "debit-hook", "secret_key:    MISMATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			srv := callbackServer(t, tt.serverKey, &calls)
			var out, errOut bytes.Buffer
			args := append([]string{"txn", "--callback", srv.URL, "--tx-status", "0"}, tt.extra...)
			code := run(context.Background(), args, &out, &errOut, noEnv)
			if code != tt.wantCode || strings.Join(calls, ",") != tt.wantCalls || !strings.Contains(out.String(), tt.wantOutput) {
				t.Fatalf("code %d calls %v\nstdout:\n%s\nstderr:\n%s", code, calls, out.String(), errOut.String())
			}
			if strings.Contains(out.String(), "9999999999") {
				t.Fatalf("customer mobile printed unmasked:\n%s", out.String())
			}
		})
	}
}

func TestScript(t *testing.T) {
	sim, err := sim.NewInquiryServer(sim.InquiryConfig{DeveloperKey: sim.DevDeveloperKey, AccessKey: sim.DevAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"script", "--sim", srv.URL, "--ref", "R1", "--steps", "2x3,0"}, &out, &errOut, noEnv); code != exitOK {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	if st := sim.State("R1"); len(st.Steps) != 2 || st.Steps[0].Times != 3 || st.Steps[1].TxStatus != "0" {
		t.Fatalf("state = %+v", st)
	}
	if code := run(context.Background(), []string{"script", "--sim", srv.URL, "--ref", "R1", "--steps", "bogus"}, &out, &errOut, noEnv); code != exitError {
		t.Fatalf("bad steps: code %d", code)
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut, noEnv); code != exitError || !strings.Contains(errOut.String(), "commands:") {
		t.Fatalf("code %d, %s", code, errOut.String())
	}
	if code := run(context.Background(), []string{"nope"}, &out, &errOut, noEnv); code != exitError {
		t.Fatalf("code %d", code)
	}
}
