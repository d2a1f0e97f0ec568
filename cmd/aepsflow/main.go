// Command aepsflow runs the AePS callback service: the HTTP API (with the outbox relay), the
// Temporal worker, both together for development, the migrations, and operator commands.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/searchattr"
)

const usage = `usage: aepsflow <command> [flags]

commands:
  api       serve the HTTP API and relay the outbox to Temporal
  worker    run the Temporal worker (transaction workflows and activities)
  dev       api + worker in one process (development)
  migrate   apply database migrations
  agent     register, suspend, activate an agent or set its limits (aepsflow agent -h)
  resolve   resolve a transaction that needs review (aepsflow resolve -h)
  healthcheck
            exit 0 when this container's API (or --worker) is ready (HEALTHCHECK; distroless has no shell)
  version   print the version
  gateway   gateway token --user-code C: mint an agent's launch token for POST /v1/gateway/session
  events    show or re-send a transaction's events to the platform (aepsflow events -h)
  reconcile run the reconciliation of a day now (aepsflow reconcile --date YYYY-MM-DD)
  report    the agents' daily statement (aepsflow report daily --date YYYY-MM-DD [--format csv])
  search-attributes
            print the custom search attributes the workflows set, "Name Type" a line

Configuration comes from environment variables; see README.md.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := newLogger()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "api":
		err = serve(ctx, logger, true, false)
	case "worker":
		err = serve(ctx, logger, false, true)
	case "dev":
		err = serve(ctx, logger, true, true)
	case "migrate":
		err = migrate(ctx, logger)
	case "agent":
		err = agentCommand(ctx, args, os.Stdout)
	case "resolve":
		err = resolveCommand(ctx, args, os.Stdout)
	case "healthcheck":
		if err := healthcheckCommand(ctx, args, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "version", "--version":
		fmt.Println(versionString())
	case "gateway":
		err = gatewayCommand(args, os.Stdout, os.Stderr, os.Getenv, time.Now())
	case "events":
		err = eventsCommand(ctx, args, os.Stdout)
	case "reconcile":
		err = reconcileCommand(ctx, args, os.Stdout, logger)
	case "report":
		err = reportCommand(ctx, args, os.Stdout)
	case "search-attributes":
		fmt.Print(searchattr.Lines())
	case "-h", "--help", "help":
		fmt.Println(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s\n", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		logger.Error("aepsflow "+os.Args[1]+" failed", "err", err)
		os.Exit(1)
	}
}

func newLogger() *slog.Logger {
	// Log lines quote request text: redact.LogAttr keeps full Aadhaar numbers out of them.
	opts := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: redact.LogAttr}
	if os.Getenv("LOG_LEVEL") == "debug" {
		opts.Level = slog.LevelDebug
	}
	if os.Getenv("LOG_FORMAT") == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
