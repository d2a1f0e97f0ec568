package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"
)

// startPprof serves net/http/pprof on PPROF_ADDR when it is set, for taking profiles of a running
// api or worker (the load benchmark does). It is off by default: profiles expose internals, so
// bind it to a loopback address only. A port that cannot be bound is logged, not fatal: profiling
// must never keep the service from running.
func startPprof(ctx context.Context, logger *slog.Logger) {
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		return
	}
	// Sample lock contention too (1 in 10 events): cheap, and the first thing to look at when
	// latency rises with concurrency.
	runtime.SetMutexProfileFraction(10)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// WriteTimeout must outlast a CPU profile's ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Minute}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Warn("pprof disabled: cannot listen", "addr", addr, "err", err)
		return
	}
	logger.Info("pprof listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
}
