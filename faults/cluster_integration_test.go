//go:build faults && linux

package faults

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// The cluster topology (TOPOLOGY=cluster make test-faults): the real Temporal server on
// PostgreSQL, 2 API replicas and 2 workers, started by scripts/cluster.sh in a directory and on
// databases of this run's own; the faults are scripts/cluster.sh kill/start of one process.
type cluster struct {
	t       *testing.T
	root    string
	env     []string // scripts/cluster.sh's environment
	dir     string
	db      *sql.DB
	tc      client.Client
	sim     *sim.InquiryServer
	apiURLs []string
	// workerURLs are the workers' probe and metrics addresses.
	workerURLs []string
	gateways   []*sim.Gateway
}

func requireClusterTopology(t *testing.T) {
	t.Helper()
	if os.Getenv("TOPOLOGY") != "cluster" {
		t.Skip("cluster faults run with TOPOLOGY=cluster (TOPOLOGY=cluster make test-faults)")
	}
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, root: root, dir: filepath.Join(t.TempDir(), "cluster")}
	if c.sim, err = sim.NewInquiryServer(sim.InquiryConfig{
		DeveloperKey: sim.DevDeveloperKey, AccessKey: sim.DevAccessKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}); err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(c.sim)
	t.Cleanup(simSrv.Close)

	base := 19800
	if v := os.Getenv("FAULTS_CLUSTER_PORT_BASE"); v != "" {
		if base, err = strconv.Atoi(v); err != nil {
			t.Fatalf("FAULTS_CLUSTER_PORT_BASE: %v", err)
		}
	}
	dbName := fmt.Sprintf("faults_cluster_%d", time.Now().UnixNano()%1e9)
	c.env = append(os.Environ(), "CLUSTER_DIR="+c.dir, "CLUSTER_PORT_BASE="+strconv.Itoa(base), "CLUSTER_DB="+dbName, "CLUSTER_UI=off")
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	appEnv := strings.Join([]string{
		"APP_ENV=development", "EKO_API_BASE_URL=" + simSrv.URL + c.sim.V3Prefix(),
		"OUTBOX_SWEEP_INTERVAL=500ms", "EKO_RESPONSE_TIMEOUT=10m", "INQUIRY_INITIAL_BACKOFF=1s", "INQUIRY_MAX_BACKOFF=2s",
		"SHUTDOWN_TIMEOUT=5s", "RETENTION_ENABLED=false", "LOG_LEVEL=info",
		// The defaults, pinned: the faults below expect the light workflow and deferred starts.
		"WORKFLOW_LIGHT=true", "OUTBOX_START_DEFER=10s",
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(c.dir, "aepsflow.env"), []byte(appEnv), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"temporal", "api-1", "api-2", "worker-1", "worker-2"} {
				t.Logf("%s log (last lines):\n%s", n, tailFile(filepath.Join(c.dir, "logs", n+".log"), 15))
			}
		}
		c.script("destroy")
	})
	start := time.Now()
	if out, err := c.script("up"); err != nil {
		t.Fatalf("scripts/cluster.sh up: %v\n%s", err, out)
	}
	t.Logf("cluster up in %s", time.Since(start).Round(time.Second))

	vars := map[string]string{}
	out, _ := c.script("env")
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	c.apiURLs = strings.Split(vars["CLUSTER_API_URLS"], ",")
	c.workerURLs = strings.Split(vars["CLUSTER_WORKER_URLS"], ",")
	pgURL, err := exec.Command(filepath.Join(root, "scripts/pg.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/pg.sh: %v", err)
	}
	dbURL := strings.Replace(strings.TrimSpace(string(pgURL)), "/postgres?", "/"+dbName+"?", 1)
	if c.db, err = sql.Open("postgres", dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.db.Close() })
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if c.tc, err = client.NewLazyClient(client.Options{HostPort: vars["CLUSTER_TEMPORAL_ADDRESS"], Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.tc.Close)
	if _, err := c.db.Exec(`INSERT INTO agents (user_code, daily_cash_count_limit, daily_cash_amount_limit) VALUES ($1, 100000, 1000000000)`, agentCode); err != nil {
		t.Fatal(err)
	}
	for _, u := range c.apiURLs {
		c.gateways = append(c.gateways, &sim.Gateway{CallbackURL: u + "/eko/aeps/callback", AccessKey: sim.DevAccessKey,
			HTTP: &http.Client{Timeout: 15 * time.Second}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}
	return c
}

func (c *cluster) script(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.root, "scripts/cluster.sh"), args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cluster) must(args ...string) {
	c.t.Helper()
	if out, err := c.script(args...); err != nil {
		c.t.Fatalf("scripts/cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (c *cluster) count(q string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db.QueryRow(q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// load sends cash withdrawals (debit-hook, then eko-response tx_status 0, each verified by an
// inquiry the simulator confirms) at about 5 a second, each to the next API replica in turn. A
// replica that cannot be reached is skipped for the next one, as a load balancer does with a
// replica whose probe fails.
type load struct {
	c       *cluster
	mu      sync.Mutex
	allowed []string
	errs    []string
	stop    atomic.Bool
	wg      sync.WaitGroup
	n       atomic.Int64
}

func (c *cluster) startLoad() *load {
	l := &load{c: c}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		var inflight sync.WaitGroup
		for !l.stop.Load() {
			<-tick.C
			inflight.Add(1)
			go func() { defer inflight.Done(); l.one() }()
		}
		inflight.Wait()
	}()
	return l
}

func (l *load) one() {
	ctx := context.Background()
	r := ref()
	l.c.sim.Script(r, sim.Step{TxStatus: "0"})
	l.c.sim.SetAmount(r, "500.00") // Eko's inquiry reports the amount of the withdrawal made
	first := int(l.n.Add(1))
	var lastErr error
	for i := 0; i < 2*len(l.c.gateways); i++ {
		gw := l.c.gateways[(first+i)%len(l.c.gateways)]
		res, err := gw.DebitHook(ctx, sim.DebitHookRequest{ClientRefID: r, Type: "2", CustomerID: "9876543210", UserCode: agentCode, Amount: "500"})
		if err != nil || res.HTTPStatus >= 500 {
			lastErr = fmt.Errorf("debit-hook via %s: %v (HTTP %d)", gw.CallbackURL, err, res.HTTPStatus)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if !res.Verified() {
			l.fail(fmt.Sprintf("%s: debit-hook not allowed: HTTP %d %s %s", r, res.HTTPStatus, res.Message, res.Mismatch))
			return
		}
		for j := 0; j < 2*len(l.c.gateways); j++ {
			gw := l.c.gateways[(first+i+j)%len(l.c.gateways)]
			er, err := gw.EkoResponse(ctx, r, "0", nil)
			if err == nil && er.HTTPStatus == http.StatusOK {
				l.mu.Lock()
				l.allowed = append(l.allowed, r)
				l.mu.Unlock()
				return
			}
			lastErr = fmt.Errorf("eko-response via %s: %v (HTTP %d)", gw.CallbackURL, err, er.HTTPStatus)
			time.Sleep(200 * time.Millisecond)
		}
		break
	}
	l.fail(fmt.Sprintf("%s: %v", r, lastErr))
}

func (l *load) fail(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, s)
}

func (l *load) sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.allowed)
}

// finish stops the load and checks that nothing was lost or duplicated: every transaction a
// replica confirmed and recorded ends in success, once; one workflow execution for each, and no
// other; no eko-response recorded twice.
func (l *load) finish(t *testing.T) {
	t.Helper()
	l.stop.Store(true)
	l.wg.Wait()
	if len(l.errs) > 0 {
		t.Errorf("%d transactions the load could not complete through any replica, e.g. %s", len(l.errs), l.errs[0])
	}
	c := l.c
	want := map[string]bool{}
	for _, r := range l.allowed {
		want[r] = true
	}
	testenv.WaitFor(t, 3*time.Minute, fmt.Sprintf("all %d confirmed transactions final", len(want)), func() (bool, error) {
		n := c.count(`SELECT count(*) FROM transactions WHERE client_ref_id = ANY($1) AND state = 'success'`, pqArray(l.allowed))
		return n == len(want), fmt.Errorf("%d of %d in success", n, len(want))
	})
	if n := c.count(`SELECT count(*) FROM (SELECT client_ref_id FROM eko_responses GROUP BY client_ref_id, content_hash HAVING count(*) > 1) d`); n != 0 {
		t.Errorf("%d eko-responses recorded twice", n)
	}
	if n := c.count(`SELECT count(*) FROM (SELECT transaction_id FROM tx_events WHERE to_state = 'success' GROUP BY transaction_id HAVING count(*) > 1) d`); n != 0 {
		t.Errorf("%d transactions reached success twice", n)
	}
	// A relay marks an entry only after Temporal has answered, which can be after the state is final.
	testenv.WaitFor(t, 30*time.Second, "every outbox entry delivered", func() (bool, error) {
		n := c.count(`SELECT count(*) FROM outbox WHERE delivered_at IS NULL`)
		return n == 0, fmt.Errorf("%d outbox entries undelivered", n)
	})
	c.checkOneWorkflowEach()
	t.Logf("%d transactions confirmed, all final once", len(want))
}

func pqArray(s []string) any { return "{" + strings.Join(s, ",") + "}" }

func (c *cluster) checkOneWorkflowEach() {
	c.t.Helper()
	ids := transactionWorkflowIDs(c.t, c.db)
	testenv.WaitFor(c.t, 60*time.Second, fmt.Sprintf("one workflow execution for each of %d transactions", len(ids)), func() (bool, error) {
		runs := map[string]int{}
		var token []byte
		for {
			resp, err := c.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
				PageSize: 1000, NextPageToken: token, Query: "WorkflowType = '" + workflows.TransactionWorkflowName + "'"})
			if err != nil {
				return false, err
			}
			for _, e := range resp.GetExecutions() {
				runs[e.GetExecution().GetWorkflowId()]++
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		for id := range ids {
			if runs[id] != 1 {
				return false, fmt.Errorf("%s has %d executions", id, runs[id])
			}
		}
		if len(runs) != len(ids) {
			return false, fmt.Errorf("%d executions for %d transactions", len(runs), len(ids))
		}
		return true, nil
	})
}

func (c *cluster) waitFinal(n int, what string) {
	c.t.Helper()
	testenv.WaitFor(c.t, 2*time.Minute, what, func() (bool, error) {
		got := c.count(`SELECT count(*) FROM transactions WHERE final_at IS NOT NULL`)
		return got >= n, fmt.Errorf("%d final", got)
	})
}

// TestCluster runs the cluster faults one after the other on one cluster (bringing one up takes
// about a minute).
func TestCluster(t *testing.T) {
	requireClusterTopology(t)
	c := newCluster(t)

	// One API replica is killed (SIGKILL) under load; the other keeps serving, the load balancer
	// sending everything to it; the killed one comes back and takes its share again.
	t.Run("APIReplicaKilled", func(t *testing.T) {
		l := c.startLoad()
		c.waitFinal(10, "10 transactions final before the kill")
		c.must("kill", "api-1")
		before := l.sent()
		testenv.WaitFor(t, 60*time.Second, "20 more transactions confirmed by api-2 alone", func() (bool, error) {
			return l.sent() >= before+20, nil
		})
		c.must("start", "api-1")
		after := l.sent()
		testenv.WaitFor(t, 60*time.Second, "10 more transactions with both replicas", func() (bool, error) {
			return l.sent() >= after+10, nil
		})
		l.finish(t)
		// Both kinds of process export the Temporal SDK's metrics beside their own: the relay's
		// client calls from an API replica, task executions and inquiries from a worker. The
		// eko-response arrives within the start deferral, so its SignalWithStart (a "signal"
		// entry) starts the workflow; the light workflow's inquiry, records and events are local
		// activities.
		c.scrapeHas(c.apiURLs[1], `temporal_request{`, `aepsflow_outbox_deliveries_total{kind="signal",result="ok"}`, `aepsflow_state_up 1`)
		c.scrapeHas(c.workerURLs[0], `temporal_workflow_completed{`, `temporal_local_activity_execution_latency_bucket{`,
			`aepsflow_inquiries_total{result="ok"}`)
	})

	// One worker is killed (SIGKILL) while it runs an inquiry activity: Eko (the simulator) is
	// slow to answer twice (25 s, longer than the inquiry client's 15 s). The light workflow's
	// local try of the first inquiry gives up after 10 s and the retried activity takes over
	// (the simulator counts a call when it arrives: that one is its second); that one's worker is
	// killed, the activity times out (StartToClose 30 s) and the other worker runs it again; the
	// transaction ends once, in success.
	t.Run("WorkerKilledMidActivity", func(t *testing.T) {
		ctx := context.Background()
		r := ref()
		c.sim.Script(r, sim.Step{TxStatus: "0", Delay: 25 * time.Second, Times: 2}, sim.Step{TxStatus: "0"})
		c.sim.SetAmount(r, "500.00")
		res, err := c.gateways[0].DebitHook(ctx, sim.DebitHookRequest{ClientRefID: r, Type: "2", CustomerID: "9876543210", UserCode: agentCode, Amount: "500"})
		if err != nil || !res.Verified() {
			t.Fatalf("debit-hook: %v %+v", err, res)
		}
		if er, err := c.gateways[1].EkoResponse(ctx, r, "0", nil); err != nil || er.HTTPStatus != http.StatusOK {
			t.Fatalf("eko-response: %v %+v", err, er)
		}
		wfID := workflows.WorkflowID(txstate.ProviderEko, r)
		var identity string
		testenv.WaitFor(t, 60*time.Second, "the inquiry activity running on a worker, Eko not answering yet", func() (bool, error) {
			d, err := c.tc.DescribeWorkflowExecution(ctx, wfID, "")
			if err != nil {
				return false, err
			}
			for _, a := range d.GetPendingActivities() {
				if a.GetActivityType().GetName() == "Inquire" && a.GetLastWorkerIdentity() != "" && c.sim.Calls(r) == 2 {
					identity = a.GetLastWorkerIdentity()
					return true, nil
				}
			}
			return false, fmt.Errorf("%d pending activities, %d inquiries", len(d.GetPendingActivities()), c.sim.Calls(r))
		})
		victim := c.workerByIdentity(identity)
		c.must("kill", victim)
		t.Logf("killed %s (%s) in the middle of the inquiry", victim, identity)
		testenv.WaitFor(t, 2*time.Minute, "the transaction final after the other worker retried the inquiry", func() (bool, error) {
			var st string
			err := c.db.QueryRow(`SELECT state FROM transactions WHERE client_ref_id = $1`, r).Scan(&st)
			return st == "success", fmt.Errorf("state %q %v", st, err)
		})
		if n := c.sim.Calls(r); n != 3 {
			t.Errorf("inquiries = %d, want 3 (the local try, the killed attempt and the retry)", n)
		}
		if n := c.count(`SELECT count(*) FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.client_ref_id = $1 AND e.kind = 'inquiry'`, r); n != 1 {
			t.Errorf("%d inquiry events recorded, want 1 (the killed attempt recorded nothing)", n)
		}
		if n := c.count(`SELECT count(*) FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.client_ref_id = $1 AND e.to_state = 'success'`, r); n != 1 {
			t.Errorf("%d changes to success, want 1", n)
		}
		c.must("start", victim)
	})

	// The Temporal server is restarted under load: stopped (SIGTERM) for 15 s, then started
	// again. The APIs keep confirming into the outbox meanwhile; afterwards everything
	// completes, once.
	t.Run("TemporalRestarted", func(t *testing.T) {
		l := c.startLoad()
		final := c.count(`SELECT count(*) FROM transactions WHERE final_at IS NOT NULL`)
		c.waitFinal(final+10, "10 transactions final before the restart")
		c.must("stop", "temporal")
		down := time.Now()
		before := l.sent()
		testenv.WaitFor(t, 30*time.Second, "transactions confirmed while Temporal is down", func() (bool, error) {
			return l.sent() >= before+10, nil
		})
		time.Sleep(15*time.Second - time.Since(down))
		c.must("start", "temporal")
		t.Logf("Temporal server was down for %s", time.Since(down).Round(time.Second))
		after := l.sent()
		testenv.WaitFor(t, 90*time.Second, "10 more transactions after the restart", func() (bool, error) {
			return l.sent() >= after+10, nil
		})
		l.finish(t)
	})
}

// scrapeHas checks that base's /metrics holds each of wants.
func (c *cluster) scrapeHas(base string, wants ...string) {
	c.t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		c.t.Fatalf("scrape %s: %v", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, w := range wants {
		if !strings.Contains(string(body), w) {
			c.t.Errorf("%s/metrics lacks %s", base, w)
		}
	}
}

// workerByIdentity finds which cluster worker (worker-1, worker-2) has the pid in identity
// ("pid@host@aepsflow-worker").
func (c *cluster) workerByIdentity(identity string) string {
	c.t.Helper()
	pid, _, _ := strings.Cut(identity, "@")
	for _, n := range []string{"worker-1", "worker-2"} {
		b, err := os.ReadFile(filepath.Join(c.dir, n+".pid"))
		if err == nil && strings.TrimSpace(string(b)) == pid {
			return n
		}
	}
	c.t.Fatalf("no cluster worker has the identity %q", identity)
	return ""
}
