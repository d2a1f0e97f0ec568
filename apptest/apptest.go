// Package apptest runs the whole service in-process for integration tests: a fresh PostgreSQL
// database, the HTTP API on a loopback port, the outbox relay and a worker on a task queue of its
// own, all against a real Temporal dev server. It assembles them through package app, as the
// binary does.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/testenv"
)

// Options adjust one test's system.
type Options struct {
	// Env overrides configuration variables (on top of test defaults).
	Env map[string]string
	// TemporalAddress defaults to the shared test dev server.
	TemporalAddress string
	// Inquirer replaces the Transaction Inquiry client (default: built from the configuration).
	Inquirer activities.Inquirer
	NoWorker bool
	NoRelay  bool
}

// App is a running system.
type App struct {
	URL         string
	Config      config.Config
	Store       *db.Store
	Temporal    client.Client
	DatabaseURL string
	Logger      *slog.Logger

	t       testing.TB
	opts    Options
	workerW worker.Worker
	cancel  context.CancelFunc
	logs    *testenv.SyncBuffer
}

// The test configuration's operator tokens: AdminToken is ADMIN_TOKEN (the operator "admin"),
// AshaToken and RaviToken are OPERATOR_TOKENS' "asha" and "ravi".
const (
	AdminToken = "test-admin-token-0123456789"
	AshaToken  = "test-asha-token-0123456789"
	RaviToken  = "test-ravi-token-0123456789"
)

// Start brings the system up; t.Cleanup takes it down.
func Start(t testing.TB, opts Options) *App {
	t.Helper()
	dbURL := testenv.Postgres(t)
	addr := opts.TemporalAddress
	if addr == "" {
		addr = testenv.TemporalAddress(t)
	}
	env := map[string]string{
		"APP_ENV": "development", "DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": addr,
		"TEMPORAL_TASK_QUEUE": "aepsflow-test-" + randomDigits(t, 12), "ADMIN_TOKEN": AdminToken,
		"OPERATOR_TOKENS":       "asha:" + AshaToken + ",ravi:" + RaviToken,
		"OUTBOX_SWEEP_INTERVAL": "200ms", "EKO_API_BASE_URL": "http://127.0.0.1:1/unused",
		// Starts go out at once, so that tests see each step's entry delivered in turn; the
		// deferral (and a report superseding the start) has tests of its own that set it.
		"OUTBOX_START_DEFER": "0",
	}
	// The API's address is known before its configuration, which names its own callback URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() }) // the server closes it too; this covers an early failure
	env["GATEWAY_CALLBACK_URL"] = "http://" + ln.Addr().String() + "/eko/aeps/callback"
	for k, v := range opts.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		ln.Close()
		t.Fatalf("test configuration: %v", err)
	}
	// The system's logs; a failed test prints them. (t.Log cannot be used: background
	// goroutines may log after the test has returned.)
	logs := &testenv.SyncBuffer{Max: 4 << 20}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: redact.LogAttr})) // as the binary's
	if os.Getenv("APPTEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{Config: cfg, DatabaseURL: dbURL, Logger: logger, t: t, opts: opts, cancel: cancel, logs: logs}
	t.Cleanup(a.stop)

	a.Store, err = db.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	sqlDB, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("open db for migrations: %v", err)
	}
	defer sqlDB.Close()
	if err := db.Migrate(ctx, sqlDB, logger); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	a.Temporal, err = client.NewLazyClient(client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(logger.With("component", "temporal"))})
	if err != nil {
		t.Fatalf("temporal client: %v", err)
	}
	srv := httptest.NewUnstartedServer(app.NewAPI(cfg, a.Store, a.Temporal, logger, app.NewMetrics(a.Store)).Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	if !opts.NoRelay {
		relay := app.NewRelay(cfg, a.Store, a.Temporal, logger, nil)
		go func() { _ = relay.Run(ctx) }()
	}
	if !opts.NoWorker {
		a.StartWorker()
	}
	return a
}

// StartWorker starts a worker (again, after StopWorker).
func (a *App) StartWorker() {
	a.t.Helper()
	inq := a.opts.Inquirer
	if inq == nil {
		var err error
		if inq, err = app.NewInquirer(a.Config); err != nil {
			a.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := app.NewWorker(ctx, a.Config, a.Store, a.Temporal, inq)
	if err != nil {
		a.t.Fatalf("worker: %v", err)
	}
	if err := w.Start(); err != nil {
		a.t.Fatalf("start worker: %v", err)
	}
	a.workerW = w
}

// StopWorker stops the worker, as a crash or deploy would.
func (a *App) StopWorker() {
	if a.workerW != nil {
		a.workerW.Stop()
		a.workerW = nil
	}
}

func (a *App) stop() {
	if a.t.Failed() {
		a.t.Logf("system logs:\n%s", a.logs.String())
	}
	a.StopWorker()
	a.cancel()
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
}

// Logs returns what the system has logged so far (API, relay, worker and Temporal client), and
// whether all of it was kept (past the buffer's bound further lines are dropped).
func (a *App) Logs() (string, bool) {
	s := a.logs.String()
	return s, len(s) <= a.logs.Max
}

// RegisterAgent registers an active agent with optional limits.
func (a *App) RegisterAgent(userCode string, countLimit *int, amountLimit *string) {
	a.t.Helper()
	u := db.AgentUpdate{UserCode: userCode, CountLimit: countLimit}
	if amountLimit != nil {
		d, err := decimalFromString(*amountLimit)
		if err != nil {
			a.t.Fatal(err)
		}
		u.AmountLimit = &d
	}
	if _, err := a.Store.UpsertAgent(context.Background(), u); err != nil {
		a.t.Fatalf("register agent: %v", err)
	}
}

// Ref returns a client_ref_id unique across tests sharing one Temporal server (13 digits, like
// Eko's).
func Ref(t testing.TB) string { return randomDigits(t, 13) }

func randomDigits(t testing.TB, n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = byte('0' + d.Int64())
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func decimalFromString(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("amount limit %q: %w", s, err)
	}
	return d, nil
}

// Callback posts an Eko callback to the API and fails the test unless it is answered 200 with a
// reply that contains want. When it returns, what the API stored (its outbox entry with it) is
// committed.
func (a *App) Callback(t testing.TB, body, want string) {
	t.Helper()
	resp, err := http.Post(a.URL+"/eko/aeps/callback", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		t.Fatalf("callback %s: %d %s, want %s", body, resp.StatusCode, b, want)
	}
}

// DebitHook sends a cash withdrawal of Rs 100 under ref for agent and requires it allowed.
func (a *App) DebitHook(t testing.TB, ref, agent string) {
	t.Helper()
	a.debitHook(t, ref, agent, "100")
}

// debitHook sends a cash withdrawal's debit-hook, as Eko's gateway page does, and requires it
// allowed.
func (a *App) debitHook(t testing.TB, ref, agent, amount string) {
	t.Helper()
	a.Callback(t, fmt.Sprintf(`{"action":"debit-hook","detail":{"client_ref_id":%q,`+
		`"request_hash_params":["customer_id","amount","user_code"],`+
		`"data":{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":%q,"amount":%q}}}`, ref, agent, amount),
		`"allow":true`)
}
