// Command loadgen is aepsflow's load benchmark (`make bench`, scripts/bench.sh starts the stack).
//
//	loadgen run          the benchmark against a running stack: floors, load, Temporal outage, loss check
//	loadgen inquiry-sim  Eko's Transaction Inquiry API (ekosim) answering success for every reference
//
// `loadgen run` measures, against the same servers and at the same concurrency:
//
//  1. floors: a bare PostgreSQL INSERT of a transactions-shaped row per request, and a bare Temporal
//     SignalWithStart of a trivial workflow (served by a worker inside loadgen) with the rate at
//     which such workflows are started and completed;
//  2. debit-hooks for N transactions (each reply's secret_key and request_hash verified with an
//     HMAC implementation of its own, not package eko/sign), then their eko-responses with a
//     tx_status mix, with partner status callbacks (each delivered twice) alongside;
//  3. the time from each eko-response to the transaction's final state in PostgreSQL;
//  4. debit-hooks and eko-responses while the Temporal server is stopped, then its restart;
//  5. a loss check: every allowed transaction has exactly one workflow (listed from Temporal's
//     visibility) and one final state in PostgreSQL, and the outbox is empty.
//
// It prints a table with ratios to the floors and the targets, writes JSON, Markdown and a latency
// histogram PNG, and exits non-zero when a transaction was lost or duplicated or a request failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: loadgen <command> [flags]

commands:
  run          run the benchmark against a running stack (scripts/bench.sh starts one)
  inquiry-sim  serve Eko's Transaction Inquiry API answering success for every reference

Run "loadgen <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = runBench(ctx, rest, stdout, stderr)
	case "inquiry-sim":
		err = inquirySim(ctx, rest, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "loadgen: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "loadgen %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
