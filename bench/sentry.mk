# Sentry ingestion benchmark targets, included from the root Makefile
# (include bench/sentry.mk). See bench/README.md, section "Sentry".
# Nothing here uses -race.

GO ?= go

# Extra flags for the driver, e.g. make bench-sentry BENCH_SENTRY_FLAGS='-groups 1000 -conns 32'.
BENCH_SENTRY_FLAGS ?=

.PHONY: bench-sentry
bench-sentry: bench-sentry-build ## Sentry envelope ingestion: flat out, 2000/s (p99), gzip, beside a null sink; checks issue counts (~2 min; BENCH_SENTRY_FLAGS='...')
	bin/sentrybench -bin bin/telltale -loadgen bin/sentryload $(BENCH_SENTRY_FLAGS)

.PHONY: bench-sentry-quick
bench-sentry-quick: bench-sentry-build ## the same with 4 s phases (~30 s), a smoke run
	bin/sentrybench -quick -bin bin/telltale -loadgen bin/sentryload $(BENCH_SENTRY_FLAGS)

.PHONY: bench-sentry-soak
bench-sentry-soak: bench-sentry-build ## a 3-minute flat-out flood without the null sink: RSS must stay under target in a sustained flood (~4 min)
	bin/sentrybench -no-sink -flat 3m -rate-duration 5s -gzip-duration 5s -bench-out bench/out/sentry-soak.txt -out bench/out/sentry-soak.json $(BENCH_SENTRY_FLAGS)

.PHONY: bench-sentry-build
bench-sentry-build: ## build bin/telltale, bin/sentryload and bin/sentrybench
	$(GO) build -o bin/telltale ./cmd/telltale
	$(GO) build -o bin/sentryload ./bench/sentryload
	$(GO) build -o bin/sentrybench ./bench/sentrybench
