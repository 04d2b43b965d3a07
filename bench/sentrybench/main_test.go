package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestMain lets the test binary stand in for `telltale serve` when
// SENTRYBENCH_FAKE_TELLTALE is set (see fakeTelltale).
func TestMain(m *testing.M) {
	if os.Getenv("SENTRYBENCH_FAKE_TELLTALE") == "1" {
		if err := fakeTelltale(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake telltale:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeIssues serves the issues API over a fixed set of issues, pageSize at
// a time, with Sentry's Link header.
type fakeIssues struct {
	mu       sync.Mutex
	issues   []issue
	pageSize int
	token    string
	requests int
}

func (f *fakeIssues) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"detail":"bad token"}`)
		return
	}
	if r.URL.Path != "/api/0/projects/main/bench/issues/" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if q.Get("limit") != "100" || !q.Has("statsPeriod") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// Cursors look like Sentry's "0:OFFSET:0".
	off := 0
	if c := q.Get("cursor"); c != "" {
		parts := strings.Split(c, ":")
		off, _ = strconv.Atoi(parts[1])
	}
	end := min(off+f.pageSize, len(f.issues))
	page := f.issues[off:end]
	self := "http://" + r.Host + r.URL.Path + "?limit=100&statsPeriod="
	prev := fmt.Sprintf("0:%d:1", max(0, off-f.pageSize))
	next := fmt.Sprintf("0:%d:0", end)
	w.Header().Set("Link", fmt.Sprintf(`<%s&cursor=%s>; rel="previous"; results="%v"; cursor="%s", <%s&cursor=%s>; rel="next"; results="%v"; cursor="%s"`,
		self, prev, off > 0, prev, self, next, end < len(f.issues), next))
	json.NewEncoder(w).Encode(page)
}

func makeIssues(counts []int64) []issue {
	var out []issue
	for i, n := range counts {
		out = append(out, issue{ID: strconv.Itoa(i + 1), Count: strconv.FormatInt(n, 10), Title: fmt.Sprintf("*x.Error%d: boom", i)})
	}
	return out
}

func TestListIssuesAndCheck(t *testing.T) {
	// 250 issues in pages of 100 and 7 (the server may page smaller than
	// asked).
	groupAccepted := make([]int64, 260) // 10 groups never accepted
	for i := range 250 {
		groupAccepted[i] = int64(1 + i%13)
	}
	shuffled := slices.Clone(groupAccepted[:250])
	slices.Reverse(shuffled)
	for _, pageSize := range []int{100, 7} {
		f := &fakeIssues{issues: makeIssues(shuffled), pageSize: pageSize, token: "tok-0123456789abcdef"}
		srv := httptest.NewServer(f)
		issues, err := listIssues(context.Background(), srv.Client(), srv.URL, "main", "bench", f.token)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := (250 + pageSize - 1) / pageSize; f.requests != want {
			t.Errorf("page size %d: %d requests, want %d", pageSize, f.requests, want)
		}
		v, err := check(issues, groupAccepted)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Passed || !v.PerGroup || v.Issues != 250 || v.WantIssues != 250 || v.CountSum != v.WantCountSum {
			t.Errorf("page size %d: %+v, want a pass", pageSize, v)
		}
	}

	// An issue too many, a count off by one, a split group: all fail.
	bad := [][]issue{
		makeIssues(append(slices.Clone(shuffled), 1)),
		makeIssues(append(slices.Clone(shuffled[:249]), shuffled[249]+1)),
	}
	split := slices.Clone(shuffled)
	split[0]--
	bad = append(bad, makeIssues(append(split, 1)))
	for i, issues := range bad {
		v, err := check(issues, groupAccepted)
		if err != nil {
			t.Fatal(err)
		}
		if v.Passed && v.PerGroup {
			t.Errorf("case %d: %+v, want a failure", i, v)
		}
	}
	if _, err := check([]issue{{ID: "1", Count: "many"}}, nil); err == nil {
		t.Error("a non-numeric count must be an error")
	}
}

func TestListIssuesErrors(t *testing.T) {
	f := &fakeIssues{issues: makeIssues([]int64{1}), pageSize: 100, token: "right-token-0123456"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	if _, err := listIssues(context.Background(), srv.Client(), srv.URL, "main", "bench", "wrong"); err == nil {
		t.Error("a 401 must be an error")
	}
	// A server whose next cursor never changes.
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://x/?cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"`)
		io.WriteString(w, `[{"id":"1","count":"1","title":"t"}]`)
	}))
	defer loop.Close()
	if _, err := listIssues(context.Background(), loop.Client(), loop.URL, "main", "bench", "t"); err == nil {
		t.Error("a repeating cursor must be an error")
	}
}

func TestNextCursor(t *testing.T) {
	cases := []struct {
		in   []string
		want string
		more bool
	}{
		{[]string{`<http://h/api/0/x/?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", <http://h/api/0/x/?a=1,2&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"`}, "0:100:0", true},
		{[]string{`<http://h/?cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"`}, "", false},
		{[]string{`<http://h/?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1"`, `<http://h/?cursor=9:9:0>; rel="next"; results="true"`}, "9:9:0", true},
		{nil, "", false},
	}
	for i, c := range cases {
		got, more := nextCursor(c.in)
		if got != c.want || more != c.more {
			t.Errorf("case %d: got %q, %v; want %q, %v", i, got, more, c.want, c.more)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	var cfg struct {
		Organization string `yaml:"organization"`
		Projects     []struct {
			ID        int      `yaml:"id"`
			Slug      string   `yaml:"slug"`
			Platform  string   `yaml:"platform"`
			Keys      []string `yaml:"keys"`
			RateLimit int      `yaml:"rate_limit"`
		} `yaml:"projects"`
		Auth struct {
			Tokens []string `yaml:"tokens"`
		} `yaml:"auth"`
	}
	dec := yaml.NewDecoder(strings.NewReader(configYAML("main", "bench", "0123456789abcdef0123456789abcdef", "bench-token-0123456789")))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	p := cfg.Projects
	if cfg.Organization != "main" || len(p) != 1 || p[0].ID != 1 || p[0].Slug != "bench" || p[0].Keys[0] != "0123456789abcdef0123456789abcdef" || p[0].RateLimit != 0 || cfg.Auth.Tokens[0] != "bench-token-0123456789" {
		t.Errorf("config decodes to %+v", cfg)
	}
}

func TestQuickFlags(t *testing.T) {
	c, err := parseFlags([]string{"-quick", "-flat", "7s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Flat != 7*time.Second || c.RateDuration != 4*time.Second || c.GzipDuration != 4*time.Second || c.SinkDuration != 4*time.Second {
		t.Errorf("quick: %+v", c)
	}
	if _, err := parseFlags([]string{"-conns", "0"}, io.Discard); err == nil {
		t.Error("-conns 0 must be refused")
	}
}

// TestDriver runs the whole driver for a fraction of a second per phase,
// with this test binary as a fake Telltale (real envelope decoding,
// grouping on the exception type, issues API) and sentryload built from
// source.
func TestDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sentryload")
	}
	dir := t.TempDir()
	loadgen := filepath.Join(dir, "sentryload")
	build := exec.Command("go", "build", "-o", loadgen, "../sentryload")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build sentryload: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENTRYBENCH_FAKE_TELLTALE", "1")
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{
		"-bin", self, "-loadgen", loadgen, "-conns", "2", "-groups", "9", "-rate", "200",
		"-flat", "300ms", "-rate-duration", "300ms", "-gzip-duration", "300ms", "-sink-duration", "200ms",
		"-out", filepath.Join(dir, "sentry.json"), "-bench-out", filepath.Join(dir, "sentry.txt"), "-log-dir", dir,
	}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"issue check: PASS: 9 issues (want 9", "telltale/null-sink", "p99 accept latency at 200/s", "loadgen CPU  idle"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var rep report
	b, err := os.ReadFile(filepath.Join(dir, "sentry.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Phases) != 5 || rep.Verify == nil || !rep.Verify.Passed || rep.Telltale.Accepted == 0 || rep.Telltale.PeakRSS == 0 {
		t.Errorf("report: %d phases, verify %+v, telltale %+v", len(rep.Phases), rep.Verify, rep.Telltale)
	}
	for _, p := range rep.Phases {
		if p.Target == targetTelltale && (p.MaxRSS == 0 || p.RSSSamples == 0) {
			t.Errorf("phase %s: no RSS samples", p.Name)
		}
		if p.MachineIdle < 0 || p.MachineIdle > 1 {
			t.Errorf("phase %s %s: machine idle %v, want a fraction", p.Target, p.Name, p.MachineIdle)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(dir, "sentry.txt"))
	if n := strings.Count(string(txt), "BenchmarkSentry/"); n != 5 {
		t.Errorf("sentry.txt has %d benchmark lines, want 5:\n%s", n, txt)
	}
}

// fakeTelltale is a stand-in for `telltale serve -config F -data-dir D
// -http-addr A -statsd-addr S`: it reads the key and token from the config,
// answers /readyz, takes envelopes (grouping on the last exception's type),
// and serves the issues API two issues per page.
func fakeTelltale(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "")
	dataDir := fs.String("data-dir", "", "")
	addr := fs.String("http-addr", "", "")
	fs.String("statsd-addr", "", "")
	if len(args) == 0 || args[0] != "serve" {
		return fmt.Errorf("want serve, got %q", args)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	raw, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	var cfg struct {
		Projects []struct {
			Keys []string `yaml:"keys"`
		} `yaml:"projects"`
		Auth struct {
			Tokens []string `yaml:"tokens"`
		} `yaml:"auth"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(*dataDir, "events"), make([]byte, 4096), 0o644)
	key, token := cfg.Projects[0].Keys[0], cfg.Auth.Tokens[0]

	var mu sync.Mutex
	counts := make(map[string]int64)
	issues := &fakeIssues{pageSize: 2, token: token}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /api/1/envelope/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("X-Sentry-Auth"), "sentry_key="+key) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := newGzipReader(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			body = zr
		}
		br := bufio.NewReader(body)
		head, _ := br.ReadBytes('\n')
		br.ReadBytes('\n')
		payload, _ := io.ReadAll(br)
		var env struct {
			EventID string `json:"event_id"`
		}
		var ev struct {
			Exception json.RawMessage `json:"exception"`
		}
		if json.Unmarshal(head, &env) != nil || json.Unmarshal(bytes.TrimSpace(payload), &ev) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var list []struct {
			Type string `json:"type"`
		}
		var values struct {
			Values json.RawMessage `json:"values"`
		}
		if json.Unmarshal(ev.Exception, &list) != nil {
			json.Unmarshal(ev.Exception, &values)
			json.Unmarshal(values.Values, &list)
		}
		if len(list) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		counts[list[len(list)-1].Type]++
		mu.Unlock()
		fmt.Fprintf(w, `{"id":%q}`, env.EventID)
	})
	mux.HandleFunc("GET /api/0/projects/main/bench/issues/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		var list []issue
		for typ, n := range counts {
			list = append(list, issue{ID: typ, Count: strconv.FormatInt(n, 10), Title: typ})
		}
		mu.Unlock()
		slices.SortFunc(list, func(a, b issue) int { return strings.Compare(a.ID, b.ID) })
		issues.mu.Lock()
		issues.issues = list
		issues.mu.Unlock()
		issues.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	return srv.Close()
}

func newGzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
