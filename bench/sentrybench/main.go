// Command sentrybench measures Sentry envelope ingestion of Telltale
// against the design targets (DESIGN.md §4), beside a null sink in the same
// run.
//
// It first runs bench/sentryload against a null sink (an in-process
// fasthttp server that answers 200 {"id":...} at once and stores nothing),
// flat out and gzipped, to show the machine's HTTP ceiling. Then it writes a
// config with one unlimited project and an API token, starts
// `telltale serve` with a fresh data directory, waits for /readyz, and runs
// the phases:
//
//   - flat: -conns connections flat out for -flat (20 s);
//   - rate: -rate events/s (2 000) for -rate-duration (20 s), whose p99
//     accept latency is held against the 20 ms target;
//   - gzip: flat out, gzipped bodies, for -gzip-duration (10 s).
//
// During each phase it samples Telltale's VmRSS every 200 ms and keeps the
// largest, and reads its CPU time from /proc/PID/stat. Afterwards it pages
// through the issues API with the Bearer token and checks that the issues'
// counts sum to the events accepted (200) over all phases and that there
// is one issue per group sent (PASS/FAIL), then reads VmHWM and the data
// directory's size.
//
// It prints a table, writes the report as JSON to -out and appends one Go
// benchmark line per phase and target to -bench-out, for benchstat.
//
// See bench/README.md; `make bench-sentry` builds everything and runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/telltale-dev/telltale/bench/benchproc"
	"github.com/telltale-dev/telltale/bench/sentryload/load"
)

func main() { benchproc.Main("sentrybench", run) }

// errUsage reports bad flags.
var errUsage = errors.New("sentrybench: bad usage")

// errFailed reports a run whose issue check failed or whose server failed.
var errFailed = errors.New("sentrybench: run failed")

// config holds the flags.
type config struct {
	Bin           string        `json:"bin"`
	Loadgen       string        `json:"loadgen"`
	Quick         bool          `json:"quick"`
	Conns         int           `json:"conns"`
	FlatConns     int           `json:"flat_conns"`
	Groups        int           `json:"groups"`
	Size          int           `json:"size"`
	Seed          uint64        `json:"seed"`
	Rate          float64       `json:"rate"`
	Flat          time.Duration `json:"flat"`
	RateDuration  time.Duration `json:"rate_duration"`
	GzipDuration  time.Duration `json:"gzip_duration"`
	SinkDuration  time.Duration `json:"sink_duration"`
	MaxRetryAfter time.Duration `json:"max_retry_after"`
	VerifyWait    time.Duration `json:"verify_wait"`
	NoSink        bool          `json:"no_sink"`
	Key           string        `json:"-"`
	Token         string        `json:"-"`
	Org           string        `json:"org"`
	Project       string        `json:"project"`
	TelltaleArgs  []string      `json:"telltale_args,omitempty"`
	Out           string        `json:"-"`
	BenchOut      string        `json:"-"`
	LogDir        string        `json:"-"`
	Timeout       time.Duration `json:"-"`
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sentrybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Bin, "bin", "bin/telltale", "Telltale binary")
	fs.StringVar(&c.Loadgen, "loadgen", "bin/sentryload", "bench/sentryload binary")
	fs.BoolVar(&c.Quick, "quick", false, "smoke run: 4 s phases (-flat, -rate-duration, -gzip-duration, -sink-duration not given explicitly)")
	fs.IntVar(&c.Conns, "conns", 16, "connections of the fixed-rate phase")
	fs.IntVar(&c.FlatConns, "flat-conns", 512, "connections of the flat-out phases (flat, gzip; Telltale and the null sink): a closed loop of few connections measures latency, not throughput (the idle column shows what they left unused)")
	fs.IntVar(&c.Groups, "groups", 100, "distinct groups (issues)")
	fs.IntVar(&c.Size, "size", 6500, "event payload `bytes`")
	fs.Uint64Var(&c.Seed, "seed", 1, "sentryload seed")
	fs.Float64Var(&c.Rate, "rate", 2000, "events/s of the fixed-rate phase")
	fs.DurationVar(&c.Flat, "flat", 20*time.Second, "length of the flat-out phase")
	fs.DurationVar(&c.RateDuration, "rate-duration", 20*time.Second, "length of the fixed-rate phase")
	fs.DurationVar(&c.GzipDuration, "gzip-duration", 10*time.Second, "length of the gzip phase")
	fs.DurationVar(&c.SinkDuration, "sink-duration", 0, "length of each null-sink phase (0: as the Telltale phase)")
	fs.BoolVar(&c.NoSink, "no-sink", false, "skip the null sink")
	fs.DurationVar(&c.MaxRetryAfter, "max-retry-after", 60*time.Second, "sentryload's longest back-off after a 429")
	fs.DurationVar(&c.VerifyWait, "verify-wait", 30*time.Second, "how long the issue counts may take to catch up after the load")
	fs.StringVar(&c.Key, "key", "0123456789abcdef0123456789abcdef", "project key written to the config")
	fs.StringVar(&c.Token, "token", "bench-token-0123456789", "API token written to the config")
	fs.StringVar(&c.Org, "org", "main", "organization slug written to the config")
	fs.StringVar(&c.Project, "project", "bench", "project slug written to the config (id 1)")
	telltaleArgs := fs.String("telltale-args", "", "extra arguments for telltale serve, space-separated")
	fs.StringVar(&c.Out, "out", "bench/out/sentry.json", "JSON report file")
	fs.StringVar(&c.BenchOut, "bench-out", "bench/out/sentry.txt", "Go benchmark format file for benchstat (appended to)")
	fs.StringVar(&c.LogDir, "log-dir", "bench/out/logs", "directory for Telltale's and sentryload's output")
	fs.DurationVar(&c.Timeout, "timeout", 15*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if c.Quick {
		set := make(map[string]bool)
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, d := range map[string]*time.Duration{"flat": &c.Flat, "rate-duration": &c.RateDuration, "gzip-duration": &c.GzipDuration, "sink-duration": &c.SinkDuration} {
			if !set[name] {
				*d = 4 * time.Second
			}
		}
	}
	c.TelltaleArgs = strings.Fields(*telltaleArgs)
	if c.Conns < 1 || c.FlatConns < 1 || c.Groups < 1 || c.Rate <= 0 || c.Flat <= 0 || c.RateDuration <= 0 || c.GzipDuration <= 0 || c.SinkDuration < 0 {
		return c, fmt.Errorf("%w: -conns, -flat-conns, -groups, -rate and the durations must be positive", errUsage)
	}
	return c, nil
}

// Phase names.
const (
	phaseFlat = "flat"
	phaseRate = "rate"
	phaseGzip = "gzip"
)

// Target names.
const (
	targetTelltale = "telltale"
	targetSink     = "null-sink"
)

// phase is one load against one target.
type phase struct {
	Name       string        `json:"name"`
	Target     string        `json:"target"`
	Gzip       bool          `json:"gzip"`
	TargetRate float64       `json:"target_rate"` // 0: flat out
	Duration   time.Duration `json:"duration"`
	Load       load.Summary  `json:"load"`
	// SenderLimited: a fixed-rate phase reached less than 90 % of its rate.
	SenderLimited bool `json:"sender_limited,omitempty"`
	// Telltale only: the largest VmRSS sampled every 200 ms during the
	// phase, its CPU time over the phase, and that per accepted event.
	MaxRSS         int64   `json:"max_rss_bytes,omitempty"`
	RSSSamples     int     `json:"rss_samples,omitempty"`
	CPUSeconds     float64 `json:"cpu_seconds,omitempty"`
	CPUUsPerEvent  float64 `json:"cpu_us_per_event,omitempty"`
	LoadgenCPUFrac float64 `json:"loadgen_cpu_cores"` // sentryload's CPU seconds per second
	// MachineIdle is the fraction of the machine's CPU time (all CPUs,
	// idle and iowait) left idle during the phase. Flat out, a large one
	// says the load, not the machine, set the rate.
	MachineIdle float64 `json:"machine_idle"`
	Error       string  `json:"error,omitempty"`
}

// telltaleRun is what is measured about the server outside the phases.
type telltaleRun struct {
	ReadySeconds float64 `json:"ready_seconds"` // start to /readyz 200
	IdleRSS      int64   `json:"idle_rss_bytes"`
	PeakRSS      int64   `json:"peak_rss_bytes"` // VmHWM at the end
	MaxRSS       int64   `json:"max_rss_bytes"`  // largest sample over all phases
	Accepted     int64   `json:"accepted"`
	DiskBytes    int64   `json:"disk_bytes"` // data directory after the load
	DiskPer100k  float64 `json:"disk_bytes_per_100k_events"`
	Error        string  `json:"error,omitempty"`
}

// goal is one design target and whether the run met it.
type goal struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
}

// report is the JSON document written to -out.
type report struct {
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Config   config            `json:"config"`
	Env      map[string]string `json:"env"`
	Phases   []phase           `json:"phases"`
	Telltale telltaleRun       `json:"telltale"`
	Verify   *verification     `json:"verify,omitempty"`
	// Ratios are Telltale's accepted events/s over the null sink's, per
	// phase name.
	Ratios map[string]float64 `json:"ratios"`
	Goals  []goal             `json:"goals"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	for _, bin := range []string{c.Bin, c.Loadgen} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w: %v (run `make bench-sentry`, or pass the path)", errUsage, err)
		}
	}
	for _, dir := range []string{c.LogDir, filepath.Dir(c.Out), filepath.Dir(c.BenchOut)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}
	rep := report{Started: time.Now().UTC(), Config: c, Env: benchproc.Host(ctx), Ratios: make(map[string]float64)}
	b := &bench{cfg: c, logf: logf}
	runErr := b.runAll(ctx, &rep)
	rep.Finished = time.Now().UTC()
	rep.Goals = goals(&rep)
	writeTable(stdout, &rep)
	if err := writeJSON(c.Out, &rep); err != nil {
		return err
	}
	if err := appendBenchFormat(c.BenchOut, &rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nJSON report: %s; benchstat input: %s (appended); logs: %s\n", c.Out, c.BenchOut, c.LogDir)
	return runErr
}

// bench runs the phases.
type bench struct {
	cfg  config
	logf func(string, ...any)
	// next is the index of the next event, so that no two phases against
	// one server send the same event id.
	next uint64
}

// phaseStride separates the event index ranges of the phases.
const phaseStride = 1 << 40

func (b *bench) runAll(ctx context.Context, rep *report) error {
	c := b.cfg
	if !c.NoSink {
		sink, err := load.StartNullSink("127.0.0.1:0")
		if err != nil {
			return err
		}
		for _, spec := range []phase{
			{Name: phaseFlat, Target: targetSink, Duration: cmpOr(c.SinkDuration, c.Flat)},
			{Name: phaseGzip, Target: targetSink, Gzip: true, Duration: cmpOr(c.SinkDuration, c.GzipDuration)},
		} {
			p := b.runPhase(ctx, spec, sink.URL(), nil)
			rep.Phases = append(rep.Phases, p)
		}
		sink.Close()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	b.logf("telltale: starting %s", c.Bin)
	srv, ready, err := startTelltale(ctx, c.Bin, c.TelltaleArgs, configYAML(c.Org, c.Project, c.Key, c.Token), filepath.Join(c.LogDir, "sentry-telltale.log"), 30*time.Second)
	if err != nil {
		rep.Telltale.Error = err.Error()
		return fmt.Errorf("%w: %v", errFailed, err)
	}
	defer srv.stop()
	rep.Telltale.ReadySeconds = ready.Seconds()
	if st, err := benchproc.Read(srv.Pid()); err == nil {
		rep.Telltale.IdleRSS = st.RSS
	}
	b.logf("telltale: ready in %v, idle RSS %.1f MB", ready.Round(time.Millisecond), float64(rep.Telltale.IdleRSS)/1e6)

	groupAccepted := make([]int64, c.Groups)
	var failed []string
	for _, spec := range []phase{
		{Name: phaseFlat, Target: targetTelltale, Duration: c.Flat},
		{Name: phaseRate, Target: targetTelltale, TargetRate: c.Rate, Duration: c.RateDuration},
		{Name: phaseGzip, Target: targetTelltale, Gzip: true, Duration: c.GzipDuration},
	} {
		if ctx.Err() != nil {
			break
		}
		p := b.runPhase(ctx, spec, srv.URL, srv)
		rep.Phases = append(rep.Phases, p)
		if p.Error != "" {
			failed = append(failed, p.Name+": "+p.Error)
		}
		rep.Telltale.Accepted += p.Load.Accepted
		rep.Telltale.MaxRSS = max(rep.Telltale.MaxRSS, p.MaxRSS)
		for g, n := range p.Load.GroupAccepted {
			if g < len(groupAccepted) {
				groupAccepted[g] += n
			}
		}
		if err := srv.Alive(); err != nil {
			rep.Telltale.Error = err.Error()
			return fmt.Errorf("%w: %v", errFailed, err)
		}
	}
	for _, p := range rep.Phases {
		if p.Target != targetTelltale {
			continue
		}
		for _, q := range rep.Phases {
			if q.Target == targetSink && q.Name == p.Name && q.Load.EventsPerSec > 0 {
				rep.Ratios[p.Name] = p.Load.EventsPerSec / q.Load.EventsPerSec
			}
		}
	}

	v := b.verify(ctx, srv, groupAccepted)
	rep.Verify = &v
	if st, err := benchproc.Read(srv.Pid()); err == nil {
		rep.Telltale.PeakRSS = st.HWM
	}
	rep.Telltale.DiskBytes = benchproc.DirBytes(srv.DataDir)
	if rep.Telltale.Accepted > 0 {
		rep.Telltale.DiskPer100k = float64(rep.Telltale.DiskBytes) / float64(rep.Telltale.Accepted) * 1e5
	}
	if !v.Passed {
		failed = append(failed, "issue check: "+cmpOr(v.Error, "counts differ"))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", errFailed, strings.Join(failed, "; "))
	}
	return nil
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// verify pages through the issues until their counts match what was
// accepted, or -verify-wait passes: storing an event may precede updating
// its issue's count.
func (b *bench) verify(ctx context.Context, srv *server, groupAccepted []int64) verification {
	start := time.Now()
	var v verification
	for {
		issues, err := listIssues(ctx, srv.Client, srv.URL, b.cfg.Org, b.cfg.Project, b.cfg.Token)
		if err == nil {
			v, err = check(issues, groupAccepted)
		}
		v.Seconds = time.Since(start).Seconds()
		if err != nil {
			v.Error = err.Error()
		}
		if v.Passed || time.Since(start) >= b.cfg.VerifyWait || ctx.Err() != nil {
			break
		}
		sleep(ctx, 250*time.Millisecond)
	}
	b.logf("verify: %d issues (want %d), counts sum %d (want %d), per-group match %v, after %.1fs: %s",
		v.Issues, v.WantIssues, v.CountSum, v.WantCountSum, v.PerGroup, v.Seconds, passFail(v.Passed))
	return v
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// conns returns the connections of p: -conns at a fixed rate, -flat-conns
// flat out.
func (p phase) conns(c config) int {
	if p.TargetRate > 0 {
		return c.Conns
	}
	return c.FlatConns
}

// runPhase runs sentryload once against url; with srv set it samples the
// server's RSS and CPU while the load runs.
func (b *bench) runPhase(ctx context.Context, p phase, url string, srv *server) phase {
	c := b.cfg
	p.Gzip = p.Gzip || p.Name == phaseGzip
	args := []string{
		"-url", url, "-project", "1", "-key", c.Key,
		"-groups", strconv.Itoa(c.Groups), "-size", strconv.Itoa(c.Size),
		"-conns", strconv.Itoa(p.conns(c)),
		"-rate", strconv.FormatFloat(p.TargetRate, 'f', -1, 64),
		"-duration", p.Duration.String(),
		"-seed", strconv.FormatUint(c.Seed, 10),
		"-first", strconv.FormatUint(b.next, 10),
		"-max-retry-after", c.MaxRetryAfter.String(),
	}
	b.next += phaseStride
	if p.Gzip {
		args = append(args, "-gzip")
	}
	logPath := filepath.Join(c.LogDir, "sentry-"+p.Target+"-"+p.Name+"-sentryload.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	defer logFile.Close()
	b.logf("%s %s: sentryload %s", p.Target, p.Name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, c.Loadgen, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.Error = err.Error()
		return p
	}
	if err := cmd.Start(); err != nil {
		p.Error = err.Error()
		return p
	}
	var sampler *rssSampler
	var before benchproc.Stats
	var machine benchproc.MachineCPU
	started := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		fmt.Fprintln(logFile, sc.Text())
		if !started && strings.HasPrefix(sc.Text(), "sentryload: sending") {
			started = true
			machine, _ = benchproc.ReadMachineCPU()
			if srv != nil {
				before, _ = benchproc.Read(srv.Pid())
				sampler = sampleRSS(srv.Pid(), 200*time.Millisecond)
			}
		}
	}
	if now, err := benchproc.ReadMachineCPU(); err == nil && started {
		p.MachineIdle = now.IdleSince(machine)
	}
	waitErr := cmd.Wait()
	if sampler != nil {
		p.MaxRSS = sampler.done()
		p.RSSSamples = sampler.n
		if after, err := benchproc.Read(srv.Pid()); err == nil {
			p.CPUSeconds = (after.CPU - before.CPU).Seconds()
		}
	}
	if waitErr != nil {
		p.Error = fmt.Sprintf("sentryload: %v (see %s)", waitErr, logPath)
		return p
	}
	if err := json.Unmarshal(out.Bytes(), &p.Load); err != nil {
		p.Error = fmt.Sprintf("sentryload output %q: %v", out.String(), err)
		return p
	}
	if p.Load.Accepted > 0 && p.CPUSeconds > 0 {
		p.CPUUsPerEvent = p.CPUSeconds * 1e6 / float64(p.Load.Accepted)
	}
	if p.Load.Seconds > 0 {
		p.LoadgenCPUFrac = p.Load.CPUSeconds / p.Load.Seconds
	}
	p.SenderLimited = p.TargetRate > 0 && p.Load.SentPerSec < 0.9*p.TargetRate
	b.logf("%s %s: %s", p.Target, p.Name, p.Load.Human())
	if p.MaxRSS > 0 {
		b.logf("%s %s: max RSS %.1f MB, %.1f µs CPU/event", p.Target, p.Name, float64(p.MaxRSS)/1e6, p.CPUUsPerEvent)
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
