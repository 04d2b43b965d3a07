// Command telltale is one binary that is a statsd server and a
// Sentry-compatible error tracker with embedded storage. "telltale serve"
// runs it; see DESIGN.md §2.1 for the command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage:
  telltale serve [-config telltale.yaml] [-data-dir ./data] [-http-addr 127.0.0.1:8080]
                 [-statsd-addr 127.0.0.1:8125] [-flush-interval 10s]
  telltale -check-config -config FILE
  telltale version
`

// run is main without the process: it returns the exit code.
// defaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not
// set. It must stay above the live heap (about 10 KB per issue plus
// Badger's caches), or the collector runs without pause: at 128 MiB with
// 10 000 issues, the issue list spent 70 % of its CPU in GC.
const defaultMemoryLimit = 192 << 20

// defaultGCPercent is GOGC when the environment does not set it.
const defaultGCPercent = 30

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		args = args[1:]
	default:
		if args[0] == "" || args[0][0] != '-' {
			fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
			return 2
		}
		// Flags without a command: "telltale -check-config -config FILE".
	}
	cfg, checkOnly, err := parseServeArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlagUsage):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 1
	}
	if checkOnly {
		fmt.Fprintln(stdout, "configuration ok")
		return 0
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Without a GOMEMLIMIT the Go heap grows to twice the live heap before
	// a collection: under an event flood that is hundreds of MB of garbage.
	// A soft limit makes the collector work harder instead (the live heap
	// may still exceed it; Go then behaves as without a limit).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// A collection when the heap has grown by 30 %, not doubled: under an
	// event flood the garbage is large and most of the live heap (about
	// 100 MB) is Badger's: memtables and the buffers of tables being built.
	// Measured in make bench-sentry (128 connections): largest RSS sample
	// 168 MB at GOGC 30 against 221 MB at 50 (and 289 MB at 100), with the
	// same events/s within the noise (4 977 against 5 128).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m := NewMain(cfg, log)
	if err := m.Run(ctx); err != nil {
		log.Error("cannot start", "err", err)
		m.Close(context.Background())
		return 1
	}
	<-ctx.Done()
	stop() // a second signal kills the process the ordinary way
	log.Info("shutting down", "signal", context.Cause(ctx))
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return 1
	}
	return 0
}

func versionString() string {
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
		return fmt.Sprintf("telltale %s (revision %s, %s)", version, rev, bi.GoVersion)
	}
	return "telltale " + version
}
