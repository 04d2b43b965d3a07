package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// server is the running Telltale, in a temporary directory.
type server struct {
	*benchproc.Telltale
	dir string // temporary: config and data
}

// startTelltale writes the config to a temporary directory, starts Telltale
// there with a fresh data directory, and waits for /readyz.
func startTelltale(ctx context.Context, bin string, extra []string, yaml, logPath string, timeout time.Duration) (*server, time.Duration, error) {
	dir, err := os.MkdirTemp("", "sentrybench-*")
	if err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "telltale.yaml"), []byte(yaml), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, 0, err
	}
	t, ready, err := benchproc.StartTelltale(ctx, bin, dir, extra, logPath, timeout)
	if err != nil {
		os.RemoveAll(dir)
		return nil, 0, err
	}
	return &server{Telltale: t, dir: dir}, ready, nil
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
