package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

// Target names accepted by -targets.
const (
	targetTelltale = "telltale"
	targetExporter = "statsd_exporter"
)

// targetSpec says how to start one server and read its counts.
type targetSpec struct {
	name string
	bin  string
	// args returns the command line for the statsd and HTTP addresses and
	// a scratch data directory.
	args func(statsdAddr, httpAddr, dataDir string) []string
	// readyPath answers 200 once the server takes traffic.
	readyPath string
	// linesMetric counts the statsd lines the server read (summed over its
	// label sets); after a drain, sent minus this is what was dropped.
	linesMetric string
	// processedMetrics, summed, count the lines whose work is done (applied
	// to the series, or rejected). Telltale counts a line once its worker
	// has parsed and aggregated it; statsd_exporter counts lines when its
	// reader parses them and queues their events (up to 10 000 batches of
	// 1 000), so its work is done when the event is handled.
	processedMetrics []string
	// seriesMetric is the number of series the server holds (summed over
	// its label sets), recorded after priming; "": none.
	seriesMetric string
	// stopAt, when set, is a name prefix at whose first sample a scrape
	// stops reading: Telltale streams its own metrics before the statsd
	// series, which all start with "bench_" here.
	stopAt string
	// extraMetrics are read with the others and kept in the JSON report
	// to explain losses (queue and kernel drops, rejects).
	extraMetrics []string
}

func telltaleSpec(bin string, extra []string) targetSpec {
	return targetSpec{
		name: targetTelltale,
		bin:  bin,
		args: func(statsdAddr, httpAddr, dataDir string) []string {
			a := []string{"serve", "-statsd-addr", statsdAddr, "-http-addr", httpAddr, "-data-dir", dataDir, "-flush-interval", "1s"}
			return append(a, extra...)
		},
		readyPath:        "/readyz",
		linesMetric:      "telltale_statsd_lines_received_total",
		processedMetrics: []string{"telltale_statsd_lines_received_total"},
		seriesMetric:     "telltale_aggregate_series",
		stopAt:           "bench_",
		extraMetrics: []string{
			"telltale_statsd_packets_received_total",
			"telltale_statsd_lines_rejected_total",
			"telltale_statsd_udp_queue_dropped_total",
			"telltale_statsd_udp_kernel_drops_total",
			"telltale_aggregate_samples_dropped_total",
		},
	}
}

func exporterSpec(bin string, extra []string) targetSpec {
	return targetSpec{
		name: targetExporter,
		bin:  bin,
		args: func(statsdAddr, httpAddr, _ string) []string {
			a := []string{"--statsd.listen-udp=" + statsdAddr, "--statsd.listen-tcp=", "--web.listen-address=" + httpAddr, "--log.level=warn"}
			return append(a, extra...)
		},
		readyPath:   "/metrics",
		linesMetric: "statsd_exporter_lines_total",
		processedMetrics: []string{
			"statsd_exporter_events_total",          // events applied
			"statsd_exporter_events_conflict_total", // events refused by the registry
			"statsd_exporter_events_error_total",
			"statsd_exporter_sample_errors_total", // lines refused by the parser (sets), no event
		},
		// No series count: statsd_exporter_metrics_total counts metric
		// names (vectors), not series.
		extraMetrics: []string{
			"statsd_exporter_udp_packets_total",
			"statsd_exporter_udp_packet_drops_total",
			"statsd_exporter_event_queue_flushed_total",
		},
	}
}

// server is one running target process.
type server struct {
	*benchproc.Process
	spec       targetSpec
	statsdAddr string
	httpAddr   string
	statsdPort int
	dataDir    string
	client     *http.Client
}

// startServer starts spec on free loopback ports, its output going to
// logPath, and waits until it is ready.
func startServer(ctx context.Context, spec targetSpec, logPath string, readyTimeout time.Duration) (*server, error) {
	statsdPort, err := benchproc.FreePort(true)
	if err != nil {
		return nil, err
	}
	httpPort, err := benchproc.FreePort(false)
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "statsdbench-"+spec.name+"-*")
	if err != nil {
		return nil, err
	}
	s := &server{
		spec:       spec,
		statsdAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(statsdPort)),
		httpAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
		statsdPort: statsdPort,
		dataDir:    dataDir,
		// Identity encoding: gzip would only add server CPU, and
		// bodies can be large with many series.
		client: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableCompression: true}},
	}
	if s.Process, err = benchproc.Start(spec.name, spec.bin, spec.args(s.statsdAddr, s.httpAddr, dataDir), logPath); err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	if err := s.WaitReady(ctx, s.client, "http://"+s.httpAddr+s.spec.readyPath, readyTimeout); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends the process and removes its data directory.
func (s *server) stop() {
	s.Stop()
	os.RemoveAll(s.dataDir)
}

// metricNames are the metrics a measurement reads.
func (s *server) metricNames() []string {
	names := []string{s.spec.linesMetric}
	names = append(names, s.spec.processedMetrics...)
	if s.spec.seriesMetric != "" {
		names = append(names, s.spec.seriesMetric)
	}
	names = append(names, s.spec.extraMetrics...)
	slices.Sort(names)
	return slices.Compact(names)
}

// processed sums the processed metrics of m.
func (s *server) processed(m map[string]float64) float64 {
	var n float64
	for _, name := range s.spec.processedMetrics {
		n += m[name]
	}
	return n
}

// metrics scrapes /metrics and returns the sum over label sets of each
// named metric. Only the asked names are decoded; the name[] parameter lets
// client_golang servers skip encoding the rest.
func (s *server) metrics(ctx context.Context, names ...string) (map[string]float64, error) {
	url := "http://" + s.httpAddr + "/metrics?"
	for i, n := range names {
		if i > 0 {
			url += "&"
		}
		url += "name[]=" + n
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.spec.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %s", s.spec.name, resp.Status)
	}
	return sumMetrics(resp.Body, names, s.spec.stopAt)
}

// sumMetrics reads the Prometheus text format from r and sums the samples
// of each name in names over their label sets. A name with no sample is
// absent from the result. With stopAt set, it stops at the first sample
// whose name starts with stopAt.
func sumMetrics(r io.Reader, names []string, stopAt string) (map[string]float64, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64, len(names))
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer cannot be one of ours:
			// skip the rest of it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 && line[0] != '#' {
			name, value, ok := parseSample(line)
			if ok && want[name] {
				out[name] += value
			} else if ok && stopAt != "" && strings.HasPrefix(name, stopAt) {
				return out, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// parseSample splits one text-format sample line into its metric name and
// value.
func parseSample(line []byte) (string, float64, bool) {
	line = bytes.TrimSpace(line)
	end := bytes.IndexAny(line, "{ ")
	if end <= 0 {
		return "", 0, false
	}
	name := string(line[:end])
	rest := line[end:]
	if rest[0] == '{' {
		close := bytes.LastIndexByte(rest, '}')
		if close < 0 {
			return "", 0, false
		}
		rest = rest[close+1:]
	}
	fields := strings.Fields(string(rest))
	if len(fields) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", 0, false
	}
	return name, v, true
}

// procStats are the resource figures read from /proc for one process.
type procStats struct {
	benchproc.Stats
	udpRx int64 // receive queue bytes of the statsd socket
	drops int64 // kernel drops on the statsd socket
}

func (s *server) stats() (procStats, error) {
	var st procStats
	var err error
	if st.Stats, err = benchproc.Read(s.Pid()); err != nil {
		return st, err
	}
	if udp, err := os.ReadFile("/proc/net/udp"); err == nil {
		st.udpRx, st.drops = udpSocket(udp, s.statsdPort)
	}
	return st, nil
}

// udpSocket sums the receive queue and drop columns of the /proc/net/udp
// rows bound to 127.0.0.1:port (several with SO_REUSEPORT).
func udpSocket(table []byte, port int) (rxQueue, drops int64) {
	local := fmt.Sprintf("0100007F:%04X", port)
	for line := range bytes.SplitSeq(table, []byte("\n")) {
		f := strings.Fields(string(line))
		// sl local rem st tx_queue:rx_queue tr:tm retrnsmt uid timeout inode ref pointer drops
		if len(f) < 13 || f[1] != local {
			continue
		}
		if _, rx, ok := strings.Cut(f[4], ":"); ok {
			n, _ := strconv.ParseInt(rx, 16, 64)
			rxQueue += n
		}
		n, _ := strconv.ParseInt(f[12], 10, 64)
		drops += n
	}
	return rxQueue, drops
}
