package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times: 100 on every Linux this runs on.
const clockTicks = 100

// cpuWatch accounts CPU time to the processes of the stack during a phase, from /proc: which
// process spends the CPU is the first question when a target is missed on a 2-core machine.
type cpuWatch struct {
	named   map[string]func() int // name -> current pid (0 when unknown)
	pgMatch string                // PostgreSQL backends whose command line contains this (the bench database)
}

// cpuSnap is CPU ticks per process name at one instant, plus the machine's busy and total ticks.
type cpuSnap struct {
	procs map[string]uint64
	pg    map[int]uint64
	busy  uint64
	total uint64
}

func (w *cpuWatch) snap() cpuSnap {
	s := cpuSnap{procs: map[string]uint64{}, pg: map[int]uint64{}}
	for name, pid := range w.named {
		if p := pid(); p > 0 {
			s.procs[name] = procTicks(p)
		}
	}
	if w.pgMatch != "" {
		for _, pid := range pidsMatching(w.pgMatch) {
			s.pg[pid] = procTicks(pid)
		}
	}
	s.busy, s.total = machineTicks()
	return s
}

// CPUUse is CPU seconds per process over a phase.
type CPUUse struct {
	Seconds map[string]float64 `json:"seconds"` // by process; "postgres" is the bench database's backends, "other" the rest of the machine
	Wall    float64            `json:"wall_s"`
	Cores   float64            `json:"machine_busy_cores"` // average busy cores over the phase
}

func (w *cpuWatch) since(a, b cpuSnap, wall float64) CPUUse {
	u := CPUUse{Seconds: map[string]float64{}, Wall: wall}
	var ours uint64
	for name, end := range b.procs {
		if start, ok := a.procs[name]; ok && end >= start {
			u.Seconds[name] = float64(end-start) / clockTicks
			ours += end - start
		}
	}
	var pg uint64
	for pid, end := range b.pg {
		start := a.pg[pid] // a backend that connected during the phase counts from zero
		if end >= start {
			pg += end - start
		}
	}
	if w.pgMatch != "" {
		u.Seconds["postgres"] = float64(pg) / clockTicks
		ours += pg
	}
	if b.busy >= a.busy {
		busy := b.busy - a.busy
		if busy > ours {
			u.Seconds["other"] = float64(busy-ours) / clockTicks
		}
		if b.total > a.total {
			u.Cores = float64(busy) / float64(b.total-a.total) * float64(ncpu())
		}
	}
	return u
}

// procTicks is a process's user+system CPU ticks (0 when it is gone).
func procTicks(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may contain spaces: split after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return ut + st
}

// machineTicks returns busy and total ticks of all CPUs from /proc/stat.
func machineTicks() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total // both summed over all CPUs, in the unit of process CPU times
}

func ncpu() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 1
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "cpu") && len(l) > 3 && l[3] >= '0' && l[3] <= '9' {
			n++
		}
	}
	return max(n, 1)
}

// pidsMatching lists PostgreSQL backends (command line "postgres: ...") whose command line
// contains s, e.g. the database name.
func pidsMatching(s string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/cmdline")
		if err != nil || !bytes.HasPrefix(b, []byte("postgres:")) || !bytes.Contains(b, []byte(s)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// pidSource parses "name=PID" or "name=@pidfile" (read at every snapshot: a restarted server has
// a new pid).
func pidSource(spec string) (string, func() int, error) {
	name, v, ok := strings.Cut(spec, "=")
	if !ok || name == "" || v == "" {
		return "", nil, fmt.Errorf("%q is not name=PID or name=@pidfile", spec)
	}
	if file, isFile := strings.CutPrefix(v, "@"); isFile {
		return name, func() int {
			b, err := os.ReadFile(file)
			if err != nil {
				return 0
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return pid
		}, nil
	}
	pid, err := strconv.Atoi(v)
	if err != nil {
		return "", nil, fmt.Errorf("%q: bad pid", spec)
	}
	return name, func() int { return pid }, nil
}
