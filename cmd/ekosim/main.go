// Command ekosim plays Eko for local runs and demos of aepsflow: the AePS gateway page that calls
// our callback URL (debit-hook, eko-response), and the Transaction Inquiry API with scripted
// answers. It is a thin shell over package eko/sim.
//
//	ekosim serve        [--addr 127.0.0.1:8090] [--developer-key K] [--access-key K] ...
//	ekosim txn          [--callback URL] [--origin O] [--type 2] [--amount 100] [--customer M]
//	                    [--user-code U] [--tx-status 0] [--ref R] [--no-response] ...
//	ekosim debit-hook   (the first half of txn)
//	ekosim eko-response --ref R [--tx-status 0] [--field k=v ...]
//	ekosim script       --ref R [--steps '2x3,0'] [--sim http://127.0.0.1:8090]
//	ekosim gateway-page [--addr localhost:3004] [--access-key K] [--developer-key K]
//
// Keys default to the service's own variables (EKO_ACCESS_KEY, EKO_DEVELOPER_KEY) and, like the
// service under APP_ENV=development, to Eko's public UAT credentials when those are unset: the
// simulator must sign and verify with the same access key as the service.
//
// Exit status: 0 done; 1 error; 3 debit-hook refused; 4 debit-hook reply fails Eko's checks.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/redact"
)

const (
	exitOK       = 0
	exitError    = 1
	exitRefused  = 3
	exitMismatch = 4
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `usage: ekosim <command> [flags]

commands:
  serve         run the Transaction Inquiry API (v3 and v1) and its control API
  txn           debit-hook, verification report, then eko-response (unless --no-response)
  debit-hook    send a debit-hook and verify the reply as Eko would
  eko-response  send an eko-response
  script        script a reference's inquiry answers on a running simulator ('2x3,0')
  gateway-page  play Eko's gateway page for a real browser on localhost:3004 (aeps-gateway-lib's
                "local" environment), with the Transaction Inquiry API on the same port

Run "ekosim <command> -h" for a command's flags.
`

// run is main without the process: testable, and every error path returns an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cmd, args := args[0], args[1:]
	var err error
	code := exitOK
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr, env)
	case "txn":
		code, err = txn(ctx, "txn", args, stdout, stderr, env, true)
	case "debit-hook":
		code, err = txn(ctx, "debit-hook", args, stdout, stderr, env, false)
	case "eko-response":
		err = ekoResponse(ctx, args, stdout, stderr, env)
	case "script":
		err = script(ctx, args, stdout, stderr)
	case "gateway-page":
		err = gatewayPage(ctx, args, stderr, env)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ekosim: unknown command %q\n\n%s", cmd, usage)
		return exitError
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ekosim %s: %v\n", cmd, err)
		return exitError
	}
	return code
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ekosim "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// kvFlag collects repeated k=v flags.
type kvFlag map[string]string

func (f kvFlag) String() string { return "" }
func (f kvFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	f[k] = v
	return nil
}

// logger logs at Info with verbose, and otherwise not at all: the commands print their own
// report and errors, which a log line would only repeat.
func logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelError + 4
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, args []string, stderr io.Writer, env func(string, string) string) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	devKey := fs.String("developer-key", env("EKO_DEVELOPER_KEY", sim.DevDeveloperKey), "developer_key the API accepts (EKO_DEVELOPER_KEY)")
	accessKey := fs.String("access-key", env("EKO_ACCESS_KEY", sim.DevAccessKey), "access key secret-key must be signed with (EKO_ACCESS_KEY)")
	initiator := fs.String("initiator-id", "", "initiator_id the API insists on (default: any)")
	v3 := fs.String("v3-prefix", sim.DefaultV3Prefix, "mount point of the v3 API")
	v1 := fs.String("v1-prefix", sim.DefaultV1Prefix, "mount point of the v1 API")
	control := fs.String("control-prefix", sim.DefaultControlPrefix, "mount point of the control API")
	skew := fs.Duration("max-skew", sim.DefaultMaxSkew, "largest accepted secret-key-timestamp skew")
	scripts := kvFlag{}
	fs.Var(scripts, "script", "REF=STEPS to script at start-up (repeatable), e.g. 1234=2x3,0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := logger(stderr, true)
	inq, err := sim.NewInquiryServer(sim.InquiryConfig{
		DeveloperKey: *devKey, AccessKey: *accessKey, InitiatorID: *initiator,
		V3Prefix: *v3, V1Prefix: *v1, ControlPrefix: *control, MaxSkew: *skew, Logger: log,
	})
	if err != nil {
		return err
	}
	for ref, spec := range scripts {
		steps, err := sim.ParseSteps(spec)
		if err != nil {
			return fmt.Errorf("--script %s: %w", ref, err)
		}
		inq.Script(ref, steps...)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	log.Info("ekosim serving the Transaction Inquiry API",
		"v3", base+inq.V3Prefix(), "v1", base+inq.V1Prefix(), "control", base+*control+"/inquiry/{ref}",
		"hint", "run aepsflow with EKO_API_BASE_URL="+base+inq.V3Prefix()+" and the same EKO_DEVELOPER_KEY / EKO_ACCESS_KEY")

	srv := &http.Server{Handler: inq, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// gatewayPage serves Eko's gateway page for browsers, and the Inquiry API beside it: the page
// tells the Inquiry API each transaction's true outcome, so aepsflow's verification agrees.
func gatewayPage(ctx context.Context, args []string, stderr io.Writer, env func(string, string) string) error {
	fs := newFlags("gateway-page", stderr)
	addr := fs.String("addr", "localhost:3004", "listen address (aeps-gateway-lib's \"local\" environment is http://localhost:3004)")
	accessKey := fs.String("access-key", env("EKO_GATEWAY_ACCESS_KEY", env("EKO_ACCESS_KEY", sim.DevAccessKey)),
		"access key the launch's secret_key and the debit-hook replies are signed with (EKO_GATEWAY_ACCESS_KEY, else EKO_ACCESS_KEY)")
	devKey := fs.String("developer-key", env("EKO_DEVELOPER_KEY", sim.DevDeveloperKey), "developer_key the gateway and the Inquiry API accept (EKO_DEVELOPER_KEY)")
	apiKey := fs.String("api-access-key", env("EKO_ACCESS_KEY", sim.DevAccessKey), "access key the Inquiry API's secret-key is signed with (EKO_ACCESS_KEY)")
	skew := fs.Duration("max-skew", sim.DefaultMaxSkew, "largest accepted secret_key_timestamp skew")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := logger(stderr, true)
	inq, err := sim.NewInquiryServer(sim.InquiryConfig{DeveloperKey: *devKey, AccessKey: *apiKey, MaxSkew: *skew, Logger: log})
	if err != nil {
		return err
	}
	page := &sim.GatewayPage{AccessKey: *accessKey, DeveloperKey: *devKey, Inquiry: inq, MaxSkew: *skew, Logger: log}
	mux := http.NewServeMux()
	mux.Handle("/v2/aeps", page)
	mux.Handle("/v2/aeps/", page)
	mux.Handle("/", inq)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	log.Info("ekosim playing Eko's gateway page", "gateway", base+"/v2/aeps", "inquiry_v3", base+inq.V3Prefix(),
		"hint", "run aepsflow with GATEWAY_ENVIRONMENT=local and EKO_API_BASE_URL="+base+inq.V3Prefix())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
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

// gatewayFlags are the flags shared by txn, debit-hook and eko-response.
type gatewayFlags struct {
	callback, origin, accessKey *string
	timeout                     *time.Duration
	params, headers             kvFlag
	verbose                     *bool
}

func addGatewayFlags(fs *flag.FlagSet, env func(string, string) string) *gatewayFlags {
	g := &gatewayFlags{params: kvFlag{}, headers: kvFlag{}}
	g.callback = fs.String("callback", "http://127.0.0.1:8080/eko/aeps/callback", "the integrator's callback URL")
	g.origin = fs.String("origin", sim.UATOrigin, `gateway page origin ("" acts as a non-browser client: no CORS)`)
	g.accessKey = fs.String("access-key", env("EKO_ACCESS_KEY", sim.DevAccessKey), "access key the server signs with (EKO_ACCESS_KEY)")
	g.timeout = fs.Duration("timeout", 30*time.Second, "per-request timeout")
	g.verbose = fs.Bool("v", false, "log each request")
	fs.Var(g.params, "param", "custom top-level body parameter k=v (repeatable)")
	fs.Var(g.headers, "header", "custom header k=v (repeatable; must be granted by CORS)")
	return g
}

func (f *gatewayFlags) gateway(stderr io.Writer) *sim.Gateway {
	return &sim.Gateway{
		CallbackURL: *f.callback, Origin: *f.origin, AccessKey: *f.accessKey,
		HTTP: &http.Client{Timeout: *f.timeout}, Logger: logger(stderr, *f.verbose),
		Params: f.params, Headers: f.headers,
	}
}

func txn(ctx context.Context, name string, args []string, stdout, stderr io.Writer, env func(string, string) string, withResponse bool) (int, error) {
	fs := newFlags(name, stderr)
	gf := addGatewayFlags(fs, env)
	typ := fs.String("type", "2", "data.type: 2 cash withdrawal, 3 balance inquiry, 4 mini statement")
	amount := fs.String("amount", "100", "amount, exact text (ignored for types 3 and 4)")
	customer := fs.String("customer", "9999999999", "customer_id (mobile number)")
	userCode := fs.String("user-code", "20810200", "agent user_code")
	bank := fs.String("bank-code", "PUNB", "bank_code")
	ref := fs.String("ref", "", "Eko's client_ref_id (default: a fresh 13-digit one)")
	hashParams := fs.String("hash-params", "customer_id,amount,user_code", "request_hash_params, comma-separated")
	var txStatus *string
	var noResponse, numeric *bool
	fields := kvFlag{}
	if withResponse {
		txStatus = fs.String("tx-status", "0", "tx_status of the eko-response")
		noResponse = fs.Bool("no-response", false, "stop after the debit-hook (as when the agent closes the page)")
		numeric = fs.Bool("numeric", false, "send tx_status as a JSON number")
		fs.Var(fields, "field", "eko-response data field k=v (repeatable)")
	}
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if *typ != "2" {
		*amount = ""
	}
	g := gf.gateway(stderr)
	res, err := g.DebitHook(ctx, sim.DebitHookRequest{
		ClientRefID: *ref, Type: *typ, CustomerID: *customer, UserCode: *userCode, Amount: *amount, BankCode: *bank,
		RequestHashParams: splitList(*hashParams),
	})
	if err != nil {
		return exitError, err
	}
	printDebitHook(stdout, res, *customer)
	switch {
	case !res.Allowed:
		return exitRefused, nil
	case !res.Verified():
		fmt.Fprintln(stdout, "Eko would not go ahead: no eko-response sent")
		return exitMismatch, nil
	case !withResponse || *noResponse:
		return exitOK, nil
	}
	data := map[string]any{}
	for k, v := range fields {
		data[k] = v
	}
	g.NumericTxStatus = *numeric
	er, err := g.EkoResponse(ctx, res.ClientRefID, *txStatus, data)
	if err != nil {
		return exitError, err
	}
	printEkoResponse(stdout, res.ClientRefID, *txStatus, er)
	return exitOK, nil
}

func ekoResponse(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string, string) string) error {
	fs := newFlags("eko-response", stderr)
	gf := addGatewayFlags(fs, env)
	ref := fs.String("ref", "", "client_ref_id (required)")
	txStatus := fs.String("tx-status", "0", "tx_status")
	numeric := fs.Bool("numeric", false, "send tx_status as a JSON number")
	amount := fs.String("amount", "", "amount as Eko reports it, e.g. 100.0")
	userCode := fs.String("user-code", "", "agent user_code")
	fields := kvFlag{}
	fs.Var(fields, "field", "data field k=v (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" {
		return errors.New("--ref is required")
	}
	data := map[string]any{}
	if *amount != "" {
		data["amount"] = *amount
	}
	if *userCode != "" {
		data["user_code"] = *userCode
	}
	for k, v := range fields {
		data[k] = v
	}
	g := gf.gateway(stderr)
	g.NumericTxStatus = *numeric
	er, err := g.EkoResponse(ctx, *ref, *txStatus, data)
	if err != nil {
		return err
	}
	printEkoResponse(stdout, *ref, *txStatus, er)
	return nil
}

func script(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("script", stderr)
	simURL := fs.String("sim", "http://127.0.0.1:8090", "the simulator's URL")
	control := fs.String("control-prefix", sim.DefaultControlPrefix, "its control API's mount point")
	ref := fs.String("ref", "", "client_ref_id (required)")
	spec := fs.String("steps", "", "answers, e.g. '2x3,0' (pending 3 times, then success); empty: show the current script")
	amount := fs.String("amount", "", "the transaction's amount, reported in every answer (aepsflow holds a success to the amount it allowed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" {
		return errors.New("--ref is required")
	}
	controlURL := strings.TrimRight(*simURL, "/") + "/" + strings.Trim(*control, "/")
	var st sim.RefState
	var err error
	if *spec == "" {
		st, err = sim.ShowRemote(ctx, nil, controlURL, *ref)
	} else {
		steps, perr := sim.ParseSteps(*spec)
		if perr != nil {
			return perr
		}
		st, err = sim.ScriptRemoteAmount(ctx, nil, controlURL, *ref, *amount, steps)
	}
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(st, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func check(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISMATCH"
}

func printDebitHook(w io.Writer, r sim.DebitHookResult, customer string) {
	fmt.Fprintf(w, "debit-hook client_ref_id=%s customer=%s -> HTTP %d\n", r.SentRef, redact.Mobile(customer), r.HTTPStatus)
	if !r.Allowed {
		fmt.Fprintf(w, "  allowed:       no\n  message:       %s\n", r.Message)
		if r.Mismatch != "" {
			fmt.Fprintf(w, "  problems:      %s\n", r.Mismatch)
		}
		return
	}
	fmt.Fprintf(w, "  allowed:       yes\n")
	fmt.Fprintf(w, "  secret_key:    %s\n", check(r.SecretKeyOK))
	fmt.Fprintf(w, "  request_hash:  %s\n", check(r.HashOK))
	fmt.Fprintf(w, "  timestamp:     %s (%s)\n", check(r.TimestampOK), r.SecretKeyTimestamp)
	if r.OwnRef {
		fmt.Fprintf(w, "  client_ref_id: %s (the integrator's own; Eko uses it from now on)\n", r.ClientRefID)
	} else {
		fmt.Fprintf(w, "  client_ref_id: %s\n", r.ClientRefID)
	}
	if r.Mismatch != "" {
		fmt.Fprintf(w, "  problems:      %s\n", r.Mismatch)
	}
	if r.Verified() {
		fmt.Fprintln(w, "  verdict:       VERIFIED: Eko would go ahead")
	} else {
		fmt.Fprintln(w, "  verdict:       REJECTED: Eko would stop the transaction")
	}
}

func printEkoResponse(w io.Writer, ref, txStatus string, r sim.EkoResponseResult) {
	fmt.Fprintf(w, "eko-response client_ref_id=%s tx_status=%s -> HTTP %d status=%s", ref, txStatus, r.HTTPStatus, r.Status)
	var extra []string
	if r.Outcome != "" {
		extra = append(extra, "outcome="+r.Outcome)
	}
	if r.Message != "" {
		extra = append(extra, fmt.Sprintf("message=%q", r.Message))
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		fmt.Fprint(w, " "+strings.Join(extra, " "))
	}
	fmt.Fprintln(w)
}
