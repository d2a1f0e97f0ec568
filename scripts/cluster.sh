#!/usr/bin/env bash
# The production topology on one machine, without Docker (`make cluster`):
#
#   PostgreSQL (scripts/pg.sh)
#   Temporal Server v1.30.4, built from its Go module, all four services in one process, on
#     PostgreSQL persistence and SQL visibility; schemas set up by its own SQL tool
#   Temporal Web UI (ui-server, the version the pinned CLI embeds) pointed at that server
#   aepsflow: 2 API replicas (with the outbox relay) and 2 workers, separate processes
#
#   scripts/cluster.sh build             build bin/temporal-server, bin/temporal-sql-tool, bin/temporal-ui-server, bin/aepsflow
#   scripts/cluster.sh up                build, set up schemas and namespace, start everything, wait until ready
#   scripts/cluster.sh down              stop everything (state stays: `up` again resumes it)
#   scripts/cluster.sh destroy           down, then drop the cluster's databases and state
#   scripts/cluster.sh status            one line per process
#   scripts/cluster.sh env               the endpoints, as shell variables (eval "$(scripts/cluster.sh env)")
#   scripts/cluster.sh start|stop|kill NAME   one process: temporal, ui, api-1, api-2, worker-1, worker-2
#                                        (kill is SIGKILL: what the fault suite does)
#
# CLUSTER_DIR (default .cluster) holds the config, logs and pids; CLUSTER_PORT_BASE (17800) places
# every port (Temporal frontend BASE+33, UI BASE+30, API replicas BASE+80/82, worker probes
# BASE+81/83, Temporal metrics BASE+95); CLUSTER_DB (aepsflow_cluster) prefixes the databases;
# CLUSTER_UI=off runs no Web UI.
# aepsflow's configuration: $CLUSTER_DIR/aepsflow.env (KEY=value lines) if present, else
# development defaults (APP_ENV=development: Eko's public UAT credentials, dev-admin-token).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TEMPORAL_SERVER_VERSION=v1.30.4
UI_SERVER_VERSION=v2.42.1 # the ui-server github.com/temporalio/cli v1.5.1 embeds
DIR=${CLUSTER_DIR:-$ROOT/.cluster}
[[ $DIR == /* ]] || DIR="$ROOT/$DIR"
BASE=${CLUSTER_PORT_BASE:-17800}
DBP=${CLUSTER_DB:-aepsflow_cluster}
FRONTEND=$((BASE + 33))
FRONTEND_HTTP=$((BASE + 43))
HISTORY=$((BASE + 34))
MATCHING=$((BASE + 35))
TWORKER=$((BASE + 39))
UI_PORT=$((BASE + 30))
METRICS=$((BASE + 95))
API_PORTS=($((BASE + 80)) $((BASE + 82)))
WORKER_PORTS=($((BASE + 81)) $((BASE + 83)))
SEARCH_ATTRIBUTES_FILE="$ROOT/scripts/search-attributes.txt"
TASK_QUEUE=aepsflow
UI=${CLUSTER_UI:-on} # off: no Web UI (the fault suite needs none)

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { printf 'cluster.sh: error: %s\n' "$*" >&2; exit 1; }

mod_version() { go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'; }

# build_go BIN PACKAGE@VERSION MODULE: go install into bin/ under another name, once per version.
build_go() {
	local bin=$1 pkg=$2 mod=$3 want=${2##*@}
	[[ -x $ROOT/bin/$bin && $(mod_version "$ROOT/bin/$bin" "$mod") == "$want" ]] && return 0
	local tmp start=$SECONDS
	tmp=$(mktemp -d)
	log "building bin/$bin: go install $pkg (the Temporal server takes about 10 minutes on 2 cores the first time)"
	GOBIN=$tmp go install "$pkg" >&2 || die "go install $pkg failed"
	mv "$tmp"/* "$ROOT/bin/$bin"
	rmdir "$tmp"
	log "built bin/$bin in $((SECONDS - start)) s"
}

build() {
	mkdir -p "$ROOT/bin"
	build_go temporal-server "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" go.temporal.io/server
	build_go temporal-sql-tool "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" go.temporal.io/server
	if [[ $UI == on ]]; then
		build_go temporal-ui-server "github.com/temporalio/ui-server/v2/cmd/server@$UI_SERVER_VERSION" github.com/temporalio/ui-server/v2
	fi
	"$ROOT/scripts/temporal.sh" ensure
	go build -o "$ROOT/bin/aepsflow" ./cmd/aepsflow
}

# PostgreSQL: host, port, user, password from scripts/pg.sh's admin URL.
pg_parse() {
	PG_URL=$("$ROOT/scripts/pg.sh")
	[[ $PG_URL =~ ^postgres(ql)?://([^:@/]+)(:([^@]*))?@([^:/]+):([0-9]+)/ ]] || die "cannot parse the PostgreSQL URL scripts/pg.sh gave"
	PG_USER=${BASH_REMATCH[2]} PG_PASS=${BASH_REMATCH[4]} PG_HOST=${BASH_REMATCH[5]} PG_PORT=${BASH_REMATCH[6]}
}

sqltool() {
	local db=$1
	shift
	SQL_PASSWORD=$PG_PASS "$ROOT/bin/temporal-sql-tool" --plugin postgres12 --ep "$PG_HOST" -p "$PG_PORT" -u "$PG_USER" --db "$db" "$@"
}

schema_dir() { echo "$(go env GOMODCACHE)/go.temporal.io/server@$TEMPORAL_SERVER_VERSION/schema/postgresql/v12/$1/versioned"; }

setup_schemas() {
	local db kind
	for kind in temporal visibility; do
		db=${DBP}_$kind
		# create-database and setup-schema fail harmlessly on a second run (-q); update-schema
		# applies whatever versions are missing.
		sqltool "$db" -q create-database --defaultdb postgres >/dev/null 2>&1 || true
		sqltool "$db" -q setup-schema -v 0.0 >/dev/null 2>&1 || true
		[[ -d $(schema_dir "$kind") ]] || die "schema files missing: $(schema_dir "$kind") (go mod download go.temporal.io/server@$TEMPORAL_SERVER_VERSION)"
		sqltool "$db" update-schema -d "$(schema_dir "$kind")" >"$DIR/logs/schema-$kind.log" 2>&1 ||
			{ tail -n 20 "$DIR/logs/schema-$kind.log" >&2; die "update-schema of $db failed"; }
	done
	log "schemas ready: ${DBP}_temporal, ${DBP}_visibility ($TEMPORAL_SERVER_VERSION)"
}

write_config() {
	mkdir -p "$DIR/config"
	cat >"$DIR/config/dynamicconfig.yaml" <<EOF
# New search attributes are visible at once (the worker checks them at start).
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
# Eager activity execution: the server hands a workflow task's new activity (the Transaction
# Inquiry) straight back to the worker that scheduled it, saving a matching round trip.
system.enableActivityEagerExecution:
  - value: ${TEMPORAL_EAGER_ACTIVITIES:-true}
EOF
	cat >"$DIR/config/temporal.yaml" <<EOF
# Written by scripts/cluster.sh: Temporal Server $TEMPORAL_SERVER_VERSION on PostgreSQL.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: ${DBP}_temporal
        connectAddr: "$PG_HOST:$PG_PORT"
        connectProtocol: tcp
        user: "$PG_USER"
        password: "$PG_PASS"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: ${DBP}_visibility
        connectAddr: "$PG_HOST:$PG_PORT"
        connectProtocol: tcp
        user: "$PG_USER"
        password: "$PG_PASS"
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:$METRICS"
services:
  frontend:
    rpc: {grpcPort: $FRONTEND, membershipPort: $((FRONTEND - 1000)), bindOnLocalHost: true, httpPort: $FRONTEND_HTTP}
  history:
    rpc: {grpcPort: $HISTORY, membershipPort: $((HISTORY - 1000)), bindOnLocalHost: true}
  matching:
    rpc: {grpcPort: $MATCHING, membershipPort: $((MATCHING - 1000)), bindOnLocalHost: true}
  worker:
    rpc: {grpcPort: $TWORKER, membershipPort: $((TWORKER - 1000)), bindOnLocalHost: true}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$FRONTEND"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$DIR/config/dynamicconfig.yaml"
  pollInterval: 10s
EOF
	cat >"$DIR/config/ui.yaml" <<EOF
temporalGrpcAddress: "127.0.0.1:$FRONTEND"
host: 127.0.0.1
port: $UI_PORT
enableUi: true
defaultNamespace: default
cors:
  allowOrigins: ["http://127.0.0.1:$UI_PORT"]
EOF
}

pidfile() { echo "$DIR/$1.pid"; }
alive() {
	local pid
	pid=$(cat "$(pidfile "$1")" 2>/dev/null || true)
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

aepsflow_env() {
	local i=$1 kind=$2
	echo "DATABASE_URL=$(db_url "${DBP}")"
	echo "TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND"
	echo "TEMPORAL_TASK_QUEUE=$TASK_QUEUE"
	echo "HTTP_ADDR=127.0.0.1:${API_PORTS[$i]}"
	echo "WORKER_HTTP_ADDR=127.0.0.1:${WORKER_PORTS[$i]}"
	if [[ -f $DIR/aepsflow.env ]]; then
		cat "$DIR/aepsflow.env"
	else
		echo "APP_ENV=development"
	fi
	true
}

db_url() { echo "postgres://$PG_USER${PG_PASS:+:$PG_PASS}@$PG_HOST:$PG_PORT/$1?sslmode=disable"; }

# start NAME: one process, in its own session, its pid in $DIR/NAME.pid.
start() {
	local name=$1 cmd=()
	alive "$name" && return 0
	case $name in
	temporal) cmd=("$ROOT/bin/temporal-server" --config-file "$DIR/config/temporal.yaml" --allow-no-auth start) ;;
	ui) cmd=("$ROOT/bin/temporal-ui-server" --root "$DIR" --config config --env ui start) ;;
	api-1 | api-2 | worker-1 | worker-2)
		local kind=${name%-*} i=$((${name#*-} - 1))
		local envf="$DIR/$name.env"
		aepsflow_env "$i" "$kind" >"$envf"
		cmd=(env -i "PATH=$PATH" "HOME=${HOME:-/tmp}" LOG_FORMAT=json)
		while IFS= read -r line; do [[ -z $line || $line == \#* ]] || cmd+=("$line"); done <"$envf"
		cmd+=("$ROOT/bin/aepsflow" "$kind")
		;;
	*) die "unknown process $name" ;;
	esac
	(exec setsid "${cmd[@]}" </dev/null >>"$DIR/logs/$name.log" 2>&1) &
	echo $! >"$(pidfile "$name")"
}

signal() {
	local name=$1 sig=$2 pid
	pid=$(cat "$(pidfile "$name")" 2>/dev/null || true)
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 25))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.1
	done
	rm -f "$(pidfile "$name")"
}

wait_for() {
	local what=$1 timeout=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "$what not ready within $timeout s (logs: $DIR/logs/)"
		sleep 0.5
	done
}

tcli() { "$ROOT/bin/temporal" --address "127.0.0.1:$FRONTEND" "$@"; }
http_ok() { curl -fsS -o /dev/null --max-time 3 "$1"; }

wait_temporal() {
	wait_for "Temporal server on 127.0.0.1:$FRONTEND" "${1:-120}" tcli operator cluster health
}

sa_ensure() {
	tcli operator search-attribute create --namespace default --name "$1" --type "$2" >/dev/null 2>&1 ||
		tcli operator search-attribute list --namespace default 2>/dev/null | grep -qw "$1"
}

namespace_and_attributes() {
	if ! tcli operator namespace describe --namespace default >/dev/null 2>&1; then
		tcli operator namespace create --namespace default --retention 72h >/dev/null
	fi
	wait_for "namespace default" 60 tcli operator namespace describe --namespace default
	local name type
	while read -r name type; do
		[[ -z $name || $name == \#* ]] && continue
		# A namespace just created reaches every service's cache within seconds: retry until then.
		wait_for "search attribute $name" 60 sa_ensure "$name" "$type"
	done <"$SEARCH_ATTRIBUTES_FILE"
	log "namespace default with the search attributes of $SEARCH_ATTRIBUTES_FILE"
}

up() {
	local start=$SECONDS
	build
	mkdir -p "$DIR/logs"
	pg_parse
	setup_schemas
	write_config
	start temporal
	wait_temporal 120
	namespace_and_attributes
	if [[ $UI == on ]]; then start ui; fi
	# aepsflow's database and migrations.
	psql_admin "SELECT 1 FROM pg_database WHERE datname = '$DBP'" | grep -q 1 || psql_admin "CREATE DATABASE $DBP" >/dev/null
	env -i "PATH=$PATH" "DATABASE_URL=$(db_url "$DBP")" LOG_FORMAT=text "$ROOT/bin/aepsflow" migrate >>"$DIR/logs/migrate.log" 2>&1 ||
		{ tail -n 20 "$DIR/logs/migrate.log" >&2; die "aepsflow migrate failed"; }
	local n
	for n in api-1 api-2 worker-1 worker-2; do start "$n"; done
	for n in 0 1; do
		wait_for "api-$((n + 1)) /readyz" 60 http_ok "http://127.0.0.1:${API_PORTS[$n]}/readyz"
		wait_for "worker-$((n + 1)) /readyz" 90 http_ok "http://127.0.0.1:${WORKER_PORTS[$n]}/readyz"
	done
	log "cluster up in $((SECONDS - start)) s"
	status
}

psql_admin() {
	local bindir
	bindir=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)
	PGPASSWORD=$PG_PASS "$bindir/psql" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc "$1"
}

down() {
	local n
	for n in api-1 api-2 worker-1 worker-2 ui temporal; do signal "$n" TERM; done
	log "cluster stopped (state kept in PostgreSQL: $DBP, ${DBP}_temporal, ${DBP}_visibility)"
}

destroy() {
	down
	pg_parse
	local db
	for db in "$DBP" "${DBP}_temporal" "${DBP}_visibility"; do psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; done
	rm -rf "$DIR"
	log "cluster destroyed"
}

status() {
	local n state
	for n in temporal ui api-1 api-2 worker-1 worker-2; do
		state=stopped
		alive "$n" && state="running (pid $(cat "$(pidfile "$n")"))"
		printf '%-9s %s\n' "$n" "$state"
	done
	env_vars | sed 's/^/  /'
}

env_vars() {
	cat <<EOF
CLUSTER_TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND
CLUSTER_UI_URL=http://127.0.0.1:$UI_PORT
CLUSTER_API_URLS=http://127.0.0.1:${API_PORTS[0]},http://127.0.0.1:${API_PORTS[1]}
CLUSTER_WORKER_URLS=http://127.0.0.1:${WORKER_PORTS[0]},http://127.0.0.1:${WORKER_PORTS[1]}
CLUSTER_TEMPORAL_METRICS=http://127.0.0.1:$METRICS/metrics
CLUSTER_DATABASE=$DBP
EOF
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
build) build ;;
up) up ;;
down) down ;;
destroy) destroy ;;
status) status ;;
env) env_vars ;;
start)
	[[ $# -eq 1 ]] || die "usage: scripts/cluster.sh start NAME"
	mkdir -p "$DIR/logs"
	pg_parse
	start "$1"
	case $1 in
	temporal) wait_temporal 120 ;;
	api-*) wait_for "$1 /readyz" 60 http_ok "http://127.0.0.1:${API_PORTS[$((${1#*-} - 1))]}/readyz" ;;
	worker-*) wait_for "$1 /readyz" 90 http_ok "http://127.0.0.1:${WORKER_PORTS[$((${1#*-} - 1))]}/readyz" ;;
	esac
	;;
stop) signal "${1:?usage: scripts/cluster.sh stop NAME}" TERM ;;
kill) signal "${1:?usage: scripts/cluster.sh kill NAME}" KILL ;;
*) die "usage: scripts/cluster.sh build | up | down | destroy | status | env | start|stop|kill NAME" ;;
esac
