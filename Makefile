# aepsflow developer and CI entry points. Needs GNU make, Go, and PostgreSQL (a running server on
# 127.0.0.1:5432, DATABASE_URL, or just the installed binaries: see scripts/pg.sh).

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

# The newest Temporal CLI that installs from the Go module proxy (later ones carry a replace directive).
TEMPORAL_CLI_VERSION := v1.5.1
export TEMPORAL_CLI_VERSION

.DEFAULT_GOAL := help

.PHONY: help dev test test-faults bench screenshots build temporal stop clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(ROOT)/Makefile | sed 's/:.*## /\t/' | expand -t 14

dev: ## run aepsflow locally: PostgreSQL, Temporal dev server + UI, migrations, UAT agent, API+worker
	@$(ROOT)/scripts/dev.sh

test: ## go vet, all tests against real PostgreSQL and Temporal, workflowcheck, compose file check
	@$(ROOT)/scripts/test.sh

test-faults: ## fault-injection suite (build tag faults): kills and outages on private PostgreSQL/Temporal/aepsflow processes
	@$(ROOT)/scripts/temporal.sh ensure
	cd $(ROOT) && TEMPORAL_CLI=$(ROOT)/bin/temporal go test -count=1 -tags faults -timeout 20m ./faults/...

bench: ## load benchmark: own stack, floors, load, Temporal outage, loss check (BENCHMARKS.md)
	@bash $(ROOT)/scripts/bench.sh

screenshots: ## retake docs/webui-*.png: dev stack + simulator on own ports, headless Chromium (apt-get install chromium)
	@bash $(ROOT)/scripts/screenshots.sh

build: ## build every command into bin/ (the load generator from its own module in bench/)
	cd $(ROOT) && go build -o bin/ ./cmd/...
	cd $(ROOT)/bench && go build -o ../bin/ ./cmd/...

temporal: ## build bin/temporal (the pinned Temporal CLI) if missing
	@$(ROOT)/scripts/temporal.sh ensure

stop: ## stop the dev Temporal server and the private PostgreSQL cluster (if one was started)
	@$(ROOT)/scripts/temporal.sh stop dev
	@$(ROOT)/scripts/temporal.sh stop test
	@$(ROOT)/scripts/pg.sh stop

clean: ## remove built binaries (except bin/temporal) and test/bench scratch files
	cd $(ROOT) && find bin -mindepth 1 -maxdepth 1 ! -name temporal -exec rm -rf {} + 2>/dev/null || true
	rm -rf $(ROOT)/.test $(ROOT)/.bench

distclean: stop clean ## also delete dev state (.dev: Temporal history, private PostgreSQL) and bin/temporal
	@$(ROOT)/scripts/pg.sh destroy
	rm -rf $(ROOT)/.dev $(ROOT)/bin
