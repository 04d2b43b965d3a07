package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

// report is the JSON document written to -out.
type report struct {
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Config   config            `json:"config"`
	Env      map[string]string `json:"env"`
	Summary  []summaryRow      `json:"summary"`
	Results  []result          `json:"results"`
}

// summaryRow is one target on one workload (medians over -count runs), or
// the ratio telltale/statsd_exporter when Target is "ratio".
type summaryRow struct {
	Workload       string  `json:"workload"`
	Target         string  `json:"target"`
	MaxRate        float64 `json:"max_lines_per_sec"`
	CPUNsPerLine   float64 `json:"cpu_ns_per_line"`
	PeakRSS        float64 `json:"peak_rss_bytes"`
	RSSAtMax       float64 `json:"rss_at_max_bytes"`
	BytesPerSeries float64 `json:"bytes_per_series"`
	Series         int     `json:"series"`
	LossAtMax      float64 `json:"loss_at_max"`
	SenderLimited  bool    `json:"sender_limited,omitempty"`
	Runs           int     `json:"runs"`
	Errors         int     `json:"errors,omitempty"`
}

// ratioTarget names the summary rows that hold telltale/statsd_exporter.
const ratioTarget = "ratio"

func summarize(results []result, targets, workloads []string) []summaryRow {
	var rows []summaryRow
	for _, w := range workloads {
		byTarget := make(map[string]summaryRow)
		for _, t := range targets {
			row := summaryRow{Workload: w, Target: t}
			var rate, cpu, peak, atMax, bps, loss []float64
			for _, r := range results {
				if r.Workload != w || r.Target != t {
					continue
				}
				if r.Error != "" {
					row.Errors++
				}
				if r.MaxRate == 0 {
					continue
				}
				row.Runs++
				row.Series = r.Series
				row.SenderLimited = row.SenderLimited || r.SenderLimited
				rate = append(rate, r.MaxRate)
				cpu = append(cpu, r.CPUNsPerLine)
				peak = append(peak, float64(r.PeakRSS))
				atMax = append(atMax, float64(r.RSSAtMax))
				bps = append(bps, r.BytesPerSeries)
				loss = append(loss, r.LossAtMax)
			}
			row.MaxRate, row.CPUNsPerLine, row.PeakRSS = median(rate), median(cpu), median(peak)
			row.BytesPerSeries, row.LossAtMax, row.RSSAtMax = median(bps), median(loss), median(atMax)
			rows = append(rows, row)
			byTarget[t] = row
		}
		tt, ok1 := byTarget[targetTelltale]
		se, ok2 := byTarget[targetExporter]
		if ok1 && ok2 {
			if tt.Series < minSeriesForBytes {
				tt.BytesPerSeries = 0 // fixed buffers dominate: no ratio
			}
			rows = append(rows, summaryRow{
				Workload:       w,
				Target:         ratioTarget,
				MaxRate:        ratio(tt.MaxRate, se.MaxRate),
				CPUNsPerLine:   ratio(tt.CPUNsPerLine, se.CPUNsPerLine),
				PeakRSS:        ratio(tt.PeakRSS, se.PeakRSS),
				RSSAtMax:       ratio(tt.RSSAtMax, se.RSSAtMax),
				BytesPerSeries: ratio(tt.BytesPerSeries, se.BytesPerSeries),
				SenderLimited:  tt.SenderLimited || se.SenderLimited,
			})
		}
	}
	return rows
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

// minSeriesForBytes is the series count under which RSS per series is not
// printed: fixed buffers dominate the difference.
const minSeriesForBytes = 100000

func writeTable(w io.Writer, rep report) {
	what := fmt.Sprintf("lines processed within %v of each step's end", rep.Config.Grace)
	if rep.Config.Criterion == criterionRead {
		what = "lines read by the server once drained"
	}
	fmt.Fprintf(w, "\nstatsd ingestion: highest rate with loss < %.0f%% (loss = 1 - %s / lines sent)\n%s steps, %d sender(s), %s, %s CPUs, load average at start %s\n\n",
		100*rep.Config.MaxLoss, what, rep.Config.Step, rep.Config.Senders, rep.Env["cpu"], rep.Env["ncpu"], rep.Env["loadavg"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\ttarget\tmax lines/s\tloss\tCPU/line\tpeak RSS\tRSS at max\tRSS/series\t")
	for _, r := range rep.Summary {
		limited := ""
		if r.SenderLimited {
			limited = " ≥"
		}
		if r.Target == ratioTarget {
			fmt.Fprintf(tw, "%s\ttelltale/exporter\t%s%s\t\t%s\t%s\t%s\t%s\t\n",
				r.Workload, limited, fmtRatio(r.MaxRate), fmtRatio(r.CPUNsPerLine), fmtRatio(r.PeakRSS), fmtRatio(r.RSSAtMax), fmtRatio(r.BytesPerSeries))
			continue
		}
		if r.Runs == 0 {
			note := "no step under the loss limit"
			if r.Errors > 0 {
				note = "error (see JSON report)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t\n", r.Workload, r.Target, note)
			continue
		}
		bps := "-"
		if r.Series >= minSeriesForBytes {
			bps = fmt.Sprintf("%.0f B", r.BytesPerSeries)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%.2f M\t%.2f%%\t%.0f ns\t%.1f MB\t%.1f MB\t%s\t\n",
			r.Workload, r.Target, limited, r.MaxRate/1e6, 100*r.LossAtMax, r.CPUNsPerLine, r.PeakRSS/1e6, r.RSSAtMax/1e6, bps)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n≥: the sender (same machine) could not go faster; the server's limit is higher.")
	fmt.Fprintln(w, "peak RSS: VmHWM over the run, overloaded steps included; RSS at max: after the best step.")
}

func fmtRatio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}

func writeJSON(path string, rep report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// appendBenchFormat appends one Go benchmark line per result to path, so
// that runs compare with benchstat, e.g. `benchstat -col /target statsd.txt`
// or `benchstat old.txt new.txt`.
func appendBenchFormat(path string, rep report) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "goos: %s\ngoarch: %s\npkg: github.com/telltale-dev/telltale/bench/statsdbench\n", rep.Env["goos"], rep.Env["goarch"])
	if cpu := rep.Env["cpu"]; cpu != "" {
		fmt.Fprintf(&sb, "cpu: %s\n", cpu)
	}
	for _, r := range rep.Results {
		if r.MaxRate == 0 {
			continue
		}
		fmt.Fprintf(&sb, "BenchmarkStatsd/workload=%s/criterion=%s/target=%s 1 %.0f lines/s %.1f cpu-ns/line %d peak-rss-B %d rss-at-max-B",
			r.Workload, rep.Config.Criterion, r.Target, r.MaxRate, r.CPUNsPerLine, r.PeakRSS, r.RSSAtMax)
		if r.Series >= minSeriesForBytes {
			fmt.Fprintf(&sb, " %.0f B/series", r.BytesPerSeries)
		}
		sb.WriteByte('\n')
	}
	return benchproc.AppendFile(path, sb.String())
}
