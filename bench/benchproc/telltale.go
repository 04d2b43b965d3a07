package benchproc

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// Telltale is a running `telltale serve`.
type Telltale struct {
	*Process
	// URL is the base URL of its HTTP listener.
	URL string
	// DataDir is its data directory.
	DataDir string
	// Client is an HTTP client for it.
	Client *http.Client
}

// StartTelltale starts `bin serve` with the config dir/telltale.yaml and
// the data directory dir/data, HTTP on a free loopback port, statsd on any
// free one, and the extra arguments; it waits until /readyz answers within
// timeout and returns how long that took.
func StartTelltale(ctx context.Context, bin, dir string, extra []string, logPath string, timeout time.Duration) (*Telltale, time.Duration, error) {
	port, err := FreePort(false)
	if err != nil {
		return nil, 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	t := &Telltale{URL: "http://" + addr, DataDir: filepath.Join(dir, "data"), Client: &http.Client{Timeout: time.Minute}}
	args := append([]string{"serve", "-config", filepath.Join(dir, "telltale.yaml"), "-data-dir", t.DataDir, "-http-addr", addr, "-statsd-addr", "127.0.0.1:0"}, extra...)
	start := time.Now()
	if t.Process, err = Start("telltale", bin, args, logPath); err != nil {
		return nil, 0, err
	}
	if err := t.WaitReady(ctx, t.Client, t.URL+"/readyz", timeout); err != nil {
		t.Stop()
		return nil, 0, err
	}
	return t, time.Since(start), nil
}
