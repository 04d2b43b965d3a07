package ingest

import (
	"slices"
	"testing"
	"time"

	dogstatsd "github.com/DataDog/datadog-go/v5/statsd"

	"github.com/telltale-dev/telltale/aggregate"
)

// TestStatsdDataDogClient sends every metric type with the real DataDog
// client, over UDP and over TCP (through NewWithWriter, as the client has no
// TCP transport of its own).
func TestStatsdDataDogClient(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			r := newRecorder()
			s, _ := startServer(t, StatsdConfig{}, r.factory)
			opts := []dogstatsd.Option{
				dogstatsd.WithoutTelemetry(),
				dogstatsd.WithoutOriginDetection(),
				dogstatsd.WithNamespace("app."),
				dogstatsd.WithTags([]string{"env:test"}),
			}
			var c *dogstatsd.Client
			var err error
			if transport == "udp" {
				c, err = dogstatsd.New(s.UDPAddr().String(), opts...)
			} else {
				c, err = dogstatsd.NewWithWriter(dialTCP(t, s), opts...)
			}
			if err != nil {
				t.Fatal(err)
			}
			tags := []string{"route:/home"}
			for _, err := range []error{
				c.Count("requests", 3, tags, 1),
				c.Gauge("temperature", 21.5, tags, 1),
				c.Timing("latency", 250*time.Millisecond, tags, 1),
				c.Histogram("size", 512, tags, 1),
				c.Distribution("payload", 7, tags, 1),
				c.Set("users", "alice", tags, 1),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "6 samples", func() bool { return r.len() == 6 })
			c.Close()

			r.mu.Lock()
			defer r.mu.Unlock()
			want := map[string]got{
				"app.requests":    {Kind: aggregate.Counter, Value: 3},
				"app.temperature": {Kind: aggregate.Gauge, Value: 21.5},
				"app.latency":     {Kind: aggregate.Summary, Value: 0.25, Weight: 1},
				"app.size":        {Kind: aggregate.Summary, Value: 512, Weight: 1},
				"app.payload":     {Kind: aggregate.Summary, Value: 7, Weight: 1},
				"app.users":       {Kind: aggregate.Set, Member: "alice"},
			}
			for _, g := range r.samples {
				w, ok := want[g.Name]
				if !ok {
					t.Errorf("unexpected sample %v", g)
					continue
				}
				labels := g.Labels
				g.Name, g.Labels = "", ""
				if g != w {
					t.Errorf("%s: got %v, want %v", labels, g, w)
				}
				if !slices.Contains([]string{"env=test,route=/home", "route=/home,env=test"}, labels) {
					t.Errorf("got labels %q, want env=test and route=/home", labels)
				}
			}
		})
	}
}
