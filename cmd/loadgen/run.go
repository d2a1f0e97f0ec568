package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/ekosim"
)

// benchOpts are `loadgen run`'s flags.
type benchOpts struct {
	apiURL, dbURL, temporal, namespace string

	n, conc int
	rate    float64
	mix     []mixEntry

	partnerN, partnerDeliveries, partnerConc int
	partnerClient, partnerSecret             string

	agents     int
	accessKey  string
	simControl string

	floorN int

	shapeN             int
	pacedN             int
	pacedRate          float64
	outageN            int
	stopCmd, startCmd  string
	outageP99Tolerance float64

	wftPollers, atPollers int
	only                  string
	probe                 bool
	noCompression         bool

	pids, pgMatch          string
	pprof, profileDir      string
	profileSeconds         int
	outJSON, outMD, outPNG string
	finalTimeout           time.Duration
	note                   string
}

type mixEntry struct {
	txStatus string
	weight   int
}

func parseMix(s string) ([]mixEntry, error) {
	var out []mixEntry
	total := 0
	for _, part := range strings.Split(s, ",") {
		st, w, ok := strings.Cut(strings.TrimSpace(part), ":")
		n, err := strconv.Atoi(w)
		if !ok || st == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("--mix entry %q must be tx_status:weight", part)
		}
		if st != "0" && st != "1" && st != "2" {
			// 3/4/other statuses do not end in a final state on their own (reversal, review).
			return nil, fmt.Errorf("--mix tx_status %q: only 0, 1 and 2 end in a final state here", st)
		}
		out = append(out, mixEntry{st, n})
		total += n
	}
	if total == 0 {
		return nil, errors.New("--mix weights sum to zero")
	}
	return out, nil
}

func parseBenchOpts(args []string, stderr io.Writer) (benchOpts, error) {
	var o benchOpts
	fs := flag.NewFlagSet("loadgen run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.apiURL, "api", "http://127.0.0.1:18080", "aepsflow API base URL")
	fs.StringVar(&o.dbURL, "db", "", "URL of the bench database (the API's DATABASE_URL)")
	fs.StringVar(&o.temporal, "temporal", "127.0.0.1:7633", "Temporal frontend host:port (the service's TEMPORAL_ADDRESS)")
	fs.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	fs.IntVar(&o.n, "n", 2000, "transactions (debit-hook + eko-response each)")
	fs.IntVar(&o.conc, "concurrency", 16, "requests in flight (every phase and floor)")
	fs.Float64Var(&o.rate, "rate", 0, "requests started per second per phase (0: closed loop, as fast as the concurrency allows)")
	mix := fs.String("mix", "0:90,1:5,2:5", "eko-response tx_status mix, tx_status:weight,...")
	fs.IntVar(&o.partnerN, "partner-n", -1, "partner transactions (-1: n/10)")
	fs.IntVar(&o.partnerDeliveries, "partner-deliveries", 2, "deliveries of each partner callback (duplicates)")
	fs.IntVar(&o.partnerConc, "partner-concurrency", 4, "partner callbacks in flight")
	fs.StringVar(&o.partnerClient, "partner-client", "bench", "partner client_id (in the service's PARTNER_CLIENTS)")
	fs.StringVar(&o.partnerSecret, "partner-secret", "bench-secret-0123456789", "partner client_secret")
	fs.IntVar(&o.agents, "agents", 200, "agents the debit-hooks spread over (registered with high daily limits)")
	fs.StringVar(&o.accessKey, "access-key", ekosim.DevAccessKey, "the service's EKO_ACCESS_KEY, to verify replies")
	fs.StringVar(&o.simControl, "sim-control", "", "control URL of the inquiry simulator (e.g. http://127.0.0.1:18090/sim): transactions reported failed are scripted to be confirmed failed, as the service verifies them (VERIFY_FAILURE)")
	fs.IntVar(&o.floorN, "floor-n", -1, "requests per floor (-1: n; 0: skip the floors)")
	fs.IntVar(&o.shapeN, "shape-n", -1, "workflows of each shape in the workflow-shape experiment (-1: n/4; 0: skip)")
	fs.IntVar(&o.pacedN, "paced-n", -1, "transactions sent at --paced-rate after the main load, for the latency to final state without a backlog (-1: n/10; 0: skip)")
	fs.Float64Var(&o.pacedRate, "paced-rate", 10, "transactions per second of the paced phase")
	fs.IntVar(&o.outageN, "outage-n", -1, "transactions sent while Temporal is stopped (-1: n/4; 0: skip)")
	fs.StringVar(&o.stopCmd, "temporal-stop", "", "shell command that stops the Temporal server (outage phase)")
	fs.StringVar(&o.startCmd, "temporal-start", "", "shell command that starts it again and waits until it answers")
	fs.Float64Var(&o.outageP99Tolerance, "outage-p99-tolerance", 1.25, "debit-hook p99 with Temporal stopped counts as unchanged up to this multiple of p99 with it up")
	fs.IntVar(&o.wftPollers, "floor-wft-pollers", 0, "workflow task pollers of the floor's worker (0: the SDK default, as the service's worker)")
	fs.IntVar(&o.atPollers, "floor-activity-pollers", 0, "activity task pollers of the floor's worker (0: the SDK default)")
	fs.BoolVar(&o.noCompression, "floor-no-grpc-compression", false, "loadgen's Temporal client without gzip (the SDK compresses by default, as the service's client does)")
	fs.BoolVar(&o.probe, "probe", true, "also run the store probes (the debit-hook's database part alone, and two variants), in a database of their own")
	fs.StringVar(&o.only, "only", "", "floors: run only the floors, shapes and probes (for experiments; the full run is the benchmark)")
	fs.StringVar(&o.pids, "pids", "", "processes to account CPU to: name=PID or name=@pidfile, comma-separated")
	fs.StringVar(&o.pgMatch, "pg-match", "", "account CPU of PostgreSQL backends whose command line contains this (the database name)")
	fs.StringVar(&o.pprof, "pprof", "", "CPU profiles during the load: name=host:port of PPROF_ADDR, comma-separated (api, worker)")
	fs.StringVar(&o.profileDir, "profile-dir", ".bench/profiles", "where profiles are written")
	fs.IntVar(&o.profileSeconds, "profile-seconds", 5, "length of each CPU profile")
	fs.StringVar(&o.outJSON, "json", ".bench/results.json", "results as JSON (empty: none)")
	fs.StringVar(&o.outMD, "md", ".bench/results.md", "results as a Markdown table (empty: none)")
	fs.StringVar(&o.outPNG, "png", "docs/bench-latency.png", "latency histogram PNG (empty: none)")
	fs.DurationVar(&o.finalTimeout, "final-timeout", 15*time.Minute, "how long to wait for every transaction's final state")
	fs.StringVar(&o.note, "note", "", "free text recorded with the results (e.g. the load average)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.mix, err = parseMix(*mix); err != nil {
		return o, err
	}
	if o.dbURL == "" {
		return o, errors.New("--db is required")
	}
	if o.n < 1 || o.conc < 1 || o.agents < 1 {
		return o, errors.New("--n, --concurrency and --agents must be at least 1")
	}
	if o.partnerN < 0 {
		o.partnerN = o.n / 10
	}
	if o.floorN < 0 {
		o.floorN = o.n
	}
	if o.outageN < 0 {
		o.outageN = o.n / 4
	}
	if o.pacedN < 0 {
		o.pacedN = o.n / 10
	}
	if o.shapeN < 0 {
		o.shapeN = o.n / 4
	}
	if o.pacedN > 0 && o.pacedRate <= 0 {
		return o, errors.New("--paced-rate must be positive")
	}
	if o.outageN > 0 && (o.stopCmd == "" || o.startCmd == "") {
		return o, errors.New("the outage phase needs --temporal-stop and --temporal-start (or --outage-n 0)")
	}
	return o, nil
}

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
	gw     *ekosim.Gateway
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
	b.gw = &ekosim.Gateway{
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

func (b *bench) runAll(ctx context.Context) error {
	o := b.o
	if o.floorN > 0 {
		if err := b.phase("floor-insert", func() error { return b.floorInsert(ctx) }); err != nil {
			return err
		}
		if err := b.phase("floor-temporal", func() error { return b.floorTemporal(ctx) }); err != nil {
			return err
		}
		if o.shapeN > 0 {
			if err := b.floorShapes(ctx); err != nil {
				return err
			}
		}
	}

	if o.probe && o.floorN > 0 {
		if err := b.storeProbes(ctx); err != nil {
			return err
		}
	}
	if o.only == "floors" {
		return nil
	}
	main := b.newTxs(o.n, "main")
	if err := b.scriptFailures(ctx, main); err != nil {
		return err
	}
	partners := b.newPartners(o.partnerN)
	dh := newRecorder("debit-hook")
	er := newRecorder("eko-response")
	pc := newRecorder("partner callback")
	mainStart := time.Now()
	// Profiles run alongside the phases (--profile-seconds each) and are collected at the end, so
	// that waiting for them never stretches a phase.
	var profiles []func()
	defer func() {
		for _, wait := range profiles {
			wait()
		}
	}()
	if err := b.phase("debit-hooks", func() error {
		profiles = append(profiles, b.prof.capture(ctx, "debit-hooks", "api"))
		b.debitHooks(ctx, main, dh)
		return nil
	}); err != nil {
		return err
	}
	if err := b.phase("eko-responses+partner", func() error {
		profiles = append(profiles, b.prof.capture(ctx, "eko-responses", "api", "worker"))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); b.partnerCallbacks(ctx, partners, pc) }()
		b.ekoResponses(ctx, main, er)
		wg.Wait()
		return nil
	}); err != nil {
		return err
	}
	if err := b.phase("drain", func() error {
		for _, p := range profiles {
			p() // the eko-response profiles end in the drain; the drain's own starts after them
		}
		profiles = append(profiles[:0], b.prof.capture(ctx, "drain", "worker"))
		return b.waitFinal(ctx, b.expectedRows(partners, main))
	}); err != nil {
		return err
	}
	b.res.add(dh.summary(), er.summary(), pc.summary())
	ttf, pttf, err := b.timeToFinal(ctx, main, partners)
	if err != nil {
		return err
	}
	b.res.add(ttf, pttf)

	// Paced: the same transactions at a rate the workflows keep up with, for the latency from
	// eko-response to final state without a backlog in front of it.
	var paced []*ekoTx
	if o.pacedN > 0 {
		paced = b.newTxs(o.pacedN, "paced")
		if err := b.scriptFailures(ctx, paced); err != nil {
			return err
		}
		pdh, per := newRecorder(fmt.Sprintf("debit-hook, paced %g/s", o.pacedRate)), newRecorder(fmt.Sprintf("eko-response, paced %g/s", o.pacedRate))
		if err := b.phase("paced", func() error {
			drive(ctx, len(paced), o.conc, o.pacedRate, func(i int) {
				b.debitHook(ctx, paced[i], pdh)
				b.ekoResponse(ctx, paced[i], per)
			})
			return b.waitFinal(ctx, b.expectedRows(nil, paced))
		}); err != nil {
			return err
		}
		pttf, _, err := b.timeToFinal(ctx, paced, nil)
		if err != nil {
			return err
		}
		pttf.Name = fmt.Sprintf("eko-response → final state, paced %g/s", o.pacedRate)
		b.res.add(pdh.summary(), per.summary(), pttf)
	}

	var outage []*ekoTx
	if o.outageN > 0 {
		outage = b.newTxs(o.outageN, "outage")
		if err := b.scriptFailures(ctx, outage); err != nil {
			return err
		}
		odh := newRecorder("debit-hook, Temporal stopped")
		oer := newRecorder("eko-response, Temporal stopped")
		if err := b.phase("temporal-stop", func() error { return b.stopTemporal(ctx) }); err != nil {
			return err
		}
		if err := b.phase("outage", func() error {
			b.debitHooks(ctx, outage, odh)
			b.ekoResponses(ctx, outage, oer)
			return nil
		}); err != nil {
			return err
		}
		b.res.add(odh.summary(), oer.summary())
		if err := b.phase("temporal-start", func() error { return shell(ctx, o.startCmd, b.stderr) }); err != nil {
			return fmt.Errorf("restart temporal: %w", err)
		}
		if err := b.phase("recovery", func() error { return b.waitFinal(ctx, b.expectedRows(partners, main, paced, outage)) }); err != nil {
			return err
		}
	}

	loss, closeTimes, err := b.lossCheck(ctx, main, partners, paced, outage)
	if err != nil {
		return err
	}
	b.res.Loss = loss
	// Our "workflows started and completed" rate: the main phase's workflows over the time from
	// the first debit-hook to the last of them closing (Temporal's own close times).
	var last time.Time
	for _, t := range closeTimes {
		if t.After(last) {
			last = t
		}
	}
	if n := len(closeTimes); n > 0 && last.After(mainStart) {
		b.res.Workflows.Ours = WorkflowRate{Count: n, Seconds: last.Sub(mainStart).Seconds(), PerSec: float64(n) / last.Sub(mainStart).Seconds()}
	}
	return nil
}

func (b *bench) newTxs(n int, phase string) []*ekoTx {
	out := make([]*ekoTx, n)
	total := 0
	for _, m := range b.o.mix {
		total += m.weight
	}
	for i := range out {
		// Deterministic mix (i-th of every `total`), random everything else.
		k, st := i%total, ""
		for _, m := range b.o.mix {
			if k < m.weight {
				st = m.txStatus
				break
			}
			k -= m.weight
		}
		out[i] = &ekoTx{
			ref: ekosim.NewClientRefID(), agent: agentCode(randInt(b.o.agents)), customer: "9" + randomDigits(9),
			amount: strconv.Itoa(100 + 50*randInt(99)), txStatus: st, phase: phase,
		}
	}
	// Spread the statuses over time.
	for i := len(out) - 1; i > 0; i-- {
		j := randInt(i + 1)
		out[i].txStatus, out[j].txStatus = out[j].txStatus, out[i].txStatus
	}
	return out
}

// scriptFailures makes the inquiry simulator confirm the failure of each transaction that will be
// reported failed (it answers success for the rest): the service verifies reported failures
// (VERIFY_FAILURE), and Eko would confirm them. Done before the phase, outside any timing.
func (b *bench) scriptFailures(ctx context.Context, txs []*ekoTx) error {
	if b.o.simControl == "" {
		return nil
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, tx := range txs {
		if tx.txStatus != "1" {
			continue
		}
		if _, err := ekosim.ScriptRemote(ctx, hc, b.o.simControl, tx.ref, []ekosim.Step{{TxStatus: "1"}}); err != nil {
			return fmt.Errorf("script the inquiry of %s: %w", tx.ref, err)
		}
	}
	return nil
}

func (b *bench) newPartners(n int) []*partnerTx {
	out := make([]*partnerTx, n)
	for i := range out {
		st := "SUCCESS"
		if i%10 == 9 {
			st = "FAILED"
		}
		out[i] = &partnerTx{ref: "P" + randomDigits(12), txnID: randomDigits(19), status: st}
	}
	return out
}

// drive calls fn(i) for every i in [0, n) on conc workers; with rate > 0 the calls start at that
// pace (never more than conc in flight).
func drive(ctx context.Context, n, conc int, rate float64, fn func(i int)) {
	idx := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				fn(i)
			}
		}()
	}
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
loop:
	for i := 0; i < n; i++ {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case idx <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(idx)
	wg.Wait()
}

var hashParams = ekosim.DefaultRequestHashParams()

func (b *bench) debitHooks(ctx context.Context, txs []*ekoTx, rec *recorder) {
	drive(ctx, len(txs), b.o.conc, b.o.rate, func(i int) { b.debitHook(ctx, txs[i], rec) })
}

// debitHook sends tx's debit-hook and checks the reply: allowed, and signed as Eko verifies it
// (by ekosim, and again by this package's own HMAC).
func (b *bench) debitHook(ctx context.Context, tx *ekoTx, rec *recorder) {
	start := time.Now()
	res, err := b.gw.DebitHook(ctx, ekosim.DebitHookRequest{
		ClientRefID: tx.ref, Type: "2", CustomerID: tx.customer, UserCode: tx.agent, Amount: tx.amount,
		RequestHashParams: hashParams,
	})
	end := time.Now()
	switch {
	case err != nil:
	case res.HTTPStatus != http.StatusOK || !res.Allowed:
		err = fmt.Errorf("debit-hook refused: HTTP %d: %s", res.HTTPStatus, res.Message)
	case !res.Verified():
		err = fmt.Errorf("debit-hook reply fails ekosim's checks: %s", res.Mismatch)
	default:
		data := map[string]string{"customer_id": tx.customer, "bank_code": "PUNB", "type": "2", "user_code": tx.agent, "amount": tx.amount}
		if verr := checkAllowReply(b.o.accessKey, res.SecretKeyTimestamp, res.SecretKey, res.RequestHash, hashParams, data, end); verr != nil {
			err = fmt.Errorf("debit-hook reply fails the independent check: %w", verr)
		}
	}
	tx.allowed = err == nil
	rec.add(start, end, err)
}

func (b *bench) ekoResponses(ctx context.Context, txs []*ekoTx, rec *recorder) {
	drive(ctx, len(txs), b.o.conc, b.o.rate, func(i int) { b.ekoResponse(ctx, txs[i], rec) })
}

// ekoResponse reports tx's outcome (only for an allowed transaction: Eko sends none otherwise).
func (b *bench) ekoResponse(ctx context.Context, tx *ekoTx, rec *recorder) {
	if !tx.allowed {
		return
	}
	start := time.Now()
	res, err := b.gw.EkoResponse(ctx, tx.ref, tx.txStatus, nil)
	end := time.Now()
	if err == nil && (res.HTTPStatus != http.StatusOK || res.Status != "ok" || res.Outcome != "recorded") {
		err = fmt.Errorf("eko-response not recorded: HTTP %d status=%s outcome=%s %s", res.HTTPStatus, res.Status, res.Outcome, res.Message)
	}
	tx.respSent, tx.respOK = start, err == nil
	rec.add(start, end, err)
}

// istLayout is the partner's date format, in India Standard Time.
const istLayout = "2006-01-02 15:04:05"

var ist = time.FixedZone("IST", 5*3600+1800)

func (b *bench) partnerBody(p *partnerTx) []byte {
	now := time.Now().In(ist).Format(istLayout)
	desc := "Transaction Successful"
	if p.status != "SUCCESS" {
		desc = "DEBIT TIMEOUT"
	}
	body, _ := json.Marshal(map[string]any{
		"statusDesc": desc, "createdDate": now, "updatedDate": now, "productCode": "AEPS",
		"txnType": "AEPS_CASH_WITHDRAWAL", "txnAmount": "2000", "txnDateTime": now,
		"customeridentIfication": "xxxx-xxxx-5604", "status": p.status, "rrn": randomDigits(12),
		"txnId": json.Number(p.txnID), "username": "benchagent", "ClientRefID": p.ref, "param_b": "", "param_c": "",
	})
	return body
}

// partnerCallbacks delivers each partner callback partnerDeliveries times, one after another (as
// the partner retries), the same bytes each time.
func (b *bench) partnerCallbacks(ctx context.Context, ps []*partnerTx, rec *recorder) {
	url := strings.TrimRight(b.o.apiURL, "/") + "/partner/aeps/callback"
	drive(ctx, len(ps), b.o.partnerConc, 0, func(i int) {
		p := ps[i]
		body := b.partnerBody(p)
		ok := true
		for d := 0; d < b.o.partnerDeliveries; d++ {
			start := time.Now()
			if d == 0 {
				p.firstSent = start
			}
			status, err := b.postPartner(ctx, url, body)
			end := time.Now()
			if err == nil && status != "0" {
				err = fmt.Errorf("partner callback answered status %q", status)
			}
			ok = ok && err == nil
			rec.add(start, end, err)
		}
		p.recorded = ok
	})
}

func (b *bench) postPartner(ctx context.Context, url string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("client_id", b.o.partnerClient)
	req.Header.Set("client_secret", b.o.partnerSecret)
	resp, err := b.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status     string `json:"status"`
		StatusDesc string `json:"statusDesc"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("partner reply HTTP %d is not JSON: %.100q", resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		return r.Status, fmt.Errorf("partner reply HTTP %d: %s", resp.StatusCode, r.StatusDesc)
	}
	return r.Status, nil
}

// rowKey is a transaction's key in PostgreSQL.
type rowKey struct{ provider, ref string }

func (b *bench) partnerProvider() string { return "partner:" + b.o.partnerClient }

// expectedRows lists the transactions that must exist, with the final state each must reach.
func (b *bench) expectedRows(ps []*partnerTx, lists ...[]*ekoTx) map[rowKey]string {
	want := map[rowKey]string{}
	for _, tx := range slices.Concat(lists...) {
		if !tx.allowed {
			continue
		}
		st := "success" // 0 verified by inquiry, 2 resolved by inquiry (the simulator says 0)
		if tx.respOK && tx.txStatus == "1" {
			st = "failed"
		}
		if !tx.respOK {
			st = "" // no eko-response recorded: any state
		}
		want[rowKey{"eko", tx.ref}] = st
	}
	for _, p := range ps {
		if p.firstSent.IsZero() {
			continue
		}
		st := "success"
		if p.status != "SUCCESS" {
			st = "failed"
		}
		want[rowKey{b.partnerProvider(), p.ref}] = st
	}
	return want
}

// waitFinal polls PostgreSQL until every expected transaction (with a known outcome) is in a
// final state.
func (b *bench) waitFinal(ctx context.Context, want map[rowKey]string) error {
	need := 0
	for _, st := range want {
		if st != "" {
			need++
		}
	}
	deadline := time.Now().Add(b.o.finalTimeout)
	lastLog := time.Now()
	for {
		final, err := b.finalCount(ctx, want)
		if err != nil {
			b.logf("waiting for final states: %v", err)
		} else if final >= need {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d transactions reached a final state within %s", final, need, b.o.finalTimeout)
		}
		if time.Since(lastLog) > 10*time.Second {
			var backlog int
			_ = b.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&backlog)
			b.logf("  %d/%d final, outbox backlog %d", final, need, backlog)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// finalCount counts the expected transactions (with a known outcome) that are final.
func (b *bench) finalCount(ctx context.Context, want map[rowKey]string) (int, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT provider, client_ref_id FROM transactions WHERE final_at IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k rowKey
		if err := rows.Scan(&k.provider, &k.ref); err != nil {
			return 0, err
		}
		if want[k] != "" {
			n++
		}
	}
	return n, rows.Err()
}

// timeToFinal measures, from PostgreSQL's final_at, how long after its eko-response (or first
// partner delivery) each transaction of the main phase became final.
func (b *bench) timeToFinal(ctx context.Context, main []*ekoTx, ps []*partnerTx) (Summary, Summary, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT provider, client_ref_id, final_at FROM transactions WHERE final_at IS NOT NULL`)
	if err != nil {
		return Summary{}, Summary{}, fmt.Errorf("read final_at: %w", err)
	}
	defer rows.Close()
	finals := map[rowKey]time.Time{}
	for rows.Next() {
		var k rowKey
		var at time.Time
		if err := rows.Scan(&k.provider, &k.ref, &at); err != nil {
			return Summary{}, Summary{}, err
		}
		finals[k] = at
	}
	if err := rows.Err(); err != nil {
		return Summary{}, Summary{}, err
	}
	eko, partner := newRecorder("eko-response → final state"), newRecorder("partner callback → final state")
	for _, tx := range main {
		if at, ok := finals[rowKey{"eko", tx.ref}]; ok && tx.respOK {
			eko.addDuration(at.Sub(tx.respSent))
		}
	}
	for _, p := range ps {
		if at, ok := finals[rowKey{b.partnerProvider(), p.ref}]; ok && !p.firstSent.IsZero() {
			partner.addDuration(at.Sub(p.firstSent))
		}
	}
	return eko.summary(), partner.summary(), nil
}

func (b *bench) stopTemporal(ctx context.Context) error {
	if err := shell(ctx, b.o.stopCmd, b.stderr); err != nil {
		return fmt.Errorf("stop temporal: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := b.tc.CheckHealth(cctx, &client.CheckHealthRequest{}); err == nil {
		return errors.New("temporal still answers after --temporal-stop")
	}
	return nil
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
