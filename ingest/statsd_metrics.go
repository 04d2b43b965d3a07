package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Label values of the transport label.
const (
	transportUDP = "udp"
	transportTCP = "tcp"
)

// reasonLineTooLong is the rejection reason of a line over MaxLineLength.
const reasonLineTooLong = "line_too_long"

// statsdMetrics holds a StatsdServer's self-metrics. The children used on the
// hot path are resolved once here, so that no label lookup happens per line.
type statsdMetrics struct {
	packetsUDP        prometheus.Counter
	bytesUDP          prometheus.Counter
	bytesTCP          prometheus.Counter
	linesUDP          prometheus.Counter
	linesTCP          prometheus.Counter
	linesRejected     *prometheus.CounterVec
	events            prometheus.Counter
	serviceChecks     prometheus.Counter
	tagsDropped       prometheus.Counter
	queueDropped      prometheus.Counter
	queueDroppedLines prometheus.Counter
	tcpConns          prometheus.Gauge
	tcpRejected       prometheus.Counter
}

// newStatsdMetrics creates the metrics of s and registers them on reg (nil:
// not registered). It returns the first registration error.
func newStatsdMetrics(s *StatsdServer, reg prometheus.Registerer) (*statsdMetrics, error) {
	packets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_statsd_packets_received_total",
		Help: "statsd UDP datagrams read from the socket, including those later dropped by a full queue.",
	}, []string{"transport"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_statsd_bytes_received_total",
		Help: "statsd payload bytes read from the sockets.",
	}, []string{"transport"})
	lines := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_statsd_lines_received_total",
		Help: "Non-empty statsd lines handed to the parser, including rejected ones.",
	}, []string{"transport"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_statsd_lines_rejected_total",
		Help: "statsd lines rejected, by reason.",
	}, []string{"reason"})
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_statsd_events_dropped_total",
		Help: "DogStatsD events (_e{) and service checks (_sc|) received and dropped.",
	}, []string{"kind"})
	tags := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_statsd_tags_dropped_total",
		Help: "Malformed statsd tags dropped from otherwise valid lines.",
	})
	queueDroppedLines := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_statsd_udp_queue_dropped_lines_total",
		Help: "Non-empty statsd lines in the UDP datagrams dropped because the queue to the workers was full (counted, never parsed).",
	})
	queueDropped := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_statsd_udp_queue_dropped_total",
		Help: "statsd UDP datagrams dropped because the queue to the workers was full.",
	})
	kernelDrops := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "telltale_statsd_udp_kernel_drops_total",
		Help: "statsd UDP datagrams the kernel dropped on the socket (receive buffer full), from /proc/net/udp.",
	}, s.kernelDrops)
	queueLen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telltale_statsd_udp_queue_length",
		Help: "Chunks of statsd UDP datagrams waiting for a worker.",
	}, func() float64 { return float64(len(s.queue)) })
	tcpConns := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "telltale_statsd_tcp_connections",
		Help: "Open statsd TCP connections.",
	})
	tcpRejected := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_statsd_tcp_connections_rejected_total",
		Help: "statsd TCP connections closed at once because MaxTCPConns were open.",
	})
	if reg != nil {
		cs := []prometheus.Collector{packets, bytes, lines, rejected, events, tags, queueDropped, queueDroppedLines, kernelDrops, queueLen, tcpConns, tcpRejected}
		for i, c := range cs {
			if err := reg.Register(c); err != nil {
				for _, done := range cs[:i] {
					reg.Unregister(done)
				}
				return nil, err
			}
		}
	}
	return &statsdMetrics{
		packetsUDP:        packets.WithLabelValues(transportUDP),
		bytesUDP:          bytes.WithLabelValues(transportUDP),
		bytesTCP:          bytes.WithLabelValues(transportTCP),
		linesUDP:          lines.WithLabelValues(transportUDP),
		linesTCP:          lines.WithLabelValues(transportTCP),
		linesRejected:     rejected,
		events:            events.WithLabelValues("event"),
		serviceChecks:     events.WithLabelValues("service_check"),
		tagsDropped:       tags,
		queueDropped:      queueDropped,
		queueDroppedLines: queueDroppedLines,
		tcpConns:          tcpConns,
		tcpRejected:       tcpRejected,
	}, nil
}
