package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aepsflow/aepsflow/eko/sim"
)

// successByDefault answers every reference nobody scripted with tx_status 0. ekosim's
// InquiryServer answers "not found" for unscripted references and has no default answer, so the
// load generator scripts each reference on its first inquiry instead (one map lookup, in process).
type successByDefault struct {
	sim *sim.InquiryServer
}

func (h successByDefault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, "client_ref_id:"); i >= 0 && r.Method == http.MethodGet {
		ref := r.URL.Path[i+len("client_ref_id:"):]
		if ref != "" && len(h.sim.State(ref).Steps) == 0 {
			h.sim.Script(ref, sim.Step{TxStatus: "0"})
		}
	}
	h.sim.ServeHTTP(w, r)
}

// inquirySim serves Eko's Transaction Inquiry API (ekosim) answering success for every reference.
func inquirySim(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen inquiry-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:18090", "listen address")
	accessKey := fs.String("access-key", sim.DevAccessKey, "access key (the service's EKO_ACCESS_KEY)")
	devKey := fs.String("developer-key", sim.DevDeveloperKey, "developer key (the service's EKO_DEVELOPER_KEY)")
	webhookSecret := fs.String("webhook-secret", "", "also receive the service's events at /platform/events (its WEBHOOK_SECRET); stats at /platform/stats")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Every inquiry would otherwise log a line: keep only warnings.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sim, err := sim.NewInquiryServer(sim.InquiryConfig{DeveloperKey: *devKey, AccessKey: *accessKey, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(stderr, "loadgen inquiry-sim: Transaction Inquiry API (success for every reference) on http://%s%s\n", ln.Addr(), sim.V3Prefix())
	mux := http.NewServeMux()
	mux.Handle("/", successByDefault{sim: sim})
	if *webhookSecret != "" {
		mux.Handle("/platform/", newPlatform(*webhookSecret))
		fmt.Fprintf(stderr, "loadgen inquiry-sim: platform events on http://%s/platform/events\n", ln.Addr())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
