# statsd benchmark targets, included from the root Makefile (include bench/bench.mk).
# See bench/README.md. Nothing here uses -race.

GO    ?= go
TOOLS ?= $(CURDIR)/.tools

# statsd_exporter is the peer: built from source at a pinned version into
# .tools/ (never added to go.mod), under a versioned name so that a change of
# version installs again.
STATSD_EXPORTER_VERSION := v0.31.0
STATSD_EXPORTER := $(TOOLS)/statsd_exporter-$(STATSD_EXPORTER_VERSION)

# Extra flags for the driver, e.g. make bench-statsd BENCH_STATSD_FLAGS='-workloads counters -count 3'.
BENCH_STATSD_FLAGS ?=

.PHONY: bench-statsd
bench-statsd: bench-statsd-build ## statsd load test, Telltale vs statsd_exporter (~10 min; BENCH_STATSD_FLAGS='...')
	bin/statsdbench -telltale bin/telltale -statsd-exporter $(STATSD_EXPORTER) -loadgen bin/loadgen $(BENCH_STATSD_FLAGS)

.PHONY: bench-statsd-quick
bench-statsd-quick: bench-statsd-build ## the same in about 2 minutes (shorter steps, coarser ladder, 200k series)
	bin/statsdbench -quick -telltale bin/telltale -statsd-exporter $(STATSD_EXPORTER) -loadgen bin/loadgen $(BENCH_STATSD_FLAGS)

.PHONY: bench-statsd-build
bench-statsd-build: $(STATSD_EXPORTER) ## build bin/telltale, bin/loadgen, bin/statsdbench and install statsd_exporter
	$(GO) build -o bin/telltale ./cmd/telltale
	$(GO) build -o bin/loadgen ./bench/loadgen
	$(GO) build -o bin/statsdbench ./bench/statsdbench

$(STATSD_EXPORTER):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/statsd_exporter@$(STATSD_EXPORTER_VERSION)
	mv $(TOOLS)/statsd_exporter $@

# Metric-history benchmarks (bench/history): a day of flushes through package
# storage, PromQL range queries over it beside Prometheus' TSDB, and a flush of
# 100 000 known series. See bench/README.md, section "History".
# Extra go test flags, e.g. make bench-history BENCH_HISTORY_FLAGS='-count 3'.
BENCH_HISTORY_FLAGS ?=

.PHONY: bench-history
bench-history: ## storage history benchmarks: day write (disk B/sample), PromQL vs Prometheus TSDB, 100k-series flush (~4 min)
	@mkdir -p bench/out
	set -o pipefail; TELLTALE_BENCH_HISTORY=1 $(GO) test -v -run='^$$' -bench=. -benchmem -timeout=60m $(BENCH_HISTORY_FLAGS) ./bench/history | tee bench/out/history.txt
