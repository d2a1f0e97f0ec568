package testenv

import (
	"context"
	"database/sql"
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

// fakeTB records Fatalf/Skipf (used by the unit tests too; it is here because the naming rule
// looks at the file of the goroutine capture starts) instead of ending the real test; like the real ones they end the
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

// Tests of the test services themselves: they need PostgreSQL and a Temporal CLI.

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
