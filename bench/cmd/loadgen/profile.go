package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// profiler takes CPU profiles of the service's processes over their PPROF_ADDR while a phase runs.
type profiler struct {
	targets map[string]string // name -> host:port of net/http/pprof
	dir     string
	seconds int
}

// capture starts a CPU profile of each named target for p.seconds and returns a function that
// waits for them. Failures are reported, never fatal: a profile is evidence, not a result.
func (p *profiler) capture(ctx context.Context, phase string, names ...string) func() {
	if p == nil || p.dir == "" || len(p.targets) == 0 {
		return func() {}
	}
	var wg sync.WaitGroup
	for _, name := range names {
		addr, ok := p.targets[name]
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			file := filepath.Join(p.dir, fmt.Sprintf("%s-%s.pprof", phase, name))
			if err := fetchProfile(ctx, addr, p.seconds, file); err != nil {
				fmt.Fprintf(os.Stderr, "loadgen: profile of %s during %s: %v\n", name, phase, err)
			}
		}()
	}
	return wg.Wait
}

func fetchProfile(ctx context.Context, addr string, seconds int, file string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", strings.TrimPrefix(addr, "http://"), seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
