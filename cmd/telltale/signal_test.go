package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for telltale in a child process,
// so that a test can send it real signals.
func TestMain(m *testing.M) {
	if os.Getenv("TELLTALE_TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// child is telltale running as a child process (the test binary, see
// TestMain), with its log lines.
type child struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs chan string
	all  strings.Builder
}

// startChild starts `telltale args...` as a child process; it is killed
// when the test ends.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{t: t, cmd: exec.Command(os.Args[0], args...), logs: make(chan string, 100)}
	c.cmd.Env = append(os.Environ(), "TELLTALE_TEST_RUN_MAIN=1")
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.logs <- sc.Text()
		}
		close(c.logs)
	}()
	return c
}

// next waits for a log line matching pattern and returns its submatches.
func (c *child) next(pattern string) []string {
	c.t.Helper()
	re := regexp.MustCompile(pattern)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-c.logs:
			if !ok {
				c.t.Fatalf("log ended before %q:\n%s", pattern, c.all.String())
			}
			c.all.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			c.t.Fatalf("no log line like %q:\n%s", pattern, c.all.String())
		}
	}
}

// addrs waits for the start line and returns the HTTP and statsd addresses.
func (c *child) addrs() (httpAddr, statsdAddr string) {
	c.t.Helper()
	m := c.next(`msg="telltale started".* http=(\S+) statsd_udp=(\S+)`)
	return m[1], m[2]
}

// TestSIGTERM runs telltale as a child process, sends it lines, then
// SIGTERM: it must drain, make its final flush with every series and exit 0.
func TestSIGTERM(t *testing.T) {
	c := startChild(t, "serve", "-data-dir", t.TempDir(),
		"-http-addr", "127.0.0.1:0", "-statsd-addr", "127.0.0.1:0", "-flush-interval", "1h")
	httpAddr, statsdAddr := c.addrs()

	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "sigterm.series_%d:1|c\n", i)
	}
	send(t, "udp", statsdAddr, b.String())
	send(t, "tcp", statsdAddr, "sigterm.tcp:1|c\n")
	eventually(t, "lines on /metrics", func() error {
		resp, err := http.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), "sigterm_series_49 1") || !strings.Contains(string(body), "sigterm_tcp 1") {
			return fmt.Errorf("not yet")
		}
		return nil
	})

	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	m := c.next(`msg="final flush" series=(\d+)`)
	if m[1] != "51" {
		t.Errorf("final flush had %s series, want 51", m[1])
	}
	for range c.logs { // drain until the child closes stderr
	}
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("telltale exited with %v after SIGTERM, want 0", err)
	}
}
