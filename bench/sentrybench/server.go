package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// errNotReady reports a server that did not become ready in time.
var errNotReady = errors.New("sentrybench: telltale not ready")

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
	cmd     *exec.Cmd
	url     string
	dir     string // temporary: config and data
	dataDir string
	log     *os.File
	exited  chan error
	client  *http.Client
}

// startTelltale writes the config, starts `bin serve` on a free loopback
// port with a fresh data directory, and waits for /readyz.
func startTelltale(ctx context.Context, bin string, extra []string, yaml, logPath string, timeout time.Duration) (*server, time.Duration, error) {
	port, err := freePort()
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
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &server{
		url:     "http://" + addr,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		log:     logFile,
		exited:  make(chan error, 1),
		client:  &http.Client{Timeout: time.Minute},
	}
	args := append([]string{"serve", "-config", cfgPath, "-data-dir", s.dataDir, "-http-addr", addr, "-statsd-addr", "127.0.0.1:0"}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	if err := s.waitReady(ctx, timeout); err != nil {
		s.stop()
		return nil, 0, err
	}
	return s, time.Since(start), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("%w: exited: %v (see %s)", errNotReady, err, s.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: no 200 on /readyz within %v (see %s)", errNotReady, timeout, s.log.Name())
}

// alive reports whether the process still runs.
func (s *server) alive() error {
	select {
	case err := <-s.exited:
		s.exited <- err
		return fmt.Errorf("sentrybench: telltale exited: %v (see %s)", err, s.log.Name())
	default:
		return nil
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 15 s) and removes the
// temporary directory.
func (s *server) stop() {
	if s.alive() == nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.log.Close()
	os.RemoveAll(s.dir)
}

// procStats are one reading of /proc/PID.
type procStats struct {
	cpu time.Duration // utime + stime
	rss int64         // VmRSS, bytes
	hwm int64         // VmHWM, bytes
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's utime and stime.
const clockTick = 10 * time.Millisecond

func readProc(pid int) (procStats, error) {
	var st procStats
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return st, err
	}
	if st.cpu, err = parseStatCPU(stat); err != nil {
		return st, err
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return st, err
	}
	st.rss = statusBytes(status, "VmRSS:")
	st.hwm = statusBytes(status, "VmHWM:")
	return st, nil
}

// parseStatCPU returns utime + stime from /proc/PID/stat.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("sentrybench: malformed /proc/PID/stat")
	}
	// After ") ": state is field 3; utime and stime are fields 14 and 15.
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("sentrybench: short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * clockTick, nil
}

// statusBytes reads a "Key:   123 kB" line of /proc/PID/status.
func statusBytes(status []byte, key string) int64 {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			n, _ := strconv.ParseInt(string(f[0]), 10, 64)
			if len(f) > 1 && string(f[1]) == "kB" {
				n *= 1024
			}
			return n
		}
	}
	return 0
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
			if st, err := readProc(pid); err == nil {
				r.max = max(r.max, st.rss)
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

// dirBytes sums the disk space allocated to the regular files under dir,
// as du does: Badger preallocates and memory-maps files whose apparent size
// is far larger than what they hold.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}
