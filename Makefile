# aepsflow developer and CI entry points. Needs GNU make, Go, and PostgreSQL (a running server on
# 127.0.0.1:5432, DATABASE_URL, or just the installed binaries: see scripts/pg.sh).

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

# The newest Temporal CLI that installs from the Go module proxy (later ones carry a replace directive).
TEMPORAL_CLI_VERSION := v1.5.1
export TEMPORAL_CLI_VERSION

.DEFAULT_GOAL := help

.PHONY: help dev demo test test-faults bench screenshots build temporal cluster cluster-down cluster-destroy stop clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(ROOT)/Makefile | sed 's/:.*## /\t/' | expand -t 14

dev: ## run aepsflow locally: PostgreSQL, Temporal dev server + UI, migrations, UAT agent, API+worker
	@$(ROOT)/scripts/dev.sh

demo: ## make dev + the simulator's gateway page on localhost:3004 + the agent launch page: the whole browser flow, offline
	@$(ROOT)/scripts/demo.sh

test: ## go vet, all tests against real PostgreSQL and Temporal, workflowcheck, compose file check
	@$(ROOT)/scripts/test.sh

test-faults: ## fault-injection suite (build tag faults); TOPOLOGY=cluster: the cluster faults (API replica, worker mid-activity, Temporal server restart)
	@$(ROOT)/scripts/temporal.sh ensure
	$(if $(filter cluster,$(TOPOLOGY)),@CLUSTER_UI=off $(ROOT)/scripts/cluster.sh build)
	cd $(ROOT) && TEMPORAL_CLI=$(ROOT)/bin/temporal go test -count=1 -tags faults -timeout 20m $(if $(filter cluster,$(TOPOLOGY)),-run TestCluster) ./faults/...

bench: ## load benchmark: own stack, floors, load, Temporal outage, loss check (BENCHMARKS.md)
	@bash $(ROOT)/scripts/bench.sh

screenshots: ## retake docs/webui-*.png: dev stack + simulator on own ports, headless Chromium (apt-get install chromium)
	@bash $(ROOT)/scripts/screenshots.sh

cluster: ## the production topology without Docker: Temporal Server v1.30.4 on PostgreSQL, Web UI, 2 APIs, 2 workers (scripts/cluster.sh)
	@$(ROOT)/scripts/cluster.sh up

cluster-down: ## stop the cluster's processes (its state stays in PostgreSQL)
	@$(ROOT)/scripts/cluster.sh down

cluster-destroy: ## stop the cluster and drop its databases
	@$(ROOT)/scripts/cluster.sh destroy

build: ## build every command into bin/ (the load generator from its own module in bench/)
	cd $(ROOT) && go build -o bin/ ./cmd/...
	cd $(ROOT)/bench && GOFLAGS=-mod=mod go build -o ../bin/ ./cmd/...

temporal: ## build bin/temporal (the pinned Temporal CLI) if missing
	@$(ROOT)/scripts/temporal.sh ensure

stop: ## stop the dev Temporal server, the cluster (make cluster) and the private PostgreSQL cluster (if one was started)
	@$(ROOT)/scripts/temporal.sh stop dev
	@$(ROOT)/scripts/temporal.sh stop test
	@$(ROOT)/scripts/cluster.sh down
	@$(ROOT)/scripts/pg.sh stop

clean: ## remove built binaries (except the Temporal ones: bin/temporal*) and test/bench scratch files
	cd $(ROOT) && find bin -mindepth 1 -maxdepth 1 ! -name 'temporal*' -exec rm -rf {} + 2>/dev/null || true
	rm -rf $(ROOT)/.test $(ROOT)/.bench

distclean: stop clean ## also delete dev state (.dev: Temporal history, private PostgreSQL) and bin/temporal
	@$(ROOT)/scripts/pg.sh destroy
	rm -rf $(ROOT)/.dev $(ROOT)/bin
