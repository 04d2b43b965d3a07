// Package ingest owns Telltale's network inputs: the statsd UDP and TCP
// listeners (StatsdServer) and, with the Sentry issue, the Sentry HTTP
// handlers. It turns wire bytes into calls on the aggregator through the pure
// parsers (ingest/statsd; ingest/envelope to come), and it bounds everything that grows from
// input: line length, queue length, connection count.
//
// # statsd
//
// UDP and TCP share one address (DESIGN §2.3). UDP is read by several reader
// goroutines on one socket with batched reads (recvmmsg through
// golang.org/x/net/ipv4 ReadBatch). A reader copies each batch's datagrams
// compactly into a pooled chunk and hands the chunk to a bounded queue
// without blocking: when the queue is full the chunk is dropped and counted
// in telltale_statsd_udp_queue_dropped_total. Readers therefore never wait on
// parsing, aggregation, flushing or disk; the only other place UDP loses data
// is the kernel's receive buffer, whose drop count is exported as
// telltale_statsd_udp_kernel_drops_total. Worker goroutines take chunks off
// the queue, split them into lines, parse them and feed each sample to their
// own Appender.
//
// TCP connections are served by one goroutine each, which parses and appends
// directly: TCP's flow control is the backpressure, and a slow aggregator
// slows the sender instead of dropping its lines. Lines longer than
// StatsdConfig.MaxLineLength are rejected with reason "line_too_long" and
// skipped without being buffered.
//
// A malformed line is counted in telltale_statsd_lines_rejected_total{reason}
// and never spoils the other lines of its packet. Nothing is logged per line
// or per packet.
//
// The statsd and DogStatsD formats are described at
// https://github.com/statsd/statsd/blob/master/docs/metric_types.md and
// https://docs.datadoghq.com/developers/dogstatsd/datagram_shell/.
package ingest
