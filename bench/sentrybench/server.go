package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

// configYAML is Telltale's config for the run (DESIGN.md §2.2): one
// unlimited project and one API token.
func configYAML(org, project, key, token string) string {
	return fmt.Sprintf(`organization: %s
projects:
  - { id: 1, slug: %s, platform: go, keys: [%q], rate_limit: 0 }
auth:
  tokens: [%q]
`, org, project, key, token)
}

// server is the running Telltale.
type server struct {
	*benchproc.Process
	url     string
	dir     string // temporary: config and data
	dataDir string
	client  *http.Client
}

// startTelltale writes the config, starts `bin serve` on a free loopback
// port with a fresh data directory, and waits for /readyz.
func startTelltale(ctx context.Context, bin string, extra []string, yaml, logPath string, timeout time.Duration) (*server, time.Duration, error) {
	port, err := benchproc.FreePort(false)
	if err != nil {
		return nil, 0, err
	}
	dir, err := os.MkdirTemp("", "sentrybench-*")
	if err != nil {
		return nil, 0, err
	}
	cfgPath := filepath.Join(dir, "telltale.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &server{
		url:     "http://" + addr,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		client:  &http.Client{Timeout: time.Minute},
	}
	args := append([]string{"serve", "-config", cfgPath, "-data-dir", s.dataDir, "-http-addr", addr, "-statsd-addr", "127.0.0.1:0"}, extra...)
	start := time.Now()
	if s.Process, err = benchproc.Start("telltale", bin, args, logPath); err != nil {
		os.RemoveAll(dir)
		return nil, 0, err
	}
	if err := s.WaitReady(ctx, s.client, s.url+"/readyz", timeout); err != nil {
		s.stop()
		return nil, 0, err
	}
	return s, time.Since(start), nil
}

// stop ends the process and removes the temporary directory.
func (s *server) stop() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// rssSampler reads VmRSS every interval and keeps the largest.
type rssSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  int64
	n    int
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	r := &rssSampler{stop: make(chan struct{})}
	r.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if st, err := benchproc.Read(pid); err == nil {
				r.max = max(r.max, st.RSS)
				r.n++
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	})
	return r
}

// done stops the sampler and returns the largest RSS seen.
func (r *rssSampler) done() int64 {
	close(r.stop)
	r.wg.Wait()
	return r.max
}
