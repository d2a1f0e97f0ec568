package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// version is stamped at build time (-ldflags "-X main.version=v1.2.3", as the Dockerfile does);
// unset, it comes from the build info (module version, VCS revision when recorded).
var version = ""

func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	goVersion := ""
	if ok {
		goVersion = " " + bi.GoVersion
	}
	return "aepsflow " + v + goVersion
}

// healthcheckCommand asks this container's own process whether it is ready: distroless images
// have no shell or curl for a HEALTHCHECK. The API's /readyz by default (HTTP_ADDR), the
// worker's with --worker (WORKER_HTTP_ADDR), /healthz with --live.
func healthcheckCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	worker := fs.Bool("worker", false, "check the worker process (WORKER_HTTP_ADDR) instead of the API (HTTP_ADDR)")
	live := fs.Bool("live", false, "check /healthz (the process answers) instead of /readyz")
	url := fs.String("url", "", "check this URL instead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	target := *url
	if target == "" {
		addr := envOr("HTTP_ADDR", ":8080")
		if *worker {
			addr = envOr("WORKER_HTTP_ADDR", ":8081")
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("address %q: %w", addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		path := "/readyz"
		if *live {
			path = "/healthz"
		}
		target = "http://" + net.JoinHostPort(host, port) + path
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(out, "%s: HTTP %d %s\n", target, resp.StatusCode, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return errors.New("not ready")
	}
	return nil
}
