package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestHealthcheckCommand: exit status 0 only on a 200 from the chosen endpoint; HTTP_ADDR and
// WORKER_HTTP_ADDR name the port, a wildcard host becomes 127.0.0.1.
func TestHealthcheckCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	tests := []struct {
		name, httpAddr, workerAddr string
		args                       []string
		ok                         bool
		wantURL                    string
	}{
		{"api readyz 503", ":" + port, "", nil, false, "http://127.0.0.1:" + port + "/readyz"},
		{"api healthz 200", "0.0.0.0:" + port, "", []string{"--live"}, true, "http://127.0.0.1:" + port + "/healthz"},
		{"worker address", ":1", "127.0.0.1:" + port, []string{"--worker", "--live"}, true, "http://127.0.0.1:" + port + "/healthz"},
		{"explicit url", "", "", []string{"--url", srv.URL + "/healthz"}, true, srv.URL + "/healthz"},
		{"nothing listening", "127.0.0.1:1", "", nil, false, "http://127.0.0.1:1/readyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HTTP_ADDR", tt.httpAddr)
			t.Setenv("WORKER_HTTP_ADDR", tt.workerAddr)
			var out strings.Builder
			err := healthcheckCommand(context.Background(), tt.args, &out)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v (output %q)", err, tt.ok, out.String())
			}
			if got := out.String() + errString(err); !strings.Contains(got, tt.wantURL) {
				t.Errorf("checked %q, want %s", got, tt.wantURL)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestVersion: a stamped version wins; unstamped, the build info's, never empty.
func TestVersion(t *testing.T) {
	if v := versionString(); !strings.HasPrefix(v, "aepsflow ") || len(v) <= len("aepsflow ") {
		t.Errorf("versionString() = %q", v)
	}
	old := version
	defer func() { version = old }()
	version = "v9.9.9-test"
	if v := versionString(); !strings.HasPrefix(v, "aepsflow v9.9.9-test") {
		t.Errorf("stamped: %q", v)
	}
	_ = io.Discard
}

// TestDockerfileProductionStage: the image the Dockerfile builds by default (its last stage)
// carries the aepsflow binary only, no simulator; it has a HEALTHCHECK through `aepsflow
// healthcheck` (distroless has no shell) and the build stamps the version. Secrets (.env) never
// enter the build context. No Docker daemon runs here, so the file itself is checked.
func TestDockerfileProductionStage(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := strings.Split(string(raw), "\nFROM ")
	last := stages[len(stages)-1]
	if strings.Contains(strings.ToLower(last), "ekosim") {
		t.Errorf("the production stage mentions the simulator:\n%s", last)
	}
	for _, want := range []string{"COPY --from=build /out/aepsflow ", `HEALTHCHECK`, `"/usr/local/bin/aepsflow", "healthcheck"`, "USER nonroot"} {
		if !strings.Contains(last, want) {
			t.Errorf("the production stage lacks %q", want)
		}
	}
	if !strings.Contains(string(raw), "-X main.version=${VERSION}") {
		t.Error("the build does not stamp the version")
	}
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(ignore)+"\n", "\n.env\n") {
		t.Error(".dockerignore does not keep .env (secrets) out of the build context")
	}
}
