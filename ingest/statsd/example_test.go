package statsd_test

import (
	"bytes"
	"fmt"

	"github.com/telltale-dev/telltale/ingest/statsd"
)

func ExampleParser_Parse() {
	packet := []byte("api.requests:1|c|@0.5|#env:prod,code:200\n" +
		"api.latency:12:15|ms\n" +
		"queue.depth:-3|g\n" +
		"_e{5,4}:title|text\n" +
		"broken\n")

	var p statsd.Parser // one per goroutine, reused
	var samples []statsd.Sample
	for len(packet) > 0 {
		var line []byte
		line, packet, _ = bytes.Cut(packet, []byte("\n"))
		var err error
		samples, err = p.Parse(samples[:0], line)
		if err != nil {
			fmt.Printf("rejected %q: %s\n", line, statsd.Reason(err))
		}
		// The samples point into line: copy what outlives the next Parse.
		for _, s := range samples {
			fmt.Printf("%s %s value=%v rate=%v relative=%v tags=%d\n", s.Name, s.Type, s.Value, s.Rate, s.Relative, len(s.Tags))
		}
	}
	// Output:
	// api.requests counter value=1 rate=0.5 relative=false tags=2
	// api.latency timer value=12 rate=1 relative=false tags=0
	// api.latency timer value=15 rate=1 relative=false tags=0
	// queue.depth gauge value=-3 rate=1 relative=true tags=0
	// rejected "_e{5,4}:title|text": event
	// rejected "broken": malformed_line
}
