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

// TestSIGTERM runs telltale as a child process, sends it lines, then
// SIGTERM: it must drain, make its final flush with every series and exit 0.
func TestSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "-data-dir", t.TempDir(),
		"-http-addr", "127.0.0.1:0", "-statsd-addr", "127.0.0.1:0", "-flush-interval", "1h")
	cmd.Env = append(os.Environ(), "TELLTALE_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	var all strings.Builder
	next := func(pattern string) []string {
		t.Helper()
		re := regexp.MustCompile(pattern)
		timeout := time.After(10 * time.Second)
		for {
			select {
			case line, ok := <-logs:
				if !ok {
					t.Fatalf("log ended before %q:\n%s", pattern, all.String())
				}
				all.WriteString(line + "\n")
				if m := re.FindStringSubmatch(line); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no log line like %q:\n%s", pattern, all.String())
			}
		}
	}
	m := next(`msg="telltale started".* http=(\S+) statsd_udp=(\S+)`)
	httpAddr, statsdAddr := m[1], m[2]

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

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	m = next(`msg="final flush" series=(\d+)`)
	if m[1] != "51" {
		t.Errorf("final flush had %s series, want 51", m[1])
	}
	for range logs { // drain until the child closes stderr
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("telltale exited with %v after SIGTERM, want 0", err)
	}
}
