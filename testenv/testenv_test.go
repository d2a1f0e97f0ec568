package testenv

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	errBusy := errors.New("still busy")
	tests := []struct {
		name        string
		succeedAt   int // attempt that returns true; 0 = never
		err         error
		timeout     time.Duration
		wantFail    bool
		wantInMsg   []string
		maxDuration time.Duration
	}{
		{name: "true at once", succeedAt: 1, timeout: time.Second, maxDuration: 50 * time.Millisecond},
		{name: "true on the fifth attempt", succeedAt: 5, err: errBusy, timeout: 5 * time.Second, maxDuration: 2 * time.Second},
		{name: "never true, with an error", err: errBusy, timeout: 300 * time.Millisecond, wantFail: true,
			wantInMsg: []string{"the widget", "still busy", "300ms"}, maxDuration: 2 * time.Second},
		{name: "never true, no error", timeout: 100 * time.Millisecond, wantFail: true,
			wantInMsg: []string{"the widget"}, maxDuration: 2 * time.Second},
		{name: "zero timeout still tries once", succeedAt: 1, timeout: 0, maxDuration: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			attempts := 0
			start := time.Now()
			f := capture(t, func(tb testing.TB) {
				WaitFor(tb, tt.timeout, "the widget", func() (bool, error) {
					attempts++
					if tt.succeedAt > 0 && attempts >= tt.succeedAt {
						return true, nil
					}
					return false, tt.err
				})
			})
			elapsed := time.Since(start)
			if f.failed != tt.wantFail {
				t.Fatalf("failed = %v, want %v (msg %q)", f.failed, tt.wantFail, f.msg)
			}
			for _, want := range tt.wantInMsg {
				if !strings.Contains(f.msg, want) {
					t.Errorf("message %q does not contain %q", f.msg, want)
				}
			}
			if tt.succeedAt > 0 && attempts != tt.succeedAt {
				t.Errorf("cond called %d times, want %d", attempts, tt.succeedAt)
			}
			if tt.wantFail && elapsed < tt.timeout {
				t.Errorf("gave up after %v, before the %v timeout", elapsed, tt.timeout)
			}
			if elapsed > tt.maxDuration {
				t.Errorf("took %v, want at most %v", elapsed, tt.maxDuration)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		admin, want string
	}{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/x_1?sslmode=disable"},
		{"postgresql://u:p%40ss@db:5432/?sslmode=require", "postgresql://u:p%40ss@db:5432/x_1?sslmode=require"},
		{"postgres://u@db", "postgres://u@db/x_1"},
		{"host=db user=u sslmode=disable", "host=db user=u sslmode=disable dbname=x_1"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.admin, "x_1")
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tt.admin, got, err, tt.want)
		}
	}
}

// TestNamingRule: a test that reaches PostgreSQL or Temporal from a file not named
// *_integration_test.go (this one) fails, naming the file and the rule, whatever the environment.
func TestNamingRule(t *testing.T) {
	for name, call := range map[string]func(testing.TB){
		"Postgres":        func(tb testing.TB) { Postgres(tb) },
		"TemporalAddress": func(tb testing.TB) { TemporalAddress(tb) },
		"StartDevServer":  func(tb testing.TB) { StartDevServer(tb, "") },
	} {
		t.Run(name, func(t *testing.T) {
			f := capture(t, call)
			if !f.failed {
				t.Fatalf("%s from testenv_test.go did not fail (skipped=%v, msg %q)", name, f.skipped, f.msg)
			}
			for _, want := range []string{"testenv_test.go:", IntegrationSuffix, "README"} {
				if !strings.Contains(f.msg, want) {
					t.Errorf("message %q does not contain %q", f.msg, want)
				}
			}
		})
	}
}
