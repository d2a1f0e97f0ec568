// Package testenv gives tests the real services they run against: a fresh PostgreSQL database per
// test, the address of the shared Temporal dev server, and private Temporal dev servers that a test
// can stop and restart.
//
// `make test` (scripts/test.sh) provides them through the environment:
//
//	TEST_DATABASE_URL      admin URL of a PostgreSQL server; Postgres creates one database per test
//	TEST_TEMPORAL_ADDRESS  host:port of an in-memory Temporal dev server shared by the run
//	TEMPORAL_CLI           path of the `temporal` binary, for StartDevServer
//
// A test whose variable is missing is skipped when run by hand (plain `go test`), and fails when
// CI=true, so a CI run can never pass by skipping everything.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/searchattr"
)

const (
	envDatabaseURL     = "TEST_DATABASE_URL"
	envTemporalAddress = "TEST_TEMPORAL_ADDRESS"
	envTemporalCLI     = "TEMPORAL_CLI"
	envKeepDatabases   = "TESTENV_KEEP_DB" // "1": leave test databases behind for inspection

	startTimeout = 60 * time.Second
	stopTimeout  = 20 * time.Second
)

// require returns the value of env, or skips the test (fails it under CI=true) when it is unset.
// It also enforces the naming rule (see misnamed).
func require(t testing.TB, env, what string) string {
	t.Helper()
	if file, line, ok := misnamed(); ok {
		t.Fatalf("%s:%d needs %s: tests that need PostgreSQL or Temporal, and their helpers, live in "+
			"files named *%s (README, Testing)", filepath.Base(file), line, what, IntegrationSuffix)
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: this test needs %s, and under CI=true it must not be skipped; run it via `make test`", env, what)
	}
	t.Skipf("%s is not set: this test needs %s; run it via `make test`", env, what)
	return ""
}

// IntegrationSuffix ends the name of every test file whose tests need PostgreSQL or Temporal:
// the rule that lets a reader, and the tooling, tell them from unit tests.
const IntegrationSuffix = "_integration_test.go"

// misnamed reports the first test file on the caller's stack whose name lacks IntegrationSuffix.
func misnamed() (file string, line int, ok bool) {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.File, "_test.go") && !strings.HasSuffix(f.File, IntegrationSuffix) {
			return f.File, f.Line, true
		}
		if !more {
			return "", 0, false
		}
	}
}

// Postgres creates a fresh, uniquely named database on the server at TEST_DATABASE_URL, drops it
// (WITH (FORCE), so leftover connections do not block it) when the test ends, and returns its URL.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := require(t, envDatabaseURL, "PostgreSQL")
	name := "aepsflow_t_" + randomHex(t, 8)
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("%s: %v", envDatabaseURL, err)
	}

	db, err := sql.Open("postgres", admin)
	if err != nil {
		t.Fatalf("open %s: %v", envDatabaseURL, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// CREATE DATABASE copies template1 and fails while any other session is connected to it;
	// that is rare and brief, so retry it rather than fail the test.
	create := "CREATE DATABASE " + pq.QuoteIdentifier(name)
	WaitFor(t, 30*time.Second, "CREATE DATABASE "+name, func() (bool, error) {
		_, err := db.ExecContext(ctx, create)
		if err == nil {
			return true, nil
		}
		if strings.Contains(err.Error(), "is being accessed by other users") {
			return false, err
		}
		t.Fatalf("create test database %s on %s: %v", name, redactURL(admin), err)
		return false, err
	})

	t.Cleanup(func() {
		if os.Getenv(envKeepDatabases) == "1" {
			t.Logf("%s=1: keeping test database %s", envKeepDatabases, redactURL(dbURL))
			return
		}
		if err := dropDatabase(admin, name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return dbURL
}

func dropDatabase(admin, name string) error {
	db, err := sql.Open("postgres", admin)
	if err != nil {
		return fmt.Errorf("open admin connection: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	return nil
}

// withDatabase returns the connection string admin with its database replaced by name. Both URL
// (postgres://...) and key=value forms are accepted.
func withDatabase(admin, name string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// lib/pq lets a later key override an earlier one.
	return strings.TrimSpace(admin) + " dbname=" + name, nil
}

// redactURL hides a password, so a URL can go into test output.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return hex.EncodeToString(b)
}

// TemporalAddress returns the host:port of the Temporal dev server shared by the test run
// (TEST_TEMPORAL_ADDRESS). Tests sharing it should use unique workflow ids and task queues.
func TemporalAddress(t testing.TB) string {
	t.Helper()
	return require(t, envTemporalAddress, "a Temporal server")
}

// WaitFor calls cond every few milliseconds (backing off to 250 ms) until it returns true, and
// fails the test naming what it waited for, and cond's last error, once timeout has passed.
// cond is always called at least once.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 10 * time.Millisecond
	var lastErr error
	for attempt := 1; ; attempt++ {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if !time.Now().Before(deadline) {
			if lastErr == nil {
				t.Fatalf("timed out after %v (%d attempts) waiting for %s", timeout, attempt, what)
			} else {
				t.Fatalf("timed out after %v (%d attempts) waiting for %s: last error: %v", timeout, attempt, what, lastErr)
			}
			return
		}
		time.Sleep(min(interval, time.Until(deadline)))
		interval = min(2*interval, 250*time.Millisecond)
	}
}

// DevServer is a Temporal dev server (`temporal server start-dev`) owned by one test, on its own
// free port, for tests that stop and restart Temporal mid-test. With a database file its state
// survives Stop/Start; without one every Start begins empty.
type DevServer struct {
	t      testing.TB
	cli    string
	dbFile string
	port   int
	log    string   // process output of every run, appended
	attrs  []string // --search-attribute values, "Name=Type"

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// StartDevServer starts a dev server (headless, the aepsflow search attributes registered, state in
// dbFile when non-empty) with the binary at TEMPORAL_CLI, and waits until it answers. It is stopped
// when the test ends; if the test failed, the end of its log is printed.
func StartDevServer(t testing.TB, dbFile string) *DevServer {
	t.Helper()
	var attrs []string
	for _, k := range searchattr.All() {
		attrs = append(attrs, k.GetName()+"="+k.GetValueType().String())
	}
	return StartDevServerWithSearchAttributes(t, dbFile, attrs...)
}

// StartDevServerWithSearchAttributes is StartDevServer registering exactly attrs instead of
// aepsflow's, each as `--search-attribute` takes it ("Name=Type", e.g. "TxState=Keyword"); none
// when attrs is empty. It is for tests of a server that lacks some.
func StartDevServerWithSearchAttributes(t testing.TB, dbFile string, attrs ...string) *DevServer {
	t.Helper()
	cli := require(t, envTemporalCLI, "the temporal CLI binary")
	s := &DevServer{
		t:      t,
		cli:    cli,
		dbFile: dbFile,
		port:   freePort(t),
		log:    filepath.Join(t.TempDir(), "temporal-devserver.log"),
		attrs:  attrs,
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("temporal dev server %s log (%s), last lines:\n%s", s.Address(), s.log, tail(s.log, 40))
		}
	})
	s.Start()
	return s
}

// Address is the server's gRPC host:port; it stays the same across Stop and Start.
func (s *DevServer) Address() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Start starts the server again after Stop (same port, same database file) and waits until it
// answers. It does nothing while the server is running.
func (s *DevServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(s.port), "--headless", "--log-level", "warn"}
	for _, sa := range s.attrs {
		args = append(args, "--search-attribute", sa)
	}
	if s.dbFile != "" {
		args = append(args, "--db-filename", s.dbFile, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("open dev server log: %v", err)
	}
	fmt.Fprintf(logFile, "=== %s %s %s\n", time.Now().Format(time.RFC3339Nano), s.cli, strings.Join(args, " "))
	cmd := exec.Command(s.cli, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		s.t.Fatalf("start %s server start-dev: %v", s.cli, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	WaitFor(s.t, startTimeout, "temporal dev server on "+s.Address(), func() (bool, error) {
		select {
		case <-exited:
			s.t.Fatalf("temporal dev server on %s exited during startup (%v); log:\n%s", s.Address(), cmd.ProcessState, tail(s.log, 40))
		default:
		}
		err := checkHealth(s.Address())
		return err == nil, err
	})
}

// Stop sends SIGTERM and waits for the server to exit (SIGKILL after a deadline). It does nothing
// when the server is not running.
func (s *DevServer) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(stopTimeout):
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
		s.t.Errorf("temporal dev server on %s ignored SIGTERM for %v and was killed", s.Address(), stopTimeout)
	case <-time.After(5 * time.Second):
		s.t.Errorf("temporal dev server on %s (pid %d) did not exit even after SIGKILL", s.Address(), cmd.Process.Pid)
	}
}

// checkHealth returns nil once the frontend at addr answers a health check.
func checkHealth(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: quietLogger()})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return nil
}

// quietLogger keeps the SDK's connection chatter out of test output.
func quietLogger() tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another process could take it before
// the server binds it; start-dev then exits at once and Start reports that.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tail returns the last n lines of the file at path (or why it could not).
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// PostgresTool returns the path of a PostgreSQL client program (pg_dump, psql), looked up as
// scripts/pg.sh does: PATH, then `pg_config --bindir`, then /usr/lib/postgresql/*/bin, newest
// major version first. The test is skipped (failed under CI=true) when there is none.
func PostgresTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, d := range append(dirs, versions...) {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	msg := name + " not found in PATH, `pg_config --bindir` or /usr/lib/postgresql/*/bin (apt-get install postgresql-client)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func majorOf(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// SyncBuffer collects output written from other goroutines (a child process's copier, a
// relay's logger) while the test reads it. Past Max bytes (when set) further writes are dropped,
// so a long run cannot grow it without bound.
type SyncBuffer struct {
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max > 0 && b.buf.Len() > b.Max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Chromium returns the path of the headless Chromium the browser tests drive (TEST_CHROMIUM, set
// by `make test`), or skips the test (fails it under CI=true) when it is unset.
func Chromium(t testing.TB) string {
	t.Helper()
	return require(t, "TEST_CHROMIUM", "a Chromium browser (apt-get install chromium)")
}
