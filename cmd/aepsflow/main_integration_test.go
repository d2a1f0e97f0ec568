package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/testenv"
)

// migratedDB returns a fresh, migrated database's URL and a handle on it, closed when the test ends.
func migratedDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dbURL := testenv.Postgres(t)
	sqlDB, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if err := db.Migrate(context.Background(), sqlDB, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return dbURL, sqlDB
}

// buildBinary builds aepsflow once for this test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aepsflow")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// A request that is in flight when SIGTERM arrives is still answered (and recorded) before the
// process exits; secrets never reach the log.
func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	dbURL, sqlDB := migratedDB(t)
	if _, err := sqlDB.Exec(`INSERT INTO agents (user_code) VALUES ('20810200')`); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	const accessKey = "graceful-test-access-key-123"
	cmd := exec.Command(buildBinary(t), "api")
	cmd.Env = append(os.Environ(), "APP_ENV=production", "DATABASE_URL="+dbURL, "HTTP_ADDR="+addr,
		"TEMPORAL_ADDRESS=127.0.0.1:1", // Temporal is not needed to confirm a debit-hook
		"EKO_ACCESS_KEY="+accessKey, "EKO_DEVELOPER_KEY=dev-key-graceful", "EKO_INITIATOR_ID=9999999999",
		"ADMIN_TOKEN=admin-token-graceful-123", "GATEWAY_TOKEN=gateway-token-graceful-123",
		"GATEWAY_CALLBACK_URL=https://aeps.example.com/eko/aeps/callback",
		"REQUIRE_GATEWAY_SESSION=false") // this test is about draining, not launches
	logs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	testenv.WaitFor(t, 20*time.Second, "api to answer /healthz", func() (bool, error) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})

	body := `{"action":"debit-hook","detail":{"client_ref_id":"9876543210123","request_hash_params":["customer_id","amount","user_code"],` +
		`"data":{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100"}}}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Expect: 100-continue makes "in flight" observable: Go's server answers 100 Continue only
	// once the handler has started reading the body, so the request is past the accept backlog.
	fmt.Fprintf(conn, "POST /eko/aeps/callback HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	if line, err := rd.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if _, err := rd.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the api to start draining", func() (bool, error) {
		return strings.Contains(logs.String(), "draining in-flight requests"), nil
	})
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatalf("finish the in-flight request: %v", err)
	}
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("in-flight request got no reply: %v\nlogs:\n%s", err, logs.String())
	}
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(reply), `"allow":true`) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, reply)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the api did not exit after draining")
	}
	var n int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM transactions WHERE client_ref_id = '9876543210123'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("transaction rows = %d (%v), want 1", n, err)
	}
	for _, secret := range []string{accessKey, "dev-key-graceful", "admin-token-graceful-123"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a secret reached the log")
		}
	}
}

// Outside development a missing secret stops the process at start-up with a message naming it.
func TestMissingSecretIsAStartupError(t *testing.T) {
	cmd := exec.Command(buildBinary(t), "api")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "APP_ENV=production", "DATABASE_URL=postgres://127.0.0.1:1/x"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("api started without secrets:\n%s", out)
	}
	for _, name := range []string{"EKO_ACCESS_KEY", "EKO_DEVELOPER_KEY", "EKO_INITIATOR_ID", "ADMIN_TOKEN"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("start-up error does not name %s:\n%s", name, out)
		}
	}
}
