//go:build faults && linux

package faults

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lib/pq"
)

// pgCluster is a private PostgreSQL cluster: initdb into a temporary directory, pg_ctl on a free
// port. As root, the server binaries refuse to run, so they run as user postgres (runuser), as
// scripts/pg.sh does.
type pgCluster struct {
	bindir string
	dir    string // owned by the cluster's user
	port   int
	runAs  string // "" when we are not root

	mu      sync.Mutex
	running bool
}

// findPGBinDir returns a directory holding initdb, pg_ctl and postgres.
func findPGBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	candidates = append(candidates, dirs...)
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) in `pg_config --bindir` or /usr/lib/postgresql/*/bin; install postgresql")
}

func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

// newPGCluster creates (initdb) and starts a cluster on a free port.
func newPGCluster() (*pgCluster, error) {
	bindir, err := findPGBinDir()
	if err != nil {
		return nil, err
	}
	c := &pgCluster{bindir: bindir}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
	}
	c.dir, err = os.MkdirTemp("", "aepsflow-faults-pg-")
	if err != nil {
		return nil, fmt.Errorf("make cluster directory: %w", err)
	}
	if c.runAs != "" {
		u, err := user.Lookup(c.runAs)
		if err != nil {
			return nil, fmt.Errorf("running as root needs a %q user to own the cluster: %w", c.runAs, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return nil, fmt.Errorf("chown cluster directory: %w", err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	return c, c.Start()
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of the server binaries as the cluster's user, from / (the user may not be allowed
// into our working directory).
func (c *pgCluster) run(tool string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.bindir, tool)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// Start starts the server (no-op when running) and waits until it accepts connections.
func (c *pgCluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200", c.port, c.dir)
	if out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, c.logTail())
	}
	c.running = true
	return nil
}

// Stop stops the server as an operator's fast shutdown does: open connections are terminated.
func (c *pgCluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	c.running = false
	return nil
}

// Destroy stops the server and deletes its data.
func (c *pgCluster) Destroy() {
	_ = c.Stop()
	_ = os.RemoveAll(c.dir)
}

func (c *pgCluster) AdminURL() string { return c.URL("postgres") }

func (c *pgCluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// CreateDatabase creates a fresh database and returns its URL.
func (c *pgCluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	db, err := sql.Open("postgres", c.AdminURL())
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

func (c *pgCluster) logTail() string {
	b, err := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
