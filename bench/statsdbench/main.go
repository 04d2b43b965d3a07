// Command statsdbench measures statsd ingestion of Telltale and of
// statsd_exporter, one after the other on the same workloads in the same run.
//
// For each workload (counters, mixed, cardinality) and each target it starts
// the server on free loopback ports, waits until it is ready, primes it by
// sending every series once, and climbs a ladder of target rates. Each step
// runs bench/loadgen for -step at that rate, waits for the server to drain,
// and reads the server's own count of received lines: loss is
// 1 - received/sent. CPU per line is the server's utime+stime delta over the
// step (from /proc/PID/stat) divided by the lines it received; scrapes are
// outside that window. The ladder stops after -fail-steps consecutive steps
// with loss ≥ -max-loss, or when the sender cannot reach the target rate,
// and may then bisect between the last good and the first bad rate.
//
// It prints a table of, per workload and target, the highest rate with loss
// under 1 %, the CPU per line at that rate, peak RSS (VmHWM), the RSS per
// series after priming, and the Telltale/statsd_exporter ratios; it writes
// the same with every step to -out (JSON) and to -bench-out in the Go
// benchmark format, for benchstat.
//
// See bench/README.md; `make bench-statsd` builds everything and runs it.
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
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

func main() { benchproc.Main("statsdbench", run) }

// errUsage reports bad flags.
var errUsage = errors.New("statsdbench: bad usage")

// config holds the flags.
type config struct {
	Telltale     string        `json:"telltale"`
	Exporter     string        `json:"statsd_exporter"`
	Loadgen      string        `json:"loadgen"`
	Targets      []string      `json:"targets"`
	Workloads    []string      `json:"workloads"`
	Ladder       []float64     `json:"ladder"`
	Step         time.Duration `json:"step"`
	Grace        time.Duration `json:"grace"`
	MaxDrain     time.Duration `json:"max_drain"`
	PrimeRate    float64       `json:"prime_rate"`
	Series       int           `json:"series"`
	Senders      int           `json:"senders"`
	Seed         uint64        `json:"seed"`
	MaxLoss      float64       `json:"max_loss"`
	FailSteps    int           `json:"fail_steps"`
	Refine       int           `json:"refine"`
	Count        int           `json:"count"`
	Quick        bool          `json:"quick"`
	Criterion    string        `json:"criterion"`
	Out          string        `json:"-"`
	BenchOut     string        `json:"-"`
	LogDir       string        `json:"-"`
	TelltaleArgs []string      `json:"telltale_args,omitempty"`
	ExporterArgs []string      `json:"statsd_exporter_args,omitempty"`
	// ExporterReadBuffer is passed as --statsd.read-buffer when positive.
	ExporterReadBuffer int           `json:"statsd_exporter_read_buffer"`
	Timeout            time.Duration `json:"-"`
}

// Values of -criterion.
const (
	criterionProcessed = "processed"
	criterionRead      = "read"
)

// Quick mode values, used for flags not given explicitly.
const (
	quickLadder = "500k,1M,2M,4M,8M"
	quickSeries = 200000
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("statsdbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Telltale, "telltale", "bin/telltale", "Telltale binary")
	fs.StringVar(&c.Exporter, "statsd-exporter", ".tools/statsd_exporter-v0.31.0", "statsd_exporter binary")
	fs.StringVar(&c.Loadgen, "loadgen", "bin/loadgen", "bench/loadgen binary")
	targets := fs.String("targets", targetTelltale+","+targetExporter, "comma-separated targets to run")
	workloads := fs.String("workloads", "counters,mixed,cardinality", "comma-separated workloads to run")
	ladder := fs.String("ladder", "250k,500k,1M,1.5M,2M,3M,4M,6M,8M,12M,16M", "comma-separated target rates in lines/s (k and M suffixes)")
	fs.DurationVar(&c.Step, "step", 5*time.Second, "time at each rate")
	fs.DurationVar(&c.Grace, "grace", 250*time.Millisecond, "time after a step within which its lines must be processed to count")
	fs.DurationVar(&c.MaxDrain, "max-drain", 30*time.Second, "longest wait after a step for the server to catch up before the next")
	prime := fs.String("prime-rate", "200k", "lines/s of the priming pass that sends every series once")
	fs.IntVar(&c.Series, "series", 1000000, "distinct series of the cardinality workload")
	fs.IntVar(&c.Senders, "senders", 1, "loadgen sender goroutines")
	fs.Uint64Var(&c.Seed, "seed", 1, "loadgen seed")
	fs.Float64Var(&c.MaxLoss, "max-loss", 0.01, "a step passes when its loss is below this fraction")
	fs.IntVar(&c.FailSteps, "fail-steps", 1, "stop the ladder after this many consecutive failed steps")
	fs.IntVar(&c.Refine, "refine", 1, "bisection steps between the last passed and the first failed rate")
	fs.IntVar(&c.Count, "count", 1, "repeat the whole run this many times (for benchstat)")
	fs.StringVar(&c.Criterion, "criterion", criterionProcessed, "what passes a step: \"processed\" (lines processed within -grace of its end; statsd_exporter: events handled) or \"read\" (lines the server read, once it has drained: statsd_exporter_lines_total counts lines before their events wait in its queue)")
	fs.BoolVar(&c.Quick, "quick", false, "about 2 minutes: -step 2s -ladder "+quickLadder+" -refine 0 -series 200000 (flags given explicitly win)")
	fs.StringVar(&c.Out, "out", "bench/out/statsd.json", "JSON report file")
	fs.StringVar(&c.BenchOut, "bench-out", "bench/out/statsd.txt", "Go benchmark format file for benchstat (appended to)")
	fs.StringVar(&c.LogDir, "log-dir", "bench/out/logs", "directory for the servers' and loadgen's output")
	telltaleArgs := fs.String("telltale-args", "", "extra arguments for telltale serve, space-separated")
	exporterArgs := fs.String("statsd-exporter-args", "", "extra arguments for statsd_exporter, space-separated")
	fs.IntVar(&c.ExporterReadBuffer, "statsd-exporter-read-buffer", 8<<20, "UDP receive buffer `bytes` asked by statsd_exporter (--statsd.read-buffer), the size Telltale asks by default, so that loss compares throughput, not buffers; 0: its default (net.core.rmem_default)")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if c.Quick {
		set := make(map[string]bool)
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["step"] {
			c.Step = 2 * time.Second
		}
		if !set["ladder"] {
			*ladder = quickLadder
		}
		if !set["refine"] {
			c.Refine = 0
		}
		if !set["series"] {
			c.Series = quickSeries
		}
	}
	if c.Criterion != criterionProcessed && c.Criterion != criterionRead {
		return c, fmt.Errorf("%w: unknown -criterion %q", errUsage, c.Criterion)
	}
	c.Targets = splitList(*targets)
	for _, t := range c.Targets {
		if t != targetTelltale && t != targetExporter {
			return c, fmt.Errorf("%w: unknown target %q", errUsage, t)
		}
	}
	c.Workloads = splitList(*workloads)
	for _, w := range c.Workloads {
		if w != "counters" && w != "mixed" && w != "cardinality" {
			return c, fmt.Errorf("%w: unknown workload %q", errUsage, w)
		}
	}
	var err error
	if c.Ladder, err = parseRates(*ladder); err != nil {
		return c, err
	}
	if c.PrimeRate, err = parseRate(*prime); err != nil {
		return c, err
	}
	c.TelltaleArgs = strings.Fields(*telltaleArgs)
	c.ExporterArgs = strings.Fields(*exporterArgs)
	if c.ExporterReadBuffer > 0 {
		c.ExporterArgs = append([]string{"--statsd.read-buffer=" + strconv.Itoa(c.ExporterReadBuffer)}, c.ExporterArgs...)
	}
	if c.Step <= 0 || c.Senders < 1 || c.Count < 1 || c.FailSteps < 1 || c.Series < 1000 || c.PrimeRate <= 0 {
		return c, fmt.Errorf("%w: -step, -senders, -count, -fail-steps, -prime-rate must be positive, -series at least 1000", errUsage)
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseRates parses a comma-separated ascending list of rates.
func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		r, err := parseRate(f)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && r <= out[len(out)-1] {
			return nil, fmt.Errorf("%w: ladder must ascend: %q", errUsage, s)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty ladder", errUsage)
	}
	return out, nil
}

// parseRate parses "250k", "1.5M" or "2000000".
func parseRate(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1e6, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: bad rate %q", errUsage, s)
	}
	return v * mult, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()

	specs := make(map[string]targetSpec)
	for _, t := range c.Targets {
		switch t {
		case targetTelltale:
			specs[t] = telltaleSpec(c.Telltale, c.TelltaleArgs)
		case targetExporter:
			specs[t] = exporterSpec(c.Exporter, c.ExporterArgs)
		}
	}
	for _, bin := range append([]string{c.Loadgen}, binaries(specs)...) {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w: %v (run `make bench-statsd`, or pass the path)", errUsage, err)
		}
	}
	for _, dir := range []string{c.LogDir, filepath.Dir(c.Out), filepath.Dir(c.BenchOut)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	rep := report{
		Started: time.Now().UTC(),
		Config:  c,
		Env:     environment(ctx, specs),
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}
	b := &bench{cfg: c, logf: logf}
	var runErr error
loop:
	for iter := range c.Count {
		for _, w := range c.Workloads {
			for _, t := range c.Targets {
				if ctx.Err() != nil {
					runErr = ctx.Err()
					break loop
				}
				res := b.runOne(ctx, specs[t], w, iter)
				rep.Results = append(rep.Results, res)
				if res.Error != "" {
					logf("%s %s: %s", w, t, res.Error)
				}
			}
		}
	}
	rep.Finished = time.Now().UTC()
	rep.Summary = summarize(rep.Results, c.Targets, c.Workloads)
	writeTable(stdout, rep)
	if err := writeJSON(c.Out, rep); err != nil {
		return err
	}
	if err := appendBenchFormat(c.BenchOut, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nJSON report: %s; benchstat input: %s (appended); logs: %s\n", c.Out, c.BenchOut, c.LogDir)
	return runErr
}

func binaries(specs map[string]targetSpec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.bin)
	}
	return out
}

// environment records what the numbers depend on.
func environment(ctx context.Context, specs map[string]targetSpec) map[string]string {
	env := benchproc.Host(ctx)
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_default"); err == nil {
		env["rmem_default"] = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		env["rmem_max"] = strings.TrimSpace(string(b))
	}
	if s, ok := specs[targetExporter]; ok {
		if out, err := exec.CommandContext(ctx, s.bin, "--version").CombinedOutput(); err == nil {
			first, _, _ := strings.Cut(string(out), "\n")
			env["statsd_exporter_version"] = strings.TrimSpace(first)
		}
	}
	return env
}

// loadResult is the JSON summary loadgen prints.
type loadResult struct {
	Lines        int64   `json:"lines"`
	Packets      int64   `json:"packets"`
	CounterSum   float64 `json:"counter_sum"`
	Seconds      float64 `json:"seconds"`
	LinesPerSec  float64 `json:"lines_per_sec"`
	Series       int     `json:"series"`
	SeriesSent   int     `json:"series_sent"`
	GenSeconds   float64 `json:"gen_seconds"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	SendCPU      float64 `json:"send_cpu_seconds"`
	WriteErrors  int64   `json:"write_errors"`
	LoadgenError string  `json:"error"`
}

// bench runs the ladders.
type bench struct {
	cfg  config
	logf func(string, ...any)
}

// loadgen runs one loadgen process against addr.
func (b *bench) loadgen(ctx context.Context, addr, workload string, rate float64, duration time.Duration, lines int, logPath string, onStart func()) (loadResult, error) {
	var r loadResult
	args := []string{
		"-addr", addr, "-workload", workload,
		"-rate", strconv.FormatFloat(rate, 'f', 0, 64),
		"-duration", duration.String(),
		"-seed", strconv.FormatUint(b.cfg.Seed, 10),
		"-senders", strconv.Itoa(b.cfg.Senders),
	}
	if lines > 0 {
		args = append(args, "-lines", strconv.Itoa(lines))
	}
	if workload == "cardinality" {
		args = append(args, "-series", strconv.Itoa(b.cfg.Series))
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return r, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, b.cfg.Loadgen, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return r, err
	}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	// Copy loadgen's stderr to the log, and call onStart when its pool is
	// generated and sending begins.
	sc := bufio.NewScanner(stderr)
	started := false
	for sc.Scan() {
		fmt.Fprintln(logFile, sc.Text())
		if !started && strings.HasPrefix(sc.Text(), "loadgen: sending") {
			started = true
			onStart()
		}
	}
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("loadgen %s: %w (see %s)", strings.Join(args, " "), err, logPath)
	}
	if !started {
		return r, fmt.Errorf("loadgen %s never started sending (see %s)", strings.Join(args, " "), logPath)
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("loadgen output %q: %w", out.String(), err)
	}
	return r, nil
}

// step is one rung of a ladder, or the priming pass.
type step struct {
	TargetRate       float64 `json:"target_rate"`
	Sent             int64   `json:"sent"`
	AchievedRate     float64 `json:"achieved_rate"` // lines sent / seconds
	Seconds          float64 `json:"seconds"`
	SenderLimited    bool    `json:"sender_limited"` // achieved < 90 % of the target
	SenderCPUSeconds float64 `json:"sender_cpu_seconds"`
	// Processed lines within -grace of the end of the load (with
	// -criterion read: lines read); Loss is 1 - Processed/Sent (lost or
	// late), the pass criterion (with -criterion read: Dropped).
	Processed float64 `json:"processed"`
	Loss      float64 `json:"loss"`
	// After the drain: Received lines read by the server (Dropped is
	// 1 - Received/Sent, lost for good), and the fraction of Sent
	// processed only after the grace (Late).
	Received     float64 `json:"received"`
	Dropped      float64 `json:"dropped"`
	Late         float64 `json:"late"`
	Drained      bool    `json:"drained"`
	DrainSeconds float64 `json:"drain_seconds"`
	// Server CPU from the start of the load to the end of the grace.
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUNsPerLine float64 `json:"cpu_ns_per_line"`
	KernelDrops  int64   `json:"kernel_drops"`   // /proc/net/udp drops on the server's socket
	RxQueueBytes int64   `json:"rx_queue_bytes"` // socket receive queue at the end of the grace
	RSS          int64   `json:"rss_bytes"`      // after the drain
	// Metrics are the deltas of the server's metrics over the step.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Passed  bool               `json:"passed"`
}

// result is one target on one workload.
type result struct {
	Target          string  `json:"target"`
	Workload        string  `json:"workload"`
	Iteration       int     `json:"iteration"`
	Series          int     `json:"series"`
	SeriesHeld      int     `json:"series_held"`     // lines processed while priming (each series sent once)
	SeriesReported  int     `json:"series_reported"` // the server's own series count after priming; 0: none
	IdleRSS         int64   `json:"idle_rss_bytes"`
	PrimedRSS       int64   `json:"primed_rss_bytes"`
	PeakRSS         int64   `json:"peak_rss_bytes"`   // VmHWM over the whole run, overloaded steps included
	RSSAtMax        int64   `json:"rss_at_max_bytes"` // VmRSS after the best step's drain
	BytesPerSeries  float64 `json:"bytes_per_series"`
	Prime           *step   `json:"prime,omitempty"`
	Steps           []step  `json:"steps"`
	MaxRate         float64 `json:"max_lines_per_sec"`
	MaxRateAtTarget float64 `json:"max_rate_target"`
	CPUNsPerLine    float64 `json:"cpu_ns_per_line"`
	LossAtMax       float64 `json:"loss_at_max"`
	SenderLimited   bool    `json:"sender_limited"`
	LoadAvg         string  `json:"loadavg"` // /proc/loadavg when the run started: others' load skews everything
	Error           string  `json:"error,omitempty"`
}

// senderLimitFraction: a step whose achieved rate is below this fraction of
// its target was limited by the sender (it shares the machine), not by the
// server, and the ladder stops there.
const senderLimitFraction = 0.9

func (b *bench) runOne(ctx context.Context, spec targetSpec, workload string, iter int) (res result) {
	res = result{Target: spec.name, Workload: workload, Iteration: iter, LoadAvg: benchproc.LoadAvg()}
	tag := fmt.Sprintf("%s-%s-%d", workload, spec.name, iter)
	serverLog := filepath.Join(b.cfg.LogDir, tag+".log")
	loadLog := filepath.Join(b.cfg.LogDir, tag+"-loadgen.log")
	os.Remove(loadLog)
	b.logf("%s %s: starting", workload, spec.name)
	srv, err := startServer(ctx, spec, serverLog, 30*time.Second)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer srv.stop()
	defer func() {
		if st, err := srv.stats(); err == nil {
			res.PeakRSS = st.HWM
		}
	}()
	idle, err := srv.stats()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.IdleRSS = idle.RSS
	last, err := srv.metrics(ctx, srv.metricNames()...)
	if err != nil {
		res.Error = err.Error()
		return res
	}

	// Prime: every series once, so that the ladder measures updates of
	// existing series and RSS per series can be read.
	res.Series = seriesOf(workload, b.cfg.Series)
	duration := time.Duration(float64(res.Series)/b.cfg.PrimeRate*float64(time.Second)) + 30*time.Second
	// Creating series is slower than updating them, and statsd_exporter
	// queues what it cannot keep up with: give the priming pass longer.
	primeDrain := b.cfg.MaxDrain + time.Duration(res.Series/10000)*time.Second
	prime, last, err := b.measure(ctx, srv, last, workload, b.cfg.PrimeRate, duration, res.Series, loadLog, primeDrain)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Prime = &prime
	if !prime.Drained {
		res.Error = fmt.Sprintf("statsdbench: %s did not catch up with priming within %v", spec.name, primeDrain)
		return res
	}
	// Series: the lines processed while priming, one per series, the
	// same measure for both servers; Telltale's own count (updated when
	// it flushes, so it can lag) is kept in the report too.
	res.SeriesHeld = int(prime.Processed + prime.Late*float64(prime.Sent))
	// RSS one flush interval later, so that it includes a flush.
	sleep(ctx, 1500*time.Millisecond)
	if st, err := srv.stats(); err == nil {
		res.PrimedRSS = st.RSS
	}
	if m, err := srv.metrics(ctx, srv.metricNames()...); err == nil {
		last = m
		if spec.seriesMetric != "" {
			res.SeriesReported = int(m[spec.seriesMetric])
		}
	}
	if res.SeriesHeld > 0 {
		res.BytesPerSeries = float64(res.PrimedRSS-idle.RSS) / float64(res.SeriesHeld)
	}
	b.logf("%s %s: primed %d series at %.0f lines/s, lost or late %.2f%%, %d processed, RSS %.1f MB (%.0f B/series)",
		workload, spec.name, res.Series, prime.AchievedRate, 100*prime.Loss, res.SeriesHeld, float64(res.PrimedRSS)/1e6, res.BytesPerSeries)

	var best *step
	var lastFail float64
	fails := 0
	try := func(rate float64) (step, error) {
		st, after, err := b.measure(ctx, srv, last, workload, rate, b.cfg.Step, 0, loadLog, b.cfg.MaxDrain)
		if err != nil {
			return st, err
		}
		last = after
		note := ""
		if st.SenderLimited {
			note += " (sender-limited)"
		}
		if !st.Drained {
			note += fmt.Sprintf(" (not drained after %v)", b.cfg.MaxDrain)
		}
		b.logf("%s %s: %6.2fM target, %6.2fM sent/s, lost or late %6.2f%% (dropped %.2f%%, late %.2f%%), %5.0f ns CPU/line%s",
			workload, spec.name, rate/1e6, st.AchievedRate/1e6, 100*st.Loss, 100*st.Dropped, 100*st.Late, st.CPUNsPerLine, note)
		res.Steps = append(res.Steps, st)
		if !st.Drained {
			return st, fmt.Errorf("statsdbench: %s did not catch up within -max-drain %v; later steps would be skewed", spec.name, b.cfg.MaxDrain)
		}
		if st.Passed && (best == nil || st.AchievedRate > best.AchievedRate) {
			s := st
			best = &s
		}
		return st, nil
	}
	for _, rate := range b.cfg.Ladder {
		st, err := try(rate)
		if err != nil {
			res.Error = err.Error()
			break
		}
		if st.Passed {
			fails = 0
		} else {
			fails++
			if lastFail == 0 {
				lastFail = rate
			}
			if fails >= b.cfg.FailSteps {
				break
			}
		}
		if st.SenderLimited {
			break
		}
	}
	// The first rung failed: step down, halving, to find a passing rate.
	for r := b.cfg.Ladder[0] / 2; res.Error == "" && best == nil && r >= b.cfg.Ladder[0]/8; r /= 2 {
		st, err := try(r)
		if err != nil {
			res.Error = err.Error()
		}
		if st.SenderLimited {
			break
		}
	}
	// Bisect (geometrically) between the best passed and first failed rate.
	if res.Error == "" && best != nil && lastFail > best.TargetRate {
		lo, hi := best.TargetRate, lastFail
		for range b.cfg.Refine {
			mid := math.Sqrt(lo * hi)
			st, err := try(mid)
			if err != nil {
				res.Error = err.Error()
				break
			}
			if st.Passed {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	if best != nil {
		res.MaxRate = best.AchievedRate
		res.MaxRateAtTarget = best.TargetRate
		res.CPUNsPerLine = best.CPUNsPerLine
		res.LossAtMax = best.Loss
		res.SenderLimited = best.SenderLimited
		res.RSSAtMax = best.RSS
	}
	return res
}

func seriesOf(workload string, cardinality int) int {
	switch workload {
	case "counters":
		return 1000
	case "mixed":
		return 10000
	}
	return cardinality
}

// measure sends one load and reads what the server made of it. before is
// the server's metrics when the load starts (the after of the previous
// measure: no traffic flows in between, and a scrape of a server with a
// million series can take seconds); it returns the metrics at the end.
//
// Lines count as kept when the server has processed them within -grace of
// the end of the load: a server that queues what it cannot keep up with
// does not sustain the rate, even if it catches up later. CPU is read at
// the same moment, before any scrape. Then measure waits for the server to
// drain (its counts stop moving) so that the next step starts clean, and
// records what was dropped for good and what was only late.
func (b *bench) measure(ctx context.Context, srv *server, before map[string]float64, workload string, rate float64, duration time.Duration, lines int, loadLog string, maxDrain time.Duration) (step, map[string]float64, error) {
	st := step{TargetRate: rate}
	names := srv.metricNames()
	var p0 procStats
	var p0err error
	lr, err := b.loadgen(ctx, srv.statsdAddr, workload, rate, duration, lines, loadLog, func() { p0, p0err = srv.stats() })
	if err = errors.Join(err, p0err); err != nil {
		return st, nil, err
	}
	if err := srv.Alive(); err != nil {
		return st, nil, err
	}
	st.Sent = lr.Lines
	st.Seconds = lr.Seconds
	st.AchievedRate = lr.LinesPerSec
	st.SenderCPUSeconds = lr.SendCPU
	st.SenderLimited = lines == 0 && lr.LinesPerSec < senderLimitFraction*rate

	sleep(ctx, b.cfg.Grace)
	p1, err := srv.stats()
	if err != nil {
		return st, nil, err
	}
	after, err := srv.metrics(ctx, names...)
	if err != nil {
		return st, nil, err
	}
	if _, ok := after[srv.spec.linesMetric]; !ok {
		return st, nil, fmt.Errorf("statsdbench: %s exports no %s after %d lines", srv.spec.name, srv.spec.linesMetric, st.Sent)
	}
	// count is what the criterion counts: lines processed, or lines read.
	count := srv.processed
	if b.cfg.Criterion == criterionRead {
		count = func(m map[string]float64) float64 { return m[srv.spec.linesMetric] }
	}
	st.Processed = count(after) - count(before)
	st.RxQueueBytes = p1.udpRx

	// Drain: scrape until the count stops moving for 500 ms.
	drainStart := time.Now()
	for {
		if count(after)-count(before) >= float64(st.Sent) {
			st.Drained = true
			break
		}
		if time.Since(drainStart) >= maxDrain || ctx.Err() != nil {
			break
		}
		sleep(ctx, 500*time.Millisecond)
		again, err := srv.metrics(ctx, names...)
		if err != nil {
			return st, nil, err
		}
		still := count(again) == count(after) && again[srv.spec.linesMetric] == after[srv.spec.linesMetric]
		after = again
		if still {
			st.Drained = true
			break
		}
	}
	st.DrainSeconds = time.Since(drainStart).Seconds()
	p2, err := srv.stats()
	if err != nil {
		return st, nil, err
	}
	st.Received = after[srv.spec.linesMetric] - before[srv.spec.linesMetric]
	if st.Sent > 0 {
		sent := float64(st.Sent)
		st.Loss = max(0, 1-st.Processed/sent)
		st.Dropped = max(0, 1-st.Received/sent)
		st.Late = max(0, count(after)-count(before)-st.Processed) / sent
		if b.cfg.Criterion == criterionRead {
			st.Loss = st.Dropped
		}
	}
	st.CPUSeconds = (p1.CPU - p0.CPU).Seconds()
	if st.Processed > 0 {
		st.CPUNsPerLine = st.CPUSeconds * 1e9 / st.Processed
	}
	st.KernelDrops = p2.drops - p0.drops
	st.RSS = p2.RSS
	st.Metrics = make(map[string]float64, len(after))
	for k, v := range after {
		st.Metrics[k] = v - before[k]
	}
	st.Passed = st.Sent > 0 && st.Loss < b.cfg.MaxLoss
	return st, after, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
