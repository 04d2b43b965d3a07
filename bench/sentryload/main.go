// Command sentryload sends a deterministic Sentry envelope load to
// POST {url}/api/{project}/envelope/, for benchmarks (bench/sentrybench runs
// it) and for soak tests.
//
// Each event is a sentry-go shaped error event of about -size bytes
// (default 6 500): an exception (bare array, or {"values":[...]} for odd
// groups with -exception mixed) with a 20-frame stack trace, tags, user,
// contexts, request, modules, breadcrumbs and release/environment. Events
// fall into -groups groups (event i in group i mod K) whose exception type
// and crash frame differ, so that default grouping makes K issues without a
// custom fingerprint. Every event has its own event_id, fixed by -seed and
// its index (-first is the first index: use disjoint ranges against one
// server). The templates are built before the clock starts.
//
// -conns goroutines each send one request at a time over their own
// keep-alive connection (X-Sentry-Auth with -key, as sentry-go), pacing
// themselves at -rate/-conns events/s (0: flat out), optionally gzipped
// (-gzip). A 429 puts the connection to sleep for its X-Sentry-Rate-Limits
// or Retry-After (60 s without either, capped by -max-retry-after), as the
// SDKs do; nothing is retried.
//
// At the end it prints one JSON object on stdout (see load.Summary: sent,
// accepted, events/s accepted, latency quantiles of accepted requests,
// status counts, back-offs, accepted events per group) and one line for
// people on stderr.
//
// Usage:
//
//	sentryload -url http://127.0.0.1:8080 -project 1 -key 0123456789abcdef0123456789abcdef -duration 20s
//	sentryload -url http://127.0.0.1:8080 -rate 2000 -duration 1m -gzip
//	sentryload -sink 127.0.0.1:9999   # serve a null sink instead
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/telltale-dev/telltale/bench/sentryload/load"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

func main() { benchproc.Main("sentryload", run) }

func parseFlags(args []string, stderr io.Writer) (load.Config, string, error) {
	var c load.Config
	var sink string
	fs := flag.NewFlagSet("sentryload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "server base `URL`; events go to URL/api/PROJECT/envelope/")
	fs.StringVar(&c.Project, "project", "1", "project id")
	fs.StringVar(&c.Key, "key", "0123456789abcdef0123456789abcdef", "project public key (sentry_key)")
	fs.IntVar(&c.Groups, "groups", 100, "distinct groups (issues) K")
	fs.IntVar(&c.Size, "size", 6500, "target event payload `bytes`")
	fs.StringVar(&c.Exception, "exception", load.ExceptionMixed, "exception form: array (sentry-go), values, or mixed (array for even groups)")
	fs.BoolVar(&c.Gzip, "gzip", false, "gzip each body (Content-Encoding: gzip)")
	fs.IntVar(&c.Conns, "conns", 16, "connections, each one goroutine with its own keep-alive connection")
	fs.Float64Var(&c.Rate, "rate", 0, "target events/s over all connections (0: flat out)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "stop after this long (0: no limit; then -events must be set)")
	fs.Int64Var(&c.Events, "events", 0, "stop after this many events (0: no limit)")
	fs.Uint64Var(&c.First, "first", 0, "index of the first event (ids and groups follow it; use disjoint ranges against one server)")
	fs.Uint64Var(&c.Seed, "seed", 1, "PRNG seed: the same seed sends the same events (but for timestamps)")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.DurationVar(&c.MaxRetryAfter, "max-retry-after", 60*time.Second, "longest back-off after a 429")
	fs.StringVar(&sink, "sink", "", "serve a null sink on `addr` (answers 200 {\"id\":...} at once) instead of sending")
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	if fs.NArg() > 0 {
		return c, "", fmt.Errorf("%w: unexpected arguments %q", load.ErrConfig, fs.Args())
	}
	return c, sink, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, sink, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if sink != "" {
		s, err := load.StartNullSink(sink)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "sentryload: null sink on %s\n", s.URL())
		<-ctx.Done()
		err = s.Close()
		fmt.Fprintf(stderr, "sentryload: null sink answered %d requests\n", s.Requests())
		return err
	}
	// sentrybench waits for this line to start sampling the server.
	c.Started = func() { fmt.Fprintf(stderr, "sentryload: sending to %s with %d conns\n", c.URL, c.Conns) }
	sum, err := load.Run(ctx, c)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(sum); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "sentryload:", sum.Human())
	return nil
}
