package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// recorder collects the latencies of one kind of request during a phase. It is safe for
// concurrent use.
type recorder struct {
	name string

	mu       sync.Mutex
	lat      []time.Duration
	errs     int
	errText  map[string]int
	first    time.Time // first request sent
	last     time.Time // last reply received
	override time.Duration
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, errText: map[string]int{}}
}

// add records one request that ran from start to end; err != nil counts it as failed (its
// latency is still kept: a slow failure is still slow).
func (r *recorder) add(start, end time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, end.Sub(start))
	if r.first.IsZero() || start.Before(r.first) {
		r.first = start
	}
	if end.After(r.last) {
		r.last = end
	}
	if err != nil {
		r.errs++
		msg := err.Error()
		if len(msg) > 160 {
			msg = msg[:160]
		}
		r.errText[msg]++
	}
}

// addDuration records a latency measured elsewhere (e.g. eko-response to final state).
func (r *recorder) addDuration(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, d)
}

// setElapsed fixes the window throughput is computed over (default: first send to last reply).
func (r *recorder) setElapsed(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.override = d
}

// Summary is a recorder's result.
type Summary struct {
	Name       string         `json:"name"`
	Count      int            `json:"count"`
	Errors     int            `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	P50        float64        `json:"p50_ms"`
	P95        float64        `json:"p95_ms"`
	P99        float64        `json:"p99_ms"`
	Max        float64        `json:"max_ms"`
	Mean       float64        `json:"mean_ms"`
	ElapsedSec float64        `json:"elapsed_s"`
	PerSec     float64        `json:"per_s"`
	// Latencies (ms) for the histogram; not written to JSON.
	Latencies []float64 `json:"-"`
}

func (r *recorder) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Name: r.name, Count: len(r.lat), Errors: r.errs}
	if len(r.errText) > 0 {
		s.ErrorKinds = map[string]int{}
		for k, v := range r.errText {
			s.ErrorKinds[k] = v
		}
	}
	if len(r.lat) == 0 {
		return s
	}
	ms := make([]float64, len(r.lat))
	var sum float64
	for i, d := range r.lat {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	slices.Sort(ms)
	s.P50, s.P95, s.P99 = percentile(ms, 50), percentile(ms, 95), percentile(ms, 99)
	s.Max = ms[len(ms)-1]
	s.Mean = sum / float64(len(ms))
	elapsed := r.last.Sub(r.first)
	if r.override > 0 {
		elapsed = r.override
	}
	if elapsed > 0 {
		s.ElapsedSec = elapsed.Seconds()
		s.PerSec = float64(len(ms)) / elapsed.Seconds()
	}
	s.Latencies = ms
	return s
}

// percentile of sorted values, nearest-rank: the smallest value with at least p% of the values at
// or below it (so p99 of 100 values is the 99th, and a p99 never hides the worst 1%).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
