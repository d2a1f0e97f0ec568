package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// fakeTB records Fatalf/Skipf instead of ending the real test; like the real ones they end the
// calling goroutine, so code under test runs in its own goroutine (see capture).
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	failed  bool
	skipped bool
	msg     string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// capture runs fn against a fakeTB and returns it once fn has returned or called Fatalf/Skipf.
func capture(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

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

func TestMissingEnvSkipsOrFailsUnderCI(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		call     func(testing.TB)
		wantFail bool
	}{
		{name: "Postgres by hand", ci: "", call: func(tb testing.TB) { Postgres(tb) }},
		{name: "Postgres in CI", ci: "true", call: func(tb testing.TB) { Postgres(tb) }, wantFail: true},
		{name: "TemporalAddress by hand", ci: "", call: func(tb testing.TB) { TemporalAddress(tb) }},
		{name: "TemporalAddress in CI", ci: "true", call: func(tb testing.TB) { TemporalAddress(tb) }, wantFail: true},
		{name: "StartDevServer by hand", ci: "", call: func(tb testing.TB) { StartDevServer(tb, "") }},
		{name: "StartDevServer in CI", ci: "true", call: func(tb testing.TB) { StartDevServer(tb, "") }, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv(envDatabaseURL, "")
			t.Setenv(envTemporalAddress, "")
			t.Setenv(envTemporalCLI, "")
			f := capture(t, tt.call)
			if f.failed != tt.wantFail || f.skipped == tt.wantFail {
				t.Fatalf("failed=%v skipped=%v, want failed=%v skipped=%v (msg %q)", f.failed, f.skipped, tt.wantFail, !tt.wantFail, f.msg)
			}
			if !strings.Contains(f.msg, "make test") {
				t.Errorf("message %q does not tell how to run the tests", f.msg)
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

func TestPostgresGivesEachTestItsOwnDatabase(t *testing.T) {
	admin := require(t, envDatabaseURL, "PostgreSQL")
	var first, second string
	t.Run("use", func(t *testing.T) {
		first, second = Postgres(t), Postgres(t)
		if first == second {
			t.Fatalf("two calls returned the same database %s", first)
		}
		for _, dbURL := range []string{first, second} {
			db, err := sql.Open("postgres", dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var name string
			if err := db.QueryRow("select current_database()").Scan(&name); err != nil {
				t.Fatalf("query %s: %v", dbURL, err)
			}
			if want := dbName(t, dbURL); name != want || !strings.HasPrefix(name, "aepsflow_t_") {
				t.Errorf("connected to %q, want %q with prefix aepsflow_t_", name, want)
			}
			if _, err := db.Exec("create table t (id bigint primary key); insert into t values (1)"); err != nil {
				t.Fatalf("use %s: %v", dbURL, err)
			}
			// The connection stays open on purpose: the drop must not be blocked by it.
		}
	})

	// The subtest's cleanups have run: both databases must be gone.
	db, err := sql.Open("postgres", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, dbURL := range []string{first, second} {
		var n int
		if err := db.QueryRow("select count(*) from pg_database where datname = $1", dbName(t, dbURL)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after its test ended", dbName(t, dbURL))
		}
	}
}

func dbName(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func TestTemporalAddressAnswers(t *testing.T) {
	addr := TemporalAddress(t)
	if err := checkHealth(addr); err != nil {
		t.Fatalf("shared dev server %s: %v", addr, err)
	}
}

// TestDevServerStopStart is the round trip a fault test relies on: a workflow started before a
// restart is still there afterwards, on the same address, with its search attribute.
func TestDevServerStopStart(t *testing.T) {
	srv := StartDevServer(t, filepath.Join(t.TempDir(), "temporal.db"))
	addr := srv.Address()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c := dial(ctx, t, addr)
	txState := temporal.NewSearchAttributeKeyKeyword("TxState")
	// Starting with TxState fails unless the server registered it. No worker serves this type: the
	// workflow just stays open, which is all this test needs.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "testenv-restart",
		TaskQueue:             "testenv",
		TypedSearchAttributes: temporal.NewSearchAttributes(txState.ValueSet("pending")),
	}, "NoSuchWorkflow")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	c.Close()

	srv.Stop()
	if err := checkHealth(addr); err == nil {
		t.Fatalf("%s still answers after Stop", addr)
	}
	srv.Stop() // a second Stop is a no-op
	srv.Start()
	if srv.Address() != addr {
		t.Fatalf("address changed across restart: %s -> %s", addr, srv.Address())
	}

	c = dial(ctx, t, addr)
	defer c.Close()
	desc, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("describe workflow after restart: %v", err)
	}
	if got := desc.Status.String(); got != "Running" {
		t.Errorf("status after restart = %s, want Running", got)
	}
	if got, ok := desc.TypedSearchAttributes.GetKeyword(txState); !ok || got != "pending" {
		t.Errorf("TxState after restart = %q (set %v), want pending", got, ok)
	}
}

func dial(ctx context.Context, t *testing.T, addr string) client.Client {
	t.Helper()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return c
}
