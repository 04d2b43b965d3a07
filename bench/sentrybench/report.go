package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

// Design targets (DESIGN.md §4).
const (
	goalEventsPerSec = 10000
	goalP99Ms        = 20
	goalRSSBytes     = 200e6
	goalDiskPer100k  = 0.3e9
)

// goals checks the run against the design targets.
func goals(rep *report) []goal {
	var out []goal
	for _, p := range rep.Phases {
		if p.Target != targetTelltale || p.Error != "" {
			continue
		}
		switch p.Name {
		case phaseFlat:
			out = append(out, goal{"accepted events/s, flat out", p.Load.EventsPerSec, "events/s", "≥ 10000", p.Load.EventsPerSec >= goalEventsPerSec})
		case phaseRate:
			ok := p.Load.P99Ms < goalP99Ms && !p.SenderLimited && p.Load.Status200 == p.Load.Sent
			name := fmt.Sprintf("p99 accept latency at %.0f/s (all accepted)", p.TargetRate)
			if p.SenderLimited {
				name += fmt.Sprintf(", but only %.0f/s reached", p.Load.SentPerSec)
			}
			out = append(out, goal{name, p.Load.P99Ms, "ms", "< 20", ok})
		}
	}
	if rep.Telltale.MaxRSS > 0 {
		out = append(out, goal{"RSS under flood (largest sample)", float64(rep.Telltale.MaxRSS) / 1e6, "MB", "< 200", float64(rep.Telltale.MaxRSS) < goalRSSBytes})
	}
	if rep.Telltale.DiskPer100k > 0 {
		out = append(out, goal{"disk per 100 000 events", rep.Telltale.DiskPer100k / 1e9, "GB", "< 0.3", rep.Telltale.DiskPer100k < goalDiskPer100k})
	}
	return out
}

func writeTable(w io.Writer, rep *report) {
	c := rep.Config
	evBytes := 0.0
	for _, p := range rep.Phases {
		if p.Load.EventBytes > 0 {
			evBytes = p.Load.EventBytes
			break
		}
	}
	fmt.Fprintf(w, "\nSentry ingestion: %.0f-byte events in %d groups over %d connections flat out, %d at a fixed rate; %s, %s CPUs, load average at start %s\n\n",
		evBytes, c.Groups, c.FlatConns, c.Conns, rep.Env["cpu"], rep.Env["ncpu"], rep.Env["loadavg"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\ttarget\trate\tsent\taccepted\tevents/s\tp50 ms\tp99 ms\tmax ms\t429\t4xx\t5xx\terrors\tmax RSS\tCPU/event\tloadgen CPU\tidle\t")
	for _, p := range rep.Phases {
		rate := "max"
		if p.TargetRate > 0 {
			rate = fmt.Sprintf("%.0f/s", p.TargetRate)
		}
		name := p.Name
		if p.Gzip && p.Name != phaseGzip {
			name += "+gzip"
		}
		if p.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\terror: %s\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", name, p.Target, rate, p.Error)
			continue
		}
		l := p.Load
		rss, cpu := "-", "-"
		if p.MaxRSS > 0 {
			rss = fmt.Sprintf("%.1f MB", float64(p.MaxRSS)/1e6)
		}
		if p.CPUUsPerEvent > 0 {
			cpu = fmt.Sprintf("%.0f µs", p.CPUUsPerEvent)
		}
		limited := ""
		if p.SenderLimited {
			limited = " <"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s%.0f\t%.2f\t%.2f\t%.1f\t%d\t%d\t%d\t%d\t%s\t%s\t%.2f\t%.0f %%\t\n",
			name, p.Target, rate, l.Sent, l.Accepted, limited, l.EventsPerSec, l.P50Ms, l.P99Ms, l.MaxMs,
			l.Status429, l.Status4xx, l.Status5xx, l.Errors, rss, cpu, p.LoadgenCPUFrac, 100*p.MachineIdle)
	}
	for _, name := range []string{phaseFlat, phaseGzip} {
		if r, ok := rep.Ratios[name]; ok {
			fmt.Fprintf(tw, "%s\ttelltale/null-sink\t\t\t\t%.2fx\t\t\t\t\t\t\t\t\t\t\t\t\n", name, r)
		}
	}
	tw.Flush()

	t := rep.Telltale
	if t.Error != "" {
		fmt.Fprintf(w, "\ntelltale: %s\n", t.Error)
	}
	if t.ReadySeconds > 0 {
		fmt.Fprintf(w, "\ntelltale: ready in %.2fs, idle RSS %.1f MB, peak RSS (VmHWM) %.1f MB, %d events accepted, data dir %.1f MB (%.3f GB per 100 000 events)\n",
			t.ReadySeconds, float64(t.IdleRSS)/1e6, float64(t.PeakRSS)/1e6, t.Accepted, float64(t.DiskBytes)/1e6, t.DiskPer100k/1e9)
	}
	if len(rep.Goals) > 0 {
		fmt.Fprintln(w, "\ntargets (DESIGN.md §4):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, g := range rep.Goals {
			met := "met"
			if !g.Met {
				met = "MISSED"
			}
			fmt.Fprintf(tw, "  %s\t%.2f %s\t(target %s)\t%s\n", g.Name, g.Value, g.Unit, g.Target, met)
		}
		tw.Flush()
	}
	if v := rep.Verify; v != nil {
		fmt.Fprintf(w, "\nissue check: %s: %d issues (want %d, one per group), sum of counts %d (want %d accepted), per-group counts match: %v, after %.1fs",
			passFail(v.Passed), v.Issues, v.WantIssues, v.CountSum, v.WantCountSum, v.PerGroup, v.Seconds)
		if v.Error != "" {
			fmt.Fprintf(w, " (%s)", v.Error)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nlatency: of accepted (200) requests, request written to answer read, per connection one at a time.")
	fmt.Fprintln(w, "<: the fixed rate was not reached (sender or server too slow). max RSS: largest VmRSS sampled every 200 ms.")
	fmt.Fprintln(w, "loadgen CPU: sentryload's CPU seconds per second (it shares the machine's cores with the server).")
	fmt.Fprintln(w, "idle: the machine's CPU time left idle (or waiting on I/O) during the phase; flat out, much of it means too few connections.")
}

func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// appendBenchFormat appends one Go benchmark line per phase to path, so
// that runs compare with benchstat (`benchstat -col /target sentry.txt`, or
// `benchstat old.txt new.txt`).
func appendBenchFormat(path string, rep *report) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "goos: %s\ngoarch: %s\npkg: github.com/telltale-dev/telltale/bench/sentrybench\n", rep.Env["goos"], rep.Env["goarch"])
	if cpu := rep.Env["cpu"]; cpu != "" {
		fmt.Fprintf(&sb, "cpu: %s\n", cpu)
	}
	n := 0
	for _, p := range rep.Phases {
		if p.Error != "" || p.Load.Accepted == 0 {
			continue
		}
		n++
		fmt.Fprintf(&sb, "BenchmarkSentry/phase=%s/target=%s %d %.1f events/s %.3f p50-ms %.3f p99-ms %.3f max-ms",
			p.Name, p.Target, p.Load.Accepted, p.Load.EventsPerSec, p.Load.P50Ms, p.Load.P99Ms, p.Load.MaxMs)
		if p.MaxRSS > 0 {
			fmt.Fprintf(&sb, " %d max-rss-B %.1f cpu-us/event", p.MaxRSS, p.CPUUsPerEvent)
		}
		sb.WriteByte('\n')
	}
	if n == 0 {
		return nil
	}
	return benchproc.AppendFile(path, sb.String())
}
