package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/eko/sim"
)

// ekoTx is one Eko transaction of the load.
type ekoTx struct {
	ref, agent, customer, amount, txStatus string
	phase                                  string // main | outage
	allowed                                bool
	respSent                               time.Time
	respOK                                 bool
}

// partnerTx is one partner transaction, delivered partnerDeliveries times.
type partnerTx struct {
	ref, txnID, status string
	firstSent          time.Time
	recorded           bool
}

type bench struct {
	o      benchOpts
	db     *sql.DB
	tc     client.Client
	gw     *sim.Gateway
	hc     *http.Client
	cpu    *cpuWatch
	prof   *profiler
	runID  string
	stderr io.Writer

	res Results
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchOpts(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{o: o, stderr: stderr, runID: randomDigits(6)}
	b.res = newResults(o)

	b.db, err = sql.Open("postgres", o.dbURL)
	if err != nil {
		return fmt.Errorf("open bench database: %w", err)
	}
	defer b.db.Close()
	b.db.SetMaxOpenConns(o.conc + 4)
	b.db.SetMaxIdleConns(o.conc + 4)

	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	copts := client.Options{HostPort: o.temporal, Namespace: o.namespace, Logger: quiet}
	if o.noCompression {
		copts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	b.tc, err = client.NewLazyClient(copts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer b.tc.Close()

	// One keep-alive connection per request in flight: a benchmark that opens a connection per
	// request measures the kernel's TCP setup, not the service.
	transport := &http.Transport{MaxIdleConns: 4 * o.conc, MaxIdleConnsPerHost: 4 * o.conc, IdleConnTimeout: time.Minute}
	b.hc = &http.Client{Transport: transport, Timeout: 30 * time.Second}
	b.gw = &sim.Gateway{
		CallbackURL: strings.TrimRight(o.apiURL, "/") + "/eko/aeps/callback",
		// No Origin: a non-browser client, so no CORS preflight per request (a browser caches it).
		AccessKey: o.accessKey, HTTP: b.hc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}

	b.cpu = &cpuWatch{named: map[string]func() int{"loadgen": os.Getpid}, pgMatch: o.pgMatch}
	for _, spec := range splitList(o.pids) {
		name, pid, err := pidSource(spec)
		if err != nil {
			return fmt.Errorf("--pids: %w", err)
		}
		b.cpu.named[name] = pid
	}
	b.prof = &profiler{targets: map[string]string{}, dir: o.profileDir, seconds: o.profileSeconds}
	for _, spec := range splitList(o.pprof) {
		name, addr, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("--pprof %q is not name=host:port", spec)
		}
		b.prof.targets[name] = addr
	}

	if err := b.setup(ctx); err != nil {
		return err
	}
	if err := b.runAll(ctx); err != nil {
		return err
	}
	b.res.finish()
	b.res.print(stdout)
	if err := b.res.write(o); err != nil {
		return err
	}
	if probs := b.res.problems(); len(probs) > 0 {
		return fmt.Errorf("FAILED: %s", strings.Join(probs, "; "))
	}
	return nil
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.stderr, "loadgen: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// setup checks the stack is up and prepares agents and the floor table.
func (b *bench) setup(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := httpGet(cctx, b.hc, strings.TrimRight(b.o.apiURL, "/")+"/readyz")
	if err != nil || resp != http.StatusOK {
		return fmt.Errorf("the API at %s is not ready (GET /readyz: %d %v)", b.o.apiURL, resp, err)
	}
	if _, err := b.tc.CheckHealth(cctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal at %s: %w", b.o.temporal, err)
	}
	store, err := db.Open(cctx, b.o.dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	// High limits: the benchmark measures the path, not the limit rules; every debit-hook must be
	// allowed.
	count, amount := 100000, decimal.NewFromInt(1_000_000_000)
	for i := 0; i < b.o.agents; i++ {
		if _, err := store.UpsertAgent(cctx, db.AgentUpdate{UserCode: agentCode(i), CountLimit: &count, AmountLimit: &amount}); err != nil {
			return fmt.Errorf("register bench agents: %w", err)
		}
	}
	// The floor's table: transactions' columns, constraints and indexes, its own sequence.
	for _, q := range []string{
		`DROP TABLE IF EXISTS bench_floor_tx`,
		`DROP SEQUENCE IF EXISTS bench_floor_tx_id_seq`,
		`CREATE TABLE bench_floor_tx (LIKE transactions INCLUDING ALL)`,
		`CREATE SEQUENCE bench_floor_tx_id_seq OWNED BY bench_floor_tx.id`,
		`ALTER TABLE bench_floor_tx ALTER COLUMN id SET DEFAULT nextval('bench_floor_tx_id_seq')`,
	} {
		if _, err := b.db.ExecContext(cctx, q); err != nil {
			return fmt.Errorf("create floor table (%s): %w", q, err)
		}
	}
	return nil
}

func httpGet(ctx context.Context, hc *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func agentCode(i int) string { return fmt.Sprintf("BA%05d", i) }

// phase runs fn, recording its wall time and the CPU each process spent.
func (b *bench) phase(name string, fn func() error) error {
	b.logf("phase %s", name)
	a := b.cpu.snap()
	start := time.Now()
	err := fn()
	wall := time.Since(start)
	b.res.Phases = append(b.res.Phases, PhaseCPU{Name: name, CPU: b.cpu.since(a, b.cpu.snap(), wall.Seconds())})
	b.logf("phase %s done in %s", name, wall.Round(time.Millisecond))
	return err
}

// runAll runs the phases in order: the floors, the main load, the paced load, the Temporal outage
// and the loss check. Each phase is a method in a file of its own.
func (b *bench) runAll(ctx context.Context) error {
	if b.o.floorN > 0 {
		if err := b.runFloors(ctx); err != nil {
			return err
		}
	}
	if b.o.only == "floors" {
		return nil
	}
	m, err := b.runMain(ctx)
	// Profiles run alongside the phases (--profile-seconds each) and are collected at the end, so
	// that waiting for them never stretches a phase.
	defer func() {
		for _, wait := range m.profiles {
			wait()
		}
	}()
	if err != nil {
		return err
	}
	paced, err := b.runPaced(ctx)
	if err != nil {
		return err
	}
	outage, err := b.runOutage(ctx, m, paced)
	if err != nil {
		return err
	}
	return b.runLossCheck(ctx, m, paced, outage)
}

func shell(ctx context.Context, command string, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	return cmd.Run()
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

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return int(v.Int64())
}

// randomDigits returns n random decimal digits, the first one not zero.
func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + randInt(10))
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}
