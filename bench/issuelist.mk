# Issue list benchmark targets, included from the root Makefile
# (include bench/issuelist.mk). See bench/README.md, section "Issue list".
# Nothing here uses -race.

GO ?= go

# Extra flags for the driver, e.g. make bench-issues BENCH_ISSUES_FLAGS='-n 500 -refill'.
BENCH_ISSUES_FLAGS ?=

.PHONY: bench-issues
bench-issues: bench-issues-build ## issue list API over 1 000 000 events in 10 000 issues, p99 < 50 ms (first run fills a cached store, ~10 min; BENCH_ISSUES_FLAGS='...')
	bin/issuelist -bin bin/telltale $(BENCH_ISSUES_FLAGS)

.PHONY: bench-issues-quick
bench-issues-quick: bench-issues-build ## the same over 100 000 events (first fill ~1 min)
	bin/issuelist -quick -bin bin/telltale $(BENCH_ISSUES_FLAGS)

.PHONY: bench-issues-build
bench-issues-build: ## build bin/telltale and bin/issuelist
	$(GO) build -o bin/telltale ./cmd/telltale
	$(GO) build -o bin/issuelist ./bench/issuelist
