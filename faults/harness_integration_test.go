//go:build faults && linux

package faults

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/workflows"
)

// suite holds what TestMain prepares once: the binary under test and the private cluster.
var suite struct {
	bin     string // aepsflow binary built from this checkout
	pg      *pgCluster
	pgErr   error
	tempDir string
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	suite.tempDir, err = os.MkdirTemp("", "aepsflow-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer os.RemoveAll(suite.tempDir)
	// Built once, like a deployment: the tests run the shipped binary, not the packages.
	suite.bin = filepath.Join(suite.tempDir, "aepsflow")
	build := exec.Command(goTool(), "build", "-o", suite.bin, "github.com/aepsflow/aepsflow/cmd/aepsflow")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: go build ./cmd/aepsflow:", err)
		return 1
	}
	// A missing PostgreSQL is reported by each test (skip by hand, fail under CI=true).
	suite.pg, suite.pgErr = newPGCluster()
	if suite.pg != nil {
		defer suite.pg.Destroy()
	}
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// requirePG returns the private cluster, started.
func requirePG(t *testing.T) *pgCluster {
	t.Helper()
	if suite.pg == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("private PostgreSQL cluster: %v", suite.pgErr)
		}
		t.Skipf("private PostgreSQL cluster: %v", suite.pgErr)
	}
	if err := suite.pg.Start(); err != nil {
		t.Fatalf("start private PostgreSQL: %v", err)
	}
	return suite.pg
}

const (
	partnerID     = "faults"
	partnerSecret = "faults-secret-0123456789"
	agentCode     = "FA00001"
)

// stack is one test's system: its own database on the private cluster, its own Temporal dev
// server (state in a file, so it survives a restart), the Eko Inquiry API simulator, and the
// aepsflow api and worker as subprocesses.
type stack struct {
	t        *testing.T
	pg       *pgCluster
	dbURL    string
	store    *db.Store
	sqlDB    *sql.DB
	temporal *testenv.DevServer
	tc       client.Client
	sim      *sim.InquiryServer
	gw       *sim.Gateway
	hc       *http.Client
	apiURL   string
	// workerURL is the worker process's probe address (WORKER_HTTP_ADDR).
	workerURL string
	env       []string
	logDir    string

	mu     sync.Mutex
	api    *proc
	worker *proc
}

type stackOptions struct {
	env map[string]string // extra configuration
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	pg := requirePG(t)
	s := &stack{t: t, pg: pg, logDir: t.TempDir(), hc: &http.Client{Timeout: 15 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	name := "faults_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	var err error
	if s.dbURL, err = pg.CreateDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	if s.store, err = db.Open(ctx, s.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.store.Close() })
	s.sqlDB = s.store.DB().DB
	if err := db.Migrate(ctx, s.sqlDB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	count, amount := 100000, decimal.NewFromInt(1_000_000_000)
	if _, err := s.store.UpsertAgent(ctx, db.AgentUpdate{UserCode: agentCode, CountLimit: &count, AmountLimit: &amount}); err != nil {
		t.Fatalf("register agent: %v", err)
	}

	s.temporal = testenv.StartDevServer(t, filepath.Join(t.TempDir(), "temporal.db"))
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if s.tc, err = client.NewLazyClient(client.Options{HostPort: s.temporal.Address(), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)

	if s.sim, err = sim.NewInquiryServer(sim.InquiryConfig{
		DeveloperKey: sim.DevDeveloperKey, AccessKey: sim.DevAccessKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}); err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(s.sim)
	t.Cleanup(simSrv.Close)

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s.apiURL = "http://127.0.0.1:" + strconv.Itoa(port)
	wport, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s.workerURL = "http://127.0.0.1:" + strconv.Itoa(wport)
	env := map[string]string{
		"APP_ENV": "development", "DATABASE_URL": s.dbURL, "TEMPORAL_ADDRESS": s.temporal.Address(),
		"TEMPORAL_TASK_QUEUE": "aepsflow-faults", "HTTP_ADDR": "127.0.0.1:" + strconv.Itoa(port),
		"WORKER_HTTP_ADDR":      "127.0.0.1:" + strconv.Itoa(wport),
		"EKO_API_BASE_URL":      simSrv.URL + s.sim.V3Prefix(),
		"PARTNER_CLIENTS":       partnerID + ":" + partnerSecret,
		"OUTBOX_SWEEP_INTERVAL": "500ms", "EKO_RESPONSE_TIMEOUT": "10m",
		"INQUIRY_INITIAL_BACKOFF": "1s", "INQUIRY_MAX_BACKOFF": "2s",
		"SHUTDOWN_TIMEOUT": "5s",
	}
	for k, v := range opts.env {
		env[k] = v
	}
	// Only what the configuration names, plus PATH: nothing of the test's own environment leaks in.
	s.env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	s.gw = &sim.Gateway{
		CallbackURL: s.apiURL + "/eko/aeps/callback", AccessKey: sim.DevAccessKey,
		HTTP: &http.Client{Timeout: 15 * time.Second}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"api", "worker"} {
				t.Logf("%s log (last lines):\n%s", name, tailFile(filepath.Join(s.logDir, name+".log"), 25))
			}
		}
	})
	return s
}

// startAPI starts `aepsflow api` and waits until /readyz answers 200.
func (s *stack) startAPI() {
	s.t.Helper()
	p := startProc(s.t, "api", s.env, filepath.Join(s.logDir, "api.log"))
	s.mu.Lock()
	s.api = p
	s.mu.Unlock()
	testenv.WaitFor(s.t, 60*time.Second, "aepsflow api ready", func() (bool, error) {
		if p.exited() {
			s.t.Fatalf("aepsflow api exited during start-up:\n%s", tailFile(filepath.Join(s.logDir, "api.log"), 20))
		}
		code, _, err := s.get("/readyz")
		return code == http.StatusOK, err
	})
}

// startWorker starts `aepsflow worker` and waits until its own /readyz says it polls its task
// queue.
func (s *stack) startWorker() {
	s.t.Helper()
	logFile := filepath.Join(s.logDir, "worker.log")
	p := startProc(s.t, "worker", s.env, logFile)
	s.mu.Lock()
	s.worker = p
	s.mu.Unlock()
	testenv.WaitFor(s.t, 60*time.Second, "aepsflow worker ready (its /readyz)", func() (bool, error) {
		if p.exited() {
			s.t.Fatalf("aepsflow worker exited during start-up:\n%s", tailFile(logFile, 20))
		}
		code, body, err := s.getWorker("/readyz")
		return code == http.StatusOK, fmt.Errorf("%d %s %v", code, body, err)
	})
}

// getWorker reads one of the worker process's probe endpoints.
func (s *stack) getWorker(path string) (int, []byte, error) {
	resp, err := s.hc.Get(s.workerURL + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (s *stack) get(path string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, s.apiURL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	// The development admin token: /readyz names what is down only to the admin.
	req.Header.Set("Authorization", "Bearer dev-admin-token")
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// debitHook sends a cash withdrawal's debit-hook for ref (scripting the inquiry answer first
// when inquiry is not empty).
func (s *stack) debitHook(ctx context.Context, ref string) (sim.DebitHookResult, time.Duration, error) {
	start := time.Now()
	s.sim.SetAmount(ref, "500.00") // Eko's inquiry reports the amount of the withdrawal made
	res, err := s.gw.DebitHook(ctx, sim.DebitHookRequest{
		ClientRefID: ref, Type: "2", CustomerID: "9876543210", UserCode: agentCode, Amount: "500",
	})
	return res, time.Since(start), err
}

func (s *stack) ekoResponse(ctx context.Context, ref, txStatus string) (sim.EkoResponseResult, error) {
	return s.gw.EkoResponse(ctx, ref, txStatus, nil)
}

// partnerCallback delivers a partner status callback; it returns the HTTP status and the reply's
// status field.
func (s *stack) partnerCallback(ctx context.Context, ref, txnID, status string) (int, string, error) {
	now := time.Now().In(time.FixedZone("IST", 5*3600+1800)).Format("2006-01-02 15:04:05")
	body, _ := json.Marshal(map[string]any{
		"statusDesc": "Transaction Successful", "createdDate": now, "updatedDate": now, "productCode": "AEPS",
		"txnType": "AEPS_CASH_WITHDRAWAL", "txnAmount": "2000", "txnDateTime": now,
		"customeridentIfication": "xxxx-xxxx-5604", "status": status, "rrn": "230612077853",
		"txnId": json.Number(txnID), "username": "faultsagent", "ClientRefID": ref, "param_b": "", "param_c": "",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+"/partner/aeps/callback", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("client_id", partnerID)
	req.Header.Set("client_secret", partnerSecret)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		return resp.StatusCode, "", fmt.Errorf("partner reply %q: %w", raw, err)
	}
	return resp.StatusCode, r.Status, nil
}

// state returns a transaction's state ("" when there is no row).
func (s *stack) state(ctx context.Context, provider, ref string) (string, error) {
	var st string
	err := s.sqlDB.QueryRowContext(ctx, `SELECT state FROM transactions WHERE provider = $1 AND client_ref_id = $2`, provider, ref).Scan(&st)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return st, err
}

// waitState waits until the transaction is in state want.
func (s *stack) waitState(provider, ref, want string, timeout time.Duration) {
	s.t.Helper()
	testenv.WaitFor(s.t, timeout, fmt.Sprintf("transaction %s/%s in state %s", provider, ref, want), func() (bool, error) {
		st, err := s.state(context.Background(), provider, ref)
		if err != nil {
			return false, err
		}
		return st == want, fmt.Errorf("state is %q", st)
	})
}

// queryInt runs a query returning one integer.
func (s *stack) queryInt(q string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.sqlDB.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// workflowRuns counts the executions of each Transaction workflow Temporal lists.
func (s *stack) workflowRuns(ctx context.Context) (map[string]int, map[string]string, error) {
	runs, status := map[string]int{}, map[string]string{}
	var token []byte
	for {
		resp, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: 1000, NextPageToken: token, Query: "WorkflowType = '" + workflows.TransactionWorkflowName + "'",
		})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			runs[id]++
			status[id] = e.GetStatus().String()
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return runs, status, nil
		}
	}
}

// checkOneWorkflowEach checks that every transaction row has exactly one workflow execution and
// no other execution exists; with completed, also that each has completed.
func (s *stack) checkOneWorkflowEach(completed bool) {
	s.t.Helper()
	ids := transactionWorkflowIDs(s.t, s.sqlDB)
	want := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED.String()
	var problems []string
	// Visibility is written asynchronously: wait until it lists every transaction.
	testenv.WaitFor(s.t, 60*time.Second, fmt.Sprintf("one workflow for each of %d transactions", len(ids)), func() (bool, error) {
		runs, status, err := s.workflowRuns(context.Background())
		if err != nil {
			return false, err
		}
		problems = problems[:0]
		for id := range ids {
			switch {
			case runs[id] == 0:
				problems = append(problems, "no workflow "+id)
			case runs[id] > 1:
				problems = append(problems, fmt.Sprintf("%d executions of %s", runs[id], id))
			case completed && status[id] != want:
				problems = append(problems, fmt.Sprintf("%s is %s", id, status[id]))
			}
		}
		for id := range runs {
			if !ids[id] {
				problems = append(problems, "workflow without transaction "+id)
			}
		}
		if len(problems) > 0 {
			return false, fmt.Errorf("%d problems, e.g. %s", len(problems), problems[0])
		}
		return true, nil
	})
}

// proc is an aepsflow subprocess that a test can SIGKILL.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t *testing.T, subcommand string, env []string, logPath string) *proc {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logFile, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), subcommand)
	cmd := exec.Command(suite.bin, subcommand)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Killed with the test binary if it dies without cleaning up (a -timeout panic).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start aepsflow %s: %v", subcommand, err)
	}
	p := &proc{t: t, name: subcommand, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (a crash: no drain, no cleanup) and waits for the exit.
func (p *proc) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("aepsflow %s did not die on SIGKILL", p.name)
	}
}

// stop sends SIGTERM, then SIGKILL after a grace period.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func tailFile(path string, n int) string {
	lines := strings.Split(strings.TrimRight(readFile(path), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ref returns a fresh 13-digit client_ref_id.
func ref() string { return sim.NewClientRefID() }

// history summarises a workflow's event history: the timers started (their durations), how many
// fired, and the last event.
type history struct {
	timers []time.Duration
	fired  int
	last   enumspb.EventType
}

// backoffTimers counts the timers of duration d (the inquiry backoff, as configured).
func (h history) backoffTimers(d time.Duration) int {
	n := 0
	for _, t := range h.timers {
		if t == d {
			n++
		}
	}
	return n
}

func (s *stack) history(ctx context.Context, workflowID string) (history, error) {
	var h history
	it := s.tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, err
		}
		h.last = ev.GetEventType()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			h.timers = append(h.timers, ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			h.fired++
		}
	}
	return h, nil
}

// transactionWorkflowIDs returns the workflow ID of every transaction row, for the checks that
// each has exactly one workflow execution.
func transactionWorkflowIDs(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	rows, err := db.Query(`SELECT workflow_id FROM transactions`)
	if err != nil {
		t.Fatalf("list the transactions' workflow IDs: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("read a workflow ID: %v", err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list the transactions' workflow IDs: %v", err)
	}
	return ids
}
