package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aepsflow/aepsflow/api"
	"github.com/aepsflow/aepsflow/db"
)

func migrate(ctx context.Context, logger *slog.Logger) error {
	store, err := openStore(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer store.Close()
	return db.Migrate(ctx, store.DB().DB, logger)
}

const agentUsage = `usage: aepsflow agent <register|suspend|activate|limits|show> --user-code CODE [flags]

  register  --user-code C [--name N] [--count-limit N] [--amount-limit RUPEES]   (idempotent)
  suspend   --user-code C
  activate  --user-code C
  limits    --user-code C [--count-limit N] [--amount-limit RUPEES] [--clear]
  show      --user-code C

Needs DATABASE_URL. Limits are per day, for cash withdrawals; unset limits use the configured
defaults (AGENT_DAILY_CASH_COUNT_LIMIT, AGENT_DAILY_CASH_AMOUNT_LIMIT).`

// agentCommand manages agents directly in PostgreSQL (the admin API does the same over HTTP).
func agentCommand(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 1 {
		return errors.New(agentUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("agent "+sub, flag.ContinueOnError)
	userCode := fs.String("user-code", "", "agent user_code")
	name := fs.String("name", "", "agent name")
	count := fs.Int("count-limit", -1, "daily cash withdrawal count limit")
	amount := fs.String("amount-limit", "", "daily cash withdrawal amount limit in rupees")
	clear := fs.Bool("clear", false, "restore the default limits")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	store, err := openStore(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer store.Close()
	var a db.Agent
	if sub == "show" {
		if a, err = store.GetAgent(ctx, *userCode); err != nil {
			return err
		}
		return printJSON(out, a)
	}
	var namePtr, statusPtr, amountPtr *string
	var countPtr *int
	if *name != "" {
		namePtr = name
	}
	if *count >= 0 {
		countPtr = count
	}
	if *amount != "" {
		amountPtr = amount
	}
	switch sub {
	case "register", "limits":
	case "suspend", "activate":
		s := map[string]string{"suspend": "suspended", "activate": "active"}[sub]
		statusPtr = &s
	default:
		return fmt.Errorf("unknown agent command %q\n%s", sub, agentUsage)
	}
	u, err := api.AgentUpdate(*userCode, namePtr, statusPtr, countPtr, amountPtr, *clear)
	if err != nil {
		return err
	}
	if sub != "register" {
		if _, err := store.GetAgent(ctx, *userCode); err != nil {
			return fmt.Errorf("agent %s: %w (register it first)", *userCode, err)
		}
	}
	// The command works on the database directly, with no operator token: its audit events name
	// the operator "cli" (whoever holds DATABASE_URL).
	if a, err = store.UpsertAgentAudited(ctx, u, "cli"); err != nil {
		return err
	}
	return printJSON(out, a)
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// resolveCommand asks the running API to resolve a transaction, so that the CLI and the HTTP
// endpoint share one path (validation, outbox, workflow signal).
func resolveCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("resolve", flag.ContinueOnError)
	apiURL := fs.String("api", envOr("AEPSFLOW_API", "http://127.0.0.1:8080"), "aepsflow API base URL")
	ref := fs.String("client-ref-id", "", "transaction client_ref_id")
	provider := fs.String("provider", "", "provider (eko or partner:<id>) when the reference is ambiguous")
	state := fs.String("state", "", "success or failed")
	reason := fs.String("reason", "", "why")
	by := fs.String("by", "", "deprecated: who resolves is the operator the token names; if given it must be that name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" || *state == "" || *reason == "" {
		return errors.New("usage: aepsflow resolve --client-ref-id REF --state success|failed --reason TEXT [--api URL]\n(your operator token from AEPSFLOW_TOKEN, else ADMIN_TOKEN; the resolution is recorded under its operator's name)")
	}
	fields := map[string]string{"state": *state, "reason": *reason}
	if *by != "" {
		fields["by"] = *by
	}
	body, _ := json.Marshal(fields)
	u := *apiURL + "/v1/transactions/" + url.PathEscape(*ref) + "/resolve"
	if *provider != "" {
		u += "?provider=" + url.QueryEscape(*provider)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+envOr("AEPSFLOW_TOKEN", os.Getenv("ADMIN_TOKEN")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", *apiURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintln(out, string(b))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("resolve refused: HTTP %d", resp.StatusCode)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
