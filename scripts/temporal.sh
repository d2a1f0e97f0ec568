#!/usr/bin/env bash
# Builds and runs the Temporal CLI's development server (Temporal Server + Web UI in one process).
#
#   scripts/temporal.sh ensure                          build bin/temporal if missing or another version
#   scripts/temporal.sh start NAME PORT UIPORT [DBFILE]  start server NAME in the background, wait until ready
#   scripts/temporal.sh stop NAME                        stop server NAME
#   scripts/temporal.sh status NAME PORT                 exit 0 when server NAME runs and answers
#
# NAME "test" keeps its pid and log files in .test/, any other NAME in .dev/
# (temporal-NAME.pid, temporal-NAME.log). Without DBFILE the server keeps everything in memory.
# TEMPORAL_CLI_VERSION (default v1.5.1, the newest that installs from the module proxy) pins the CLI;
# TEMPORAL_START_TIMEOUT (seconds, default 60) bounds the wait for readiness.
# TEMPORAL_EAGER_ACTIVITIES (default true) sets the server's system.enableActivityEagerExecution.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${TEMPORAL_CLI_VERSION:-v1.5.1}
CLI="$ROOT/bin/temporal"
# "Name Type" lines, generated from package searchattr (`aepsflow search-attributes`).
SEARCH_ATTRIBUTES_FILE="$ROOT/scripts/search-attributes.txt"

log() { printf 'temporal.sh: %s\n' "$*" >&2; }
die() { printf 'temporal.sh: error: %s\n' "$*" >&2; exit 1; }

# installed_version prints the module version bin/temporal was built from ("" when unknown).
installed_version() {
	go version -m "$CLI" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/temporalio/cli" { print $3 }'
}

ensure() {
	if [[ -x $CLI ]]; then
		local have
		have=$(installed_version)
		if [[ $have == "$VERSION" || -z $have ]]; then
			return 0
		fi
		log "bin/temporal is $have, want $VERSION; rebuilding"
	fi
	command -v go >/dev/null 2>&1 || die "go is not installed; it is needed to build bin/temporal"
	mkdir -p "$ROOT/bin" "$ROOT/.dev"
	# One build at a time per checkout: a second caller waits for the first and then finds the binary.
	exec 9>"$ROOT/.dev/temporal-build.lock"
	if ! flock -n 9; then
		log "another build of bin/temporal is running; waiting for it"
		flock 9
		if [[ -x $CLI && $(installed_version) == "$VERSION" ]]; then
			return 0
		fi
	fi
	log "building bin/temporal $VERSION with go install (about 3 minutes the first time; cached afterwards)"
	local start=$SECONDS
	GOBIN="$ROOT/bin" go install "github.com/temporalio/cli/cmd/temporal@$VERSION" >&2 ||
		die "go install github.com/temporalio/cli/cmd/temporal@$VERSION failed"
	log "built bin/temporal in $((SECONDS - start)) s"
}

state_dir() {
	if [[ $1 == test ]]; then echo "$ROOT/.test"; else echo "$ROOT/.dev"; fi
}

healthy() {
	"$CLI" operator cluster health --address "127.0.0.1:$1" >/dev/null 2>&1
}

# alive PID: the process exists and is a temporal server (not a recycled pid).
alive() {
	local pid=$1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'server start-dev'
}

read_pid() {
	local f=$1
	if [[ -f $f ]]; then cat "$f"; fi
}

start() {
	[[ $# -ge 3 && $# -le 4 ]] || die "usage: scripts/temporal.sh start NAME PORT UIPORT [DBFILE]"
	local name=$1 port=$2 uiport=$3 dbfile=${4:-} dir pidf logf pid
	[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || die "bad NAME: $name"
	[[ -x $CLI ]] || die "bin/temporal is missing; run scripts/temporal.sh ensure (or make dev / make test)"
	dir=$(state_dir "$name")
	pidf="$dir/temporal-$name.pid"
	logf="$dir/temporal-$name.log"
	mkdir -p "$dir"

	pid=$(read_pid "$pidf")
	if alive "$pid"; then
		if healthy "$port"; then
			log "temporal server '$name' already running (pid $pid) on 127.0.0.1:$port"
			return 0
		fi
		log "temporal server '$name' (pid $pid) runs but does not answer on 127.0.0.1:$port; waiting for it"
	else
		rm -f "$pidf"
		if healthy "$port"; then
			die "something else already serves Temporal on 127.0.0.1:$port (not started by this script from $ROOT).
  Stop it, or find it with: ss -ltnp 'sport = :$port'"
		fi
		local args=(server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$uiport" --log-level warn
			# Eager activity execution (the SDK's default, off on the server unless enabled): the
			# Transaction Inquiry goes straight back to the worker whose workflow task scheduled it.
			# TEMPORAL_EAGER_ACTIVITIES=false turns it off (to measure what it saves).
			--dynamic-config-value "system.enableActivityEagerExecution=${TEMPORAL_EAGER_ACTIVITIES:-true}")
		local sa_name sa_type
		while read -r sa_name sa_type; do
			[[ -z $sa_name || $sa_name == \#* ]] || args+=(--search-attribute "$sa_name=$sa_type")
		done <"$SEARCH_ATTRIBUTES_FILE"
		if [[ -n $dbfile ]]; then
			[[ $dbfile == /* ]] || dbfile="$ROOT/$dbfile"
			mkdir -p "$(dirname "$dbfile")"
			args+=(--db-filename "$dbfile" --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal)
		fi
		log "starting temporal server '$name' on 127.0.0.1:$port, UI http://127.0.0.1:$uiport${dbfile:+, state in $dbfile} (log: $logf)"
		# setsid: its own session, so Ctrl-C on a foreground `make dev` does not take it down too.
		# The subshell is not a process group leader, so setsid execs in place and $! is the server.
		(exec setsid "$CLI" "${args[@]}" </dev/null >"$logf" 2>&1) &
		pid=$!
		echo "$pid" >"$pidf"
	fi

	local deadline=$((SECONDS + ${TEMPORAL_START_TIMEOUT:-60}))
	until healthy "$port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidf"
			tail -n 30 "$logf" >&2 || true
			die "temporal server '$name' exited during startup (log: $logf)"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 30 "$logf" >&2 || true
			stop "$name"
			die "temporal server '$name' did not answer on 127.0.0.1:$port within ${TEMPORAL_START_TIMEOUT:-60} s (log: $logf)"
		fi
		sleep 0.3
	done
	log "temporal server '$name' ready on 127.0.0.1:$port (pid $pid)"
}

stop() {
	[[ $# -eq 1 ]] || die "usage: scripts/temporal.sh stop NAME"
	local name=$1 pidf pid
	pidf="$(state_dir "$name")/temporal-$name.pid"
	pid=$(read_pid "$pidf")
	if ! alive "$pid"; then
		rm -f "$pidf"
		log "temporal server '$name' is not running"
		return 0
	fi
	log "stopping temporal server '$name' (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 20))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "temporal server '$name' ignored SIGTERM for 20 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	rm -f "$pidf"
}

status() {
	[[ $# -eq 2 ]] || die "usage: scripts/temporal.sh status NAME PORT"
	local pid
	pid=$(read_pid "$(state_dir "$1")/temporal-$1.pid")
	alive "$pid" && healthy "$2"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
ensure) ensure ;;
start) start "$@" ;;
stop) stop "$@" ;;
status) status "$@" ;;
*) die "usage: scripts/temporal.sh ensure | start NAME PORT UIPORT [DBFILE] | stop NAME | status NAME PORT" ;;
esac
