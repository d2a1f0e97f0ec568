package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Results is everything one run measured.
type Results struct {
	When      time.Time      `json:"when"`
	Machine   Machine        `json:"machine"`
	Options   map[string]any `json:"options"`
	Summaries []Summary      `json:"summaries"`
	Workflows struct {
		Floor WorkflowRate `json:"floor"` // trivial workflow: SignalWithStart to completion
		Ours  WorkflowRate `json:"ours"`  // transaction workflows: first debit-hook to last close
	} `json:"workflows_started_and_completed"`
	Shapes []ShapeRate `json:"shapes,omitempty"`
	// Histories: a sample of the main phase's transaction histories (information).
	Histories *HistoryShape `json:"histories,omitempty"`
	Phases    []PhaseCPU    `json:"phases"`
	Loss      LossReport    `json:"loss"`
	Ratios    []Ratio       `json:"ratios"`
	Targets   []Target      `json:"targets"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemoryMiB int    `json:"memory_mib"`
	GoVersion string `json:"go_version"`
	LoadStart string `json:"load_average_start"`
	LoadEnd   string `json:"load_average_end"`
	Note      string `json:"note,omitempty"`
}

// WorkflowRate is workflows started and completed per second.
type WorkflowRate struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_s"`
}

// ShapeRate is the started-and-completed rate of one workflow shape (no-op activities).
type ShapeRate struct {
	Name string `json:"name"`
	WorkflowRate
}

// PhaseCPU is one phase's wall time and CPU use by process.
type PhaseCPU struct {
	Name string `json:"name"`
	CPU  CPUUse `json:"cpu"`
}

// Ratio is one of our figures divided by its floor's.
type Ratio struct {
	What  string  `json:"what"`
	Ours  float64 `json:"ours"`
	Floor float64 `json:"floor"`
	Ratio float64 `json:"ratio"`
}

// Target is a goal and whether this run met it.
type Target struct {
	What  string  `json:"what"`
	Ratio float64 `json:"ratio"`
	Goal  string  `json:"goal"`
	Met   bool    `json:"met"`
}

func newResults(o benchOpts) Results {
	r := Results{When: time.Now().UTC()}
	r.Machine = Machine{
		CPUs: runtime.NumCPU(), CPUModel: cpuModel(), MemoryMiB: memTotalMiB(), GoVersion: runtime.Version(),
		LoadStart: loadAvg(), Note: o.note,
	}
	mix := make([]string, len(o.mix))
	for i, m := range o.mix {
		mix[i] = fmt.Sprintf("%s:%d", m.txStatus, m.weight)
	}
	r.Options = map[string]any{
		"n": o.n, "concurrency": o.conc, "rate": o.rate, "mix": strings.Join(mix, ","),
		"partner_n": o.partnerN, "partner_deliveries": o.partnerDeliveries, "partner_concurrency": o.partnerConc,
		"agents": o.agents, "floor_n": o.floorN, "shape_n": o.shapeN, "outage_n": o.outageN, "paced_n": o.pacedN, "paced_rate": o.pacedRate, "outage_p99_tolerance": o.outageP99Tolerance,
	}
	return r
}

func (r *Results) add(s ...Summary) { r.Summaries = append(r.Summaries, s...) }

func (r *Results) get(name string) (Summary, bool) {
	for _, s := range r.Summaries {
		if s.Name == name {
			return s, true
		}
	}
	return Summary{}, false
}

func (r *Results) getPrefix(prefix string) (Summary, bool) {
	for _, s := range r.Summaries {
		if strings.HasPrefix(s.Name, prefix) {
			return s, true
		}
	}
	return Summary{}, false
}

// finish computes the ratios to the floors and the targets.
func (r *Results) finish() {
	r.Machine.LoadEnd = loadAvg()
	ins, okIns := r.get("floor: PostgreSQL INSERT")
	dh, okDH := r.get("debit-hook")
	ratio := func(what string, ours, floor float64) float64 {
		if floor <= 0 {
			return 0
		}
		v := ours / floor
		r.Ratios = append(r.Ratios, Ratio{What: what, Ours: ours, Floor: floor, Ratio: v})
		return v
	}
	// The debit-hook against the bare INSERT: information only. A debit-hook writes ten
	// statements in one transaction, the INSERT one row; those targets are retired.
	if okIns && okDH {
		ratio("debit-hook p50 / INSERT p50 (ms)", dh.P50, ins.P50)
		ratio("debit-hook p99 / INSERT p99 (ms)", dh.P99, ins.P99)
		ratio("debit-hook throughput / INSERT throughput (per s)", dh.PerSec, ins.PerSec)
		for _, name := range []string{"eko-response", "partner callback"} {
			if s, ok := r.get(name); ok {
				ratio(name+" p50 / INSERT p50 (ms)", s.P50, ins.P50)
				ratio(name+" p99 / INSERT p99 (ms)", s.P99, ins.P99)
			}
		}
	}
	for _, sh := range r.Shapes {
		if r.Workflows.Floor.PerSec > 0 {
			ratio("no-op workflow shaped like Transaction ("+sh.Name+") / trivial (per s)", sh.PerSec, r.Workflows.Floor.PerSec)
		}
	}
	// The targets (issue 14): each a ratio to what a user would otherwise build, in this run.
	target := func(what string, v float64, atMost bool, goal float64) {
		met, g := v >= goal, fmt.Sprintf(">= %g", goal)
		if atMost {
			met, g = v <= goal, fmt.Sprintf("<= %g", goal)
		}
		r.Targets = append(r.Targets, Target{What: what, Ratio: v, Goal: g, Met: met && v > 0})
	}
	if r.Workflows.Floor.PerSec > 0 && r.Workflows.Ours.PerSec > 0 {
		v := ratio("transaction workflows / trivial workflows started and completed (per s)", r.Workflows.Ours.PerSec, r.Workflows.Floor.PerSec)
		target("transaction workflows started and completed / trivial SignalWithStart workflows", v, false, 0.6)
	}
	if tx, triv := r.temporalCPUPerWorkflow(); tx > 0 && triv > 0 {
		v := ratio("Temporal server CPU per transaction / per trivial workflow (ms)", tx, triv)
		target("Temporal server CPU per transaction / per trivial workflow", v, true, 1.8)
	}
	if sws, ok := r.get("floor: Temporal SignalWithStart"); ok && okDH {
		v := ratio("debit-hook throughput / synchronous-SignalWithStart design (per s)", dh.PerSec, sws.PerSec)
		target("debit-hook throughput / synchronous-SignalWithStart design (the SWS floor)", v, false, 3)
	}
	if out, ok := r.get("debit-hook, Temporal stopped"); ok && okDH {
		tol := 1.25
		if v, ok := r.Options["outage_p99_tolerance"].(float64); ok {
			tol = v
		}
		v := ratio("debit-hook p99, Temporal stopped / Temporal up (ms)", out.P99, dh.P99)
		target("debit-hook p99 with Temporal stopped / with Temporal up", v, true, tol)
	}
	ttf, okTTF := r.getPrefix("eko-response → final state, paced")
	triv, okTriv := r.getPrefix(pacedTrivialName)
	if okTTF && okTriv {
		v := ratio("eko-response → final, paced, p50 / trivial workflow start-to-close, paced, p50 (ms)", ttf.P50, triv.P50)
		target("eko-response → final state, paced, p50 / one trivial workflow's start-to-close at the same pace", v, true, 3)
	}
	lost := r.Loss.LostRows + r.Loss.LostWorkflows + r.Loss.DuplicatedWorkflows
	r.Targets = append(r.Targets, Target{What: "lost or duplicated transactions", Ratio: float64(lost), Goal: "0", Met: r.Loss.OK()})
}

// temporalCPUPerWorkflow is the Temporal server's CPU, in ms, per transaction workflow (the
// debit-hook, eko-response and drain phases over the transactions of the main load) and per
// trivial workflow (the SignalWithStart floor's phase).
func (r *Results) temporalCPUPerWorkflow() (tx, trivial float64) {
	var txCPU, floorCPU float64
	for _, p := range r.Phases {
		switch p.Name {
		case "debit-hooks", "eko-responses+partner", "drain":
			txCPU += p.CPU.Seconds["temporal"]
		case "floor-temporal":
			floorCPU += p.CPU.Seconds["temporal"]
		}
	}
	if n := r.Workflows.Ours.Count; n > 0 {
		tx = txCPU * 1000 / float64(n)
	}
	if n := r.Workflows.Floor.Count; n > 0 {
		trivial = floorCPU * 1000 / float64(n)
	}
	return tx, trivial
}

// problems lists what makes the run fail: loss, duplicates, failed requests.
func (r *Results) problems() []string {
	var out []string
	if !r.Loss.OK() {
		out = append(out, fmt.Sprintf("loss check failed: %+v", r.Loss))
	}
	for _, s := range r.Summaries {
		if s.Errors > 0 {
			out = append(out, fmt.Sprintf("%d %s requests failed", s.Errors, s.Name))
		}
	}
	return out
}

func (r *Results) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\naepsflow load benchmark, %s\n", r.When.Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %d CPUs (%s), %d MiB, %s; load average at start %s, at end %s\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.GoVersion, m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "options: %v\n\n", r.Options)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "what\tcount\terrors\tp50 ms\tp95 ms\tp99 ms\tmax ms\tper s\t")
	for _, s := range r.Summaries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", s.Name, s.Count, s.Errors, s.P50, s.P95, s.P99, s.Max, perSec(s))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nworkflows started and completed: trivial %.1f/s (%d in %.1f s), transactions %.1f/s (%d in %.1f s)\n",
		r.Workflows.Floor.PerSec, r.Workflows.Floor.Count, r.Workflows.Floor.Seconds,
		r.Workflows.Ours.PerSec, r.Workflows.Ours.Count, r.Workflows.Ours.Seconds)
	for _, sh := range r.Shapes {
		fmt.Fprintf(w, "shape %s: %.1f/s (%d in %.1f s)\n", sh.Name, sh.PerSec, sh.Count, sh.Seconds)
	}
	if r.Histories != nil {
		fmt.Fprintf(w, "transaction histories: %s\n", r.Histories)
	}
	fmt.Fprintln(w, "\nratios to the floors:")
	for _, x := range r.Ratios {
		fmt.Fprintf(w, "  %-75s %8.2f / %8.2f = %5.2fx\n", x.What, x.Ours, x.Floor, x.Ratio)
	}
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Targets {
		mark := "MISSED"
		if t.Met {
			mark = "met"
		}
		fmt.Fprintf(w, "  %-6s %-95s %.2fx (goal %s)\n", mark, t.What, t.Ratio, t.Goal)
	}
	fmt.Fprintln(w, "\nCPU seconds by process per phase:")
	for _, p := range r.Phases {
		fmt.Fprintf(w, "  %-22s wall %6.1f s, machine busy %.2f cores: %s\n", p.Name, p.CPU.Wall, p.CPU.Cores, cpuLine(p.CPU))
	}
	l := r.Loss
	fmt.Fprintf(w, "\nloss check: expected %d transactions; PostgreSQL: %d rows, %d final, %d lost, %d not final, %d wrong state, %d unexpected; outbox undelivered %d\n",
		l.Expected, l.Rows, l.FinalRows, l.LostRows, l.NotFinal, l.WrongState, l.UnexpectedRows, l.OutboxUndelivered)
	fmt.Fprintf(w, "            Temporal: %d workflow executions (TxProvider eko %d, partner %d), %d lost, %d duplicated, %d not completed, %d unexpected\n",
		l.Workflows, l.WorkflowsEko, l.WorkflowsPartner, l.LostWorkflows, l.DuplicatedWorkflows, l.NotCompleted, l.UnexpectedWorkflows)
	if l.EventsChecked {
		fmt.Fprintf(w, "            events: %d final transactions with their event acknowledged once, %d missing, %d unacknowledged, %d delivered twice, %d bad signatures, %d never received\n",
			l.EventsOK, l.EventsMissing, l.EventsUnacknowledged, l.EventsDuplicated, l.EventsBadSignature, l.EventsNotReceived)
	}
	for _, e := range l.Examples {
		fmt.Fprintf(w, "            e.g. %s\n", e)
	}
	if l.OK() {
		fmt.Fprintln(w, "            OK: zero lost, zero duplicated")
	} else {
		fmt.Fprintln(w, "            FAILED")
	}
	for _, s := range r.Summaries {
		for msg, n := range s.ErrorKinds {
			fmt.Fprintf(w, "errors in %s: %d x %s\n", s.Name, n, msg)
		}
	}
}

// perSec is a summary's throughput, "-" for durations that are not requests (time to final state).
func perSec(s Summary) string {
	if s.PerSec == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", s.PerSec)
}

func cpuLine(u CPUUse) string {
	names := make([]string, 0, len(u.Seconds))
	for n := range u.Seconds {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return u.Seconds[names[i]] > u.Seconds[names[j]] })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.1f", n, u.Seconds[n])
	}
	return strings.Join(parts, ", ")
}

// markdown renders the results table for BENCHMARKS.md.
func (r *Results) markdown() string {
	var b strings.Builder
	fmt.Fprintln(&b, "| what | count | errors | p50 ms | p95 ms | p99 ms | max ms | per s |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.Summaries {
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %s |\n", s.Name, s.Count, s.Errors, s.P50, s.P95, s.P99, s.Max, perSec(s))
	}
	fmt.Fprintf(&b, "\nWorkflows started and completed: trivial workflow %.1f/s (%d in %.1f s); transaction workflows %.1f/s (%d in %.1f s).\n",
		r.Workflows.Floor.PerSec, r.Workflows.Floor.Count, r.Workflows.Floor.Seconds,
		r.Workflows.Ours.PerSec, r.Workflows.Ours.Count, r.Workflows.Ours.Seconds)
	for _, sh := range r.Shapes {
		fmt.Fprintf(&b, "No-op workflow shaped like Transaction, %s: %.1f/s (%d in %.1f s).\n", sh.Name, sh.PerSec, sh.Count, sh.Seconds)
	}
	if r.Histories != nil {
		fmt.Fprintf(&b, "Transaction histories: %s.\n", r.Histories)
	}
	fmt.Fprintln(&b, "\n| ratio | ours | floor | ratio |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|")
	for _, x := range r.Ratios {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2fx |\n", x.What, x.Ours, x.Floor, x.Ratio)
	}
	fmt.Fprintln(&b, "\n| target | measured | goal | met |")
	fmt.Fprintln(&b, "|---|---:|---:|---|")
	for _, t := range r.Targets {
		met := "**missed**"
		if t.Met {
			met = "met"
		}
		fmt.Fprintf(&b, "| %s | %.2fx | %s | %s |\n", t.What, t.Ratio, t.Goal, met)
	}
	fmt.Fprintln(&b, "\n| phase | wall s | busy cores | CPU seconds by process |")
	fmt.Fprintln(&b, "|---|---:|---:|---|")
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "| %s | %.1f | %.2f | %s |\n", p.Name, p.CPU.Wall, p.CPU.Cores, cpuLine(p.CPU))
	}
	l := r.Loss
	fmt.Fprintf(&b, "\nLoss check: %d expected; PostgreSQL %d rows, %d final, %d lost, %d not final, %d wrong state, %d unexpected, outbox undelivered %d; "+
		"Temporal %d executions (TxProvider=\"eko\" %d, partner %d), %d lost, %d duplicated, %d not completed, %d unexpected.\n",
		l.Expected, l.Rows, l.FinalRows, l.LostRows, l.NotFinal, l.WrongState, l.UnexpectedRows, l.OutboxUndelivered,
		l.Workflows, l.WorkflowsEko, l.WorkflowsPartner, l.LostWorkflows, l.DuplicatedWorkflows, l.NotCompleted, l.UnexpectedWorkflows)
	return b.String()
}

func (r *Results) write(o benchOpts) error {
	if o.outJSON != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(o.outJSON, b); err != nil {
			return err
		}
	}
	if o.outMD != "" {
		if err := writeFile(o.outMD, []byte(r.markdown())); err != nil {
			return err
		}
	}
	if o.outPNG != "" {
		if err := os.MkdirAll(filepath.Dir(o.outPNG), 0o755); err != nil {
			return err
		}
		if err := r.histogram(o.outPNG); err != nil {
			return fmt.Errorf("latency histogram: %w", err)
		}
	}
	return nil
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotalMiB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			fmt.Sscanf(strings.TrimPrefix(l, "MemTotal:"), "%d", &kb)
		}
	}
	return kb / 1024
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
