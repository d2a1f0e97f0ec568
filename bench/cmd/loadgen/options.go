package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aepsflow/aepsflow/eko/sim"
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
	// eventsStats is the platform receiver's stats URL: the loss check then also checks events.
	eventsStats string

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
	fs.StringVar(&o.accessKey, "access-key", sim.DevAccessKey, "the service's EKO_ACCESS_KEY, to verify replies")
	fs.StringVar(&o.simControl, "sim-control", "", "control URL of the inquiry simulator (e.g. http://127.0.0.1:18090/sim): every transaction is scripted with its outcome and its amount, as the service verifies failures and compares amounts")
	fs.StringVar(&o.eventsStats, "events-stats", "", "stats URL of the platform's event receiver (inquiry-sim --webhook-secret, e.g. http://127.0.0.1:18090/platform/stats): the loss check then also requires every final transaction's event, acknowledged exactly once")
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
