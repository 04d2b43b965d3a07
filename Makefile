# Telltale's Makefile. Every target has a "## description"; `make help` lists them.
# Only Go is needed for build, run, test, vet and fmt; lint fetches its pinned tool.

SHELL := bash
GO    ?= go

BIN   := bin/telltale
TOOLS := $(CURDIR)/.tools

# staticcheck v0.8.2 is release 2026.2.2, the first line that builds with and
# understands Go 1.26. It is installed into .tools/, never added to go.mod.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 20s
# Extra arguments for `make run`, e.g. make run ARGS='-config telltale.yaml'.
ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@echo 'Usage: make <target>'
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_.-]+:.*## / { printf "  %-20s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: build
build: ## compile every package, and the server into bin/telltale
	$(GO) build ./...
	$(GO) build -o $(BIN) ./cmd/telltale

.PHONY: run
run: build ## build, then run `telltale serve` with defaults (data in ./data; ARGS='...' adds flags)
	./$(BIN) serve $(ARGS)

.PHONY: test
test: sdk-deps browser-deps ## run the tests, including the fuzz targets' seed corpora
	$(GO) test ./...

.PHONY: sdk-deps
sdk-deps: ## install the real Sentry SDKs the SDK tests drive (npm ci; apt python3-sentry-sdk); never fails
	@sh cmd/telltale/testdata/sdk/install.sh

.PHONY: browser-deps
browser-deps: ## install headless Chromium for the UI tests (apt, as root); never fails
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation >/dev/null 2>&1 && echo "installed chromium"; } || echo "no chromium: TestUIBrowser will skip (apt-get install -y chromium)"

.PHONY: test-race
test-race: sdk-deps browser-deps ## run the tests under the race detector
	$(GO) test -race ./...

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@fail=0; found=0; \
	for file in $$(find . \( -name .git -o -name .tools -o -name data -o -name testdata \) -prune -o -name '*_test.go' -print | sort); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			found=1; dir=$$(dirname "$$file"); \
			echo "==> $$dir $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) "$$dir" || fail=1; \
		done; \
	done; \
	if [ $$found = 0 ]; then echo 'no fuzz targets found'; fi; \
	exit $$fail

.PHONY: bench
bench: ## run the benchmarks 6 times into bench.txt for benchstat (never with -race)
	set -o pipefail; $(GO) test -run='^$$' -bench=. -benchmem -count=6 ./... | tee bench.txt

.PHONY: vet
vet: ## run go vet
	$(GO) vet ./...

.PHONY: lint
lint: $(STATICCHECK) ## run staticcheck (pinned; installed into .tools/ on first use)
	$(STATICCHECK) ./...

$(STATICCHECK):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

.PHONY: fmt
fmt: ## fail if a Go file is not gofmt-formatted (fix with: gofmt -w .)
	@out=$$(gofmt -l $$(find . \( -name .git -o -name .tools -o -name data -o -name node_modules \) -prune -o -name '*.go' -print)); \
	if [ -n "$$out" ]; then echo 'these files need gofmt -w:'; echo "$$out"; exit 1; fi

.PHONY: check
check: fmt vet lint test ## fmt, vet, lint and test: run this before sending a change

.PHONY: clean
clean: ## remove build and benchmark outputs (keeps ./data and .tools/)
	rm -rf bin bench.txt
	find . \( -name .git -o -name data \) -prune -o \( -name '*.test' -o -name '*.prof' \) -type f -print | xargs rm -f

# End-to-end benchmarks (bench-statsd, ...) live beside their code.
-include bench/bench.mk
-include bench/sentry.mk
-include bench/issuelist.mk
