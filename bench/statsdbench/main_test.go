package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	cases := map[string]float64{"250k": 250e3, "1.5M": 1.5e6, "2000000": 2e6, "3m": 3e6, "10K": 1e4}
	for in, want := range cases {
		got, err := parseRate(in)
		if err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1M", "0", "1G", "abc"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q): want an error", in)
		}
	}
	if _, err := parseRates("1M,500k"); err == nil {
		t.Error("parseRates: a descending ladder must be refused")
	}
}

func TestQuickDefaults(t *testing.T) {
	c, err := parseFlags([]string{"-quick", "-step", "3s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Step != 3*time.Second || c.Series != quickSeries || c.Refine != 0 || len(c.Ladder) != 5 {
		t.Fatalf("got %+v, want quick defaults with -step 3s kept", c)
	}
}

func TestSumMetrics(t *testing.T) {
	body := `# HELP telltale_statsd_lines_received_total Lines.
# TYPE telltale_statsd_lines_received_total counter
telltale_statsd_lines_received_total{transport="tcp"} 5
telltale_statsd_lines_received_total{transport="udp"} 1.2e+06
telltale_statsd_lines_received_total_other 7
statsd_exporter_lines_total 42 1700000000000
label_with_brace{a="}"} 3
` + strings.Repeat("x", 70000) + " 1\n" + `tail_metric 9`
	got, err := sumMetrics(strings.NewReader(body), []string{"telltale_statsd_lines_received_total", "statsd_exporter_lines_total", "tail_metric", "label_with_brace", "absent"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"telltale_statsd_lines_received_total": 1200005, "statsd_exporter_lines_total": 42, "tail_metric": 9, "label_with_brace": 3}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	got, err = sumMetrics(strings.NewReader(body), []string{"statsd_exporter_lines_total", "tail_metric"}, "label_")
	if err != nil || got["statsd_exporter_lines_total"] != 42 || len(got) != 1 {
		t.Fatalf("with stopAt: got %v, %v; want only statsd_exporter_lines_total 42", got, err)
	}
}

// TestUDPSocket checks the /proc/net/udp reader (the /proc/PID parsers
// are tested in package benchproc).
func TestUDPSocket(t *testing.T) {
	udp := []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:1FBD 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 1 2 ffff 17
  124: 0100007F:1FBD 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 1 2 ffff 3
  125: 0100007F:1FBE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 ffff 99
`)
	rx, drops := udpSocket(udp, 0x1FBD)
	if rx != 0xA00+0x100 || drops != 20 {
		t.Fatalf("udpSocket = %d, %d; want %d, 20", rx, drops, 0xA00+0x100)
	}
}

func TestSummarize(t *testing.T) {
	results := []result{
		{Target: targetTelltale, Workload: "counters", MaxRate: 6e6, CPUNsPerLine: 200, PeakRSS: 50e6, Series: 1000},
		{Target: targetExporter, Workload: "counters", MaxRate: 1.5e6, CPUNsPerLine: 800, PeakRSS: 100e6, Series: 1000},
		{Target: targetTelltale, Workload: "mixed", Error: "boom"},
	}
	rows := summarize(results, []string{targetTelltale, targetExporter}, []string{"counters", "mixed"})
	var ratio *summaryRow
	for i, r := range rows {
		if r.Workload == "counters" && r.Target == ratioTarget {
			ratio = &rows[i]
		}
	}
	if ratio == nil || ratio.MaxRate != 4 || ratio.CPUNsPerLine != 0.25 || ratio.PeakRSS != 0.5 {
		t.Fatalf("counters ratio row: got %+v, want 4x rate, 0.25x CPU, 0.5x RSS", ratio)
	}
	var sb strings.Builder
	writeTable(&sb, report{Summary: rows, Config: config{MaxLoss: 0.01}, Env: map[string]string{}})
	if !strings.Contains(sb.String(), "4.00x") || !strings.Contains(sb.String(), "error") {
		t.Fatalf("table lacks the ratio or the error:\n%s", sb.String())
	}
}
