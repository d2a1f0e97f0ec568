package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustNew(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestBucketAndStorageBound: a client gets its burst, then one request per 1/rate; of its
// refusals, StoreBurst are stored and the rest only counted, and the next stored one says how
// many were only counted.
func TestBucketAndStorageBound(t *testing.T) {
	l := mustNew(t, Config{Rate: 1, Burst: 3, StoreRate: 1.0 / 60, StoreBurst: 2, MaxClients: 10})
	var got []string
	for i := range 8 {
		v := l.Take("a", t0.Add(time.Duration(i)*time.Millisecond))
		got = append(got, fmt.Sprintf("%v/%v/%d", v.Allowed, v.Store, v.Unstored))
		if !v.Allowed && (v.RetryAfter <= 0 || v.RetryAfter > time.Second) {
			t.Errorf("request %d: RetryAfter %s, want within 1s", i, v.RetryAfter)
		}
	}
	want := []string{"true/false/0", "true/false/0", "true/false/0", "false/true/0", "false/true/0",
		"false/false/1", "false/false/2", "false/false/3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
	// One second later one more request is allowed; a minute later one more refusal is stored,
	// reporting the three only counted.
	if v := l.Take("a", t0.Add(1010*time.Millisecond)); !v.Allowed {
		t.Fatalf("after 1s: %+v, want allowed", v)
	}
	for i := 0; ; i++ {
		v := l.Take("a", t0.Add(61*time.Second))
		if v.Allowed {
			continue // the bucket refilled meanwhile
		}
		if !v.Store || v.Unstored != 3 || i != 3 {
			t.Fatalf("a minute later, request %d: %+v, want the 4th refused and stored, reporting 3 counted", i, v)
		}
		break
	}
	// Another client has its own bucket.
	if v := l.Take("b", t0); !v.Allowed {
		t.Fatalf("client b: %+v", v)
	}
}

// TestClientsBounded: the map never holds more than MaxClients, and idle clients are forgotten
// once their buckets are full again.
func TestClientsBounded(t *testing.T) {
	l := mustNew(t, Config{Rate: 10, Burst: 10, StoreRate: 1, StoreBurst: 5, MaxClients: 100})
	for i := range 1000 {
		l.Take(fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0)
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("%d clients tracked, want the cap of 100", n)
	}
	// Idle 4s: the request bucket (1s to refill) is full, the storage bucket (5s) is not yet.
	l.Take("x", t0.Add(4*time.Second))
	if n := l.Len(); n != 100 {
		t.Fatalf("after 4s: %d clients, want 100 (not yet idle)", n)
	}
	l.Take("x", t0.Add(6*time.Second))
	if n := l.Len(); n != 1 {
		t.Fatalf("after 6s: %d clients, want only the active one", n)
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":                "203.0.113.7",
		"::ffff:203.0.113.7":         "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:0:1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"not an address":             "not an address",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRejectsNonsense(t *testing.T) {
	for _, cfg := range []Config{
		{Rate: 0, Burst: 1, StoreRate: 1, StoreBurst: 1, MaxClients: 1},
		{Rate: 1, Burst: 0, StoreRate: 1, StoreBurst: 1, MaxClients: 1},
		{Rate: 1, Burst: 1, StoreRate: 1, StoreBurst: 1, MaxClients: 0},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
