#!/usr/bin/env bash
# `make bench`: the load benchmark (BENCHMARKS.md). Brings up its own stack, runs the load
# generator (bench/cmd/loadgen, a Go module of its own in bench/) against it, and takes it down again:
#
#   PostgreSQL         scripts/pg.sh; database aepsflow_bench, dropped and recreated every run
#   Temporal           its own dev server "bench" on 127.0.0.1:$BENCH_TEMPORAL_PORT, state in
#                      .bench/temporal.db (SQLite, WAL), deleted before every run
#   ekosim             `loadgen inquiry-sim`: Eko's Transaction Inquiry API, success for every reference
#   aepsflow           bin/aepsflow api and bin/aepsflow worker, separate processes, PPROF_ADDR set
#   loadgen            floors, load, Temporal outage (stops and restarts the bench dev server), loss check
#
# Output: the results table on stdout; .bench/results.{json,md}; docs/bench-latency.png; CPU
# profiles of api and worker in .bench/profiles (with `go tool pprof -top` text next to each);
# process logs in .bench/logs. Exit status non-zero when a transaction was lost or duplicated or a
# request failed.
#
# Knobs (environment): BENCH_N (2000), BENCH_CONCURRENCY (16), BENCH_RATE (0: closed loop),
# BENCH_MAX_LOAD (e.g. 1.0: wait until the 1-minute load average is below it, at most
# BENCH_LOAD_WAIT seconds, default 1200), LOADGEN_ARGS (more `loadgen run` flags), ports
# BENCH_TEMPORAL_PORT (7633), BENCH_TEMPORAL_UI_PORT (8633), BENCH_HTTP_PORT (18080),
# BENCH_SIM_PORT (18090), BENCH_PPROF_API (16060), BENCH_PPROF_WORKER (16061), BENCH_WORKER_PORT (18081:
# the worker's probes and metrics).
# TOPOLOGY=cluster: the same load against `make cluster`'s topology instead (the real Temporal
# server on PostgreSQL, 2 API replicas, 2 workers), a cluster of the bench's own in .bench/cluster
# on ports from BENCH_CLUSTER_PORT_BASE (18800); the load enters through api-1, both replicas'
# relays deliver; no profiles. Results in .bench/results-cluster.{md,json}.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

N=${BENCH_N:-2000}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
RATE=${BENCH_RATE:-0}
T_PORT=${BENCH_TEMPORAL_PORT:-7633}
T_UI_PORT=${BENCH_TEMPORAL_UI_PORT:-8633}
HTTP_PORT=${BENCH_HTTP_PORT:-18080}
SIM_PORT=${BENCH_SIM_PORT:-18090}
PPROF_API=${BENCH_PPROF_API:-16060}
PPROF_WORKER=${BENCH_PPROF_WORKER:-16061}
WORKER_PORT=${BENCH_WORKER_PORT:-18081}
DB_NAME=aepsflow_bench
BENCH=.bench
T_DB="$BENCH/temporal.db"

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench.sh: error: %s\n' "$*" >&2; exit 1; }

for port in "$T_PORT" "$HTTP_PORT" "$SIM_PORT" "$PPROF_API" "$PPROF_WORKER" "$WORKER_PORT"; do
	case $port in 5432 | 7233 | 7333 | 7533) die "port $port belongs to a shared service; pick another" ;; esac
done

rm -rf "$BENCH/logs" "$BENCH/profiles"
mkdir -p "$BENCH/logs" "$BENCH/profiles" bin

pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	scripts/temporal.sh stop bench || true
	if [[ ${TOPOLOGY:-} == cluster ]]; then scripts/cluster.sh down || true; fi
}
trap cleanup EXIT

step "PostgreSQL: database $DB_NAME (recreated)"
ADMIN_URL=$(scripts/pg.sh)
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n1)
[[ -x $PSQL ]] || die "psql not found"
"$PSQL" "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >&2
DATABASE_URL=$(scripts/pg.sh createdb "$DB_NAME")

if [[ ${TOPOLOGY:-} != cluster ]]; then
	step "Temporal dev server 'bench' on 127.0.0.1:$T_PORT (state in $T_DB, deleted first)"
	scripts/temporal.sh ensure
	scripts/temporal.sh stop bench
	rm -f "$T_DB" "$T_DB-wal" "$T_DB-shm"
	scripts/temporal.sh start bench "$T_PORT" "$T_UI_PORT" "$T_DB"
fi

step "build bin/aepsflow and bin/loadgen"
go build -o bin/aepsflow ./cmd/aepsflow
(cd bench && GOFLAGS=-mod=mod go build -o ../bin/loadgen ./cmd/loadgen)

export APP_ENV=development
export DATABASE_URL
export TEMPORAL_ADDRESS="127.0.0.1:$T_PORT"
export TEMPORAL_TASK_QUEUE=aepsflow-bench
export EKO_API_BASE_URL="http://127.0.0.1:$SIM_PORT/ekoapi/v3"
export PARTNER_CLIENTS="bench:bench-secret-0123456789"
# Short inquiry pacing for the tx_status 2 path; no response timer firing mid-run.
export INQUIRY_INITIAL_BACKOFF=200ms INQUIRY_MAX_BACKOFF=2s EKO_RESPONSE_TIMEOUT=30m
# Events to the platform: the inquiry simulator also plays the platform's receiver, and the loss
# check requires every final transaction's event, acknowledged exactly once.
export WEBHOOK_SECRET=bench-webhook-secret-0123456789
export WEBHOOK_URL="http://127.0.0.1:$SIM_PORT/platform/events" WEBHOOK_INITIAL_BACKOFF=1s WEBHOOK_MAX_BACKOFF=5s
# The issue-14 levers, each on unless turned off here (BENCHMARKS.md measures each one off).
export WORKFLOW_LIGHT=${WORKFLOW_LIGHT:-true} WORKFLOW_START_DELAY=${WORKFLOW_START_DELAY:-true}
export TEMPORAL_EAGER_ACTIVITIES=${TEMPORAL_EAGER_ACTIVITIES:-true} OUTBOX_START_DEFER=${OUTBOX_START_DEFER:-10s}
LEVERS="WORKFLOW_LIGHT=$WORKFLOW_LIGHT OUTBOX_START_DEFER=$OUTBOX_START_DEFER WORKFLOW_START_DELAY=$WORKFLOW_START_DELAY TEMPORAL_EAGER_ACTIVITIES=$TEMPORAL_EAGER_ACTIVITIES"

if [[ ${TOPOLOGY:-} == cluster ]]; then
	export CLUSTER_DIR="$ROOT/$BENCH/cluster" CLUSTER_PORT_BASE=${BENCH_CLUSTER_PORT_BASE:-18800} CLUSTER_DB=aepsflow_bench_cluster CLUSTER_UI=off
	step "cluster (scripts/cluster.sh, fresh databases $CLUSTER_DB*, ports from $CLUSTER_PORT_BASE)"
	bin/loadgen inquiry-sim --addr "127.0.0.1:$SIM_PORT" --webhook-secret "$WEBHOOK_SECRET" >"$BENCH/logs/inquiry-sim.log" 2>&1 &
	sim_pid=$!
	pids+=("$sim_pid")
	scripts/cluster.sh destroy >/dev/null 2>&1 || true
	mkdir -p "$CLUSTER_DIR"
	for v in APP_ENV EKO_API_BASE_URL PARTNER_CLIENTS INQUIRY_INITIAL_BACKOFF INQUIRY_MAX_BACKOFF EKO_RESPONSE_TIMEOUT \
		WEBHOOK_SECRET WEBHOOK_URL WEBHOOK_INITIAL_BACKOFF WEBHOOK_MAX_BACKOFF WORKFLOW_LIGHT WORKFLOW_START_DELAY OUTBOX_START_DEFER; do
		echo "$v=${!v}"
	done >"$CLUSTER_DIR/aepsflow.env"
	scripts/cluster.sh up >"$BENCH/logs/cluster-up.log" 2>&1 || { tail -n 30 "$BENCH/logs/cluster-up.log" >&2; die "the cluster did not come up"; }
	eval "$(scripts/cluster.sh env)"
	C_DB_URL=${ADMIN_URL/\/postgres\?//$CLUSTER_DB?}
	C_API=${CLUSTER_API_URLS%%,*}
	if [[ -n ${BENCH_MAX_LOAD:-} ]]; then
		step "waiting for the 1-minute load average to fall below $BENCH_MAX_LOAD"
		wait_deadline=$((SECONDS + ${BENCH_LOAD_WAIT:-1200}))
		until awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$BENCH_MAX_LOAD" 'BEGIN { exit !(l < m) }' || ((SECONDS >= wait_deadline)); do sleep 15; done
	fi
	step "loadgen against the cluster: n=$N concurrency=$CONCURRENCY rate=$RATE (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	set +e
	# shellcheck disable=SC2086
	bin/loadgen run \
		--api "$C_API" --db "$C_DB_URL" --temporal "$CLUSTER_TEMPORAL_ADDRESS" \
		--n "$N" --concurrency "$CONCURRENCY" --rate "$RATE" \
		--sim-control "http://127.0.0.1:$SIM_PORT/sim" \
		--events-stats "http://127.0.0.1:$SIM_PORT/platform/stats" \
		--partner-client bench --partner-secret bench-secret-0123456789 \
		--temporal-stop "scripts/cluster.sh stop temporal" \
		--temporal-start "scripts/cluster.sh start temporal" \
		--pids "api-1=@$CLUSTER_DIR/api-1.pid,api-2=@$CLUSTER_DIR/api-2.pid,worker-1=@$CLUSTER_DIR/worker-1.pid,worker-2=@$CLUSTER_DIR/worker-2.pid,temporal=@$CLUSTER_DIR/temporal.pid,inquiry-sim=$sim_pid" \
		--pg-match "$CLUSTER_DB" \
		--json "$BENCH/results-cluster.json" --md "$BENCH/results-cluster.md" --png docs/bench-latency-cluster.png \
		--note "cluster topology (make cluster); $LEVERS; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" \
		${LOADGEN_ARGS:-}
	status=$?
	set -e
	echo "bench.sh: results in $BENCH/results-cluster.md, $BENCH/results-cluster.json, docs/bench-latency-cluster.png" >&2
	exit "$status"
fi

step "migrate"
bin/aepsflow migrate 2>"$BENCH/logs/migrate.log" || { cat "$BENCH/logs/migrate.log" >&2; die "migrate failed"; }

step "start ekosim inquiry API, aepsflow api, aepsflow worker"
bin/loadgen inquiry-sim --addr "127.0.0.1:$SIM_PORT" --webhook-secret "$WEBHOOK_SECRET" >"$BENCH/logs/inquiry-sim.log" 2>&1 &
sim_pid=$!
pids+=("$sim_pid")
HTTP_ADDR="127.0.0.1:$HTTP_PORT" PPROF_ADDR="127.0.0.1:$PPROF_API" bin/aepsflow api >"$BENCH/logs/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
PPROF_ADDR="127.0.0.1:$PPROF_WORKER" WORKER_HTTP_ADDR="127.0.0.1:$WORKER_PORT" bin/aepsflow worker >"$BENCH/logs/worker.log" 2>&1 &
worker_pid=$!
pids+=("$worker_pid")

deadline=$((SECONDS + 60))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/readyz" || true) == 200 ]]; do
	for pid in "$api_pid" "$worker_pid" "$sim_pid"; do
		kill -0 "$pid" 2>/dev/null || { tail -n 20 "$BENCH"/logs/*.log >&2; die "a process exited during start-up"; }
	done
	((SECONDS < deadline)) || { tail -n 20 "$BENCH/logs/api.log" >&2; die "the API did not become ready within 60 s"; }
	sleep 0.3
done
until grep -q '"worker running"' "$BENCH/logs/worker.log"; do
	((SECONDS < deadline)) || { tail -n 20 "$BENCH/logs/worker.log" >&2; die "the worker did not start within 60 s"; }
	sleep 0.3
done

if [[ -n ${BENCH_MAX_LOAD:-} ]]; then
	step "waiting for the 1-minute load average to fall below $BENCH_MAX_LOAD (at most ${BENCH_LOAD_WAIT:-1200} s)"
	wait_deadline=$((SECONDS + ${BENCH_LOAD_WAIT:-1200}))
	while :; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		awk -v l="$load" -v m="$BENCH_MAX_LOAD" 'BEGIN { exit !(l < m) }' && break
		if ((SECONDS >= wait_deadline)); then
			echo "bench.sh: load average still $load after ${BENCH_LOAD_WAIT:-1200} s; running anyway" >&2
			break
		fi
		sleep 15
	done
fi

step "loadgen: n=$N concurrency=$CONCURRENCY rate=$RATE (load average $(cut -d' ' -f1-3 /proc/loadavg))"
set +e
# shellcheck disable=SC2086
bin/loadgen run \
	--api "http://127.0.0.1:$HTTP_PORT" --db "$DATABASE_URL" --temporal "127.0.0.1:$T_PORT" \
	--n "$N" --concurrency "$CONCURRENCY" --rate "$RATE" \
	--sim-control "http://127.0.0.1:$SIM_PORT/sim" \
	--events-stats "http://127.0.0.1:$SIM_PORT/platform/stats" \
	--partner-client bench --partner-secret bench-secret-0123456789 \
	--temporal-stop "scripts/temporal.sh stop bench" \
	--temporal-start "scripts/temporal.sh start bench $T_PORT $T_UI_PORT $T_DB" \
	--pids "api=$api_pid,worker=$worker_pid,temporal=@.dev/temporal-bench.pid,inquiry-sim=$sim_pid" \
	--pg-match "$DB_NAME" \
	--pprof "api=127.0.0.1:$PPROF_API,worker=127.0.0.1:$PPROF_WORKER" --profile-dir "$BENCH/profiles" \
	--json "$BENCH/results.json" --md "$BENCH/results.md" --png docs/bench-latency.png \
	--note "$LEVERS; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" \
	${LOADGEN_ARGS:-}
status=$?
set -e

for prof in "$BENCH"/profiles/*.pprof; do
	[[ -e $prof ]] || continue
	go tool pprof -top -nodecount=40 bin/aepsflow "$prof" >"${prof%.pprof}.txt" 2>/dev/null || true
done
echo "bench.sh: results in $BENCH/results.md, $BENCH/results.json, docs/bench-latency.png; profiles in $BENCH/profiles" >&2
exit "$status"
