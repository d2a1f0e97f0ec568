package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

const eventsUsage = `usage: aepsflow events <show|resend> --client-ref-id REF [--provider P] [--api URL]

  show    the transaction's events to the platform and their delivery state
  resend  send every event not yet acknowledged, in order (after WEBHOOK_DEADLINE passed)

Calls the running API with the operator token in AEPSFLOW_TOKEN (or ADMIN_TOKEN), so the re-send is audited under that operator.`

// eventsCommand shows or re-sends a transaction's events through the API, so that the CLI and the
// endpoint share one path (the event's row lock, the acknowledgement check).
func eventsCommand(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 1 || (args[0] != "show" && args[0] != "resend") {
		return errors.New(eventsUsage)
	}
	fs := flag.NewFlagSet("events "+args[0], flag.ContinueOnError)
	apiURL := fs.String("api", envOr("AEPSFLOW_API", "http://127.0.0.1:8080"), "aepsflow API base URL")
	ref := fs.String("client-ref-id", "", "transaction client_ref_id")
	provider := fs.String("provider", "", "provider when the reference is ambiguous")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *ref == "" {
		return errors.New(eventsUsage)
	}
	method, u := http.MethodGet, *apiURL+"/v1/transactions/"+url.PathEscape(*ref)+"/events"
	if args[0] == "resend" {
		method, u = http.MethodPost, u+"/resend"
	}
	if *provider != "" {
		u += "?provider=" + url.QueryEscape(*provider)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+envOr("AEPSFLOW_TOKEN", os.Getenv("ADMIN_TOKEN")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", *apiURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintln(out, string(b))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("events %s: HTTP %d", args[0], resp.StatusCode)
	}
	return nil
}
