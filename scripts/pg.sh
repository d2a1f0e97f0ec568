#!/usr/bin/env bash
# Ensures a usable PostgreSQL and prints its admin URL on stdout (and nothing else on stdout).
#
#   scripts/pg.sh                 ensure a server, print admin URL
#   scripts/pg.sh createdb NAME   ensure a server, create database NAME if missing, print its URL
#   scripts/pg.sh stop            stop the private cluster, if this script started one
#   scripts/pg.sh destroy         stop the private cluster and delete its data
#   scripts/pg.sh status          say which server would be used (stderr) and print its URL
#
# Which server, in order:
#   1. $DATABASE_URL, when set (it is checked, never started);
#   2. a server already answering on 127.0.0.1:5432 as user postgres (trust auth);
#   3. a private cluster in $ROOT/.dev/pg on 127.0.0.1:$PG_PRIVATE_PORT (default 55432),
#      created with the installed PostgreSQL binaries and started on demand.
# PG_FORCE_PRIVATE=1 skips 1 and 2 (used to test the private path on a machine that has a server).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRIVATE_PORT=${PG_PRIVATE_PORT:-55432}
STATE_FILE="$ROOT/.dev/pg-private.env" # where the private cluster lives, so `stop` finds it

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { printf 'pg.sh: error: %s\n' "$*" >&2; exit 1; }

# Directories that may hold the server binaries, best first.
server_bindir() {
	local d candidates=()
	if command -v pg_config >/dev/null 2>&1; then
		candidates+=("$(pg_config --bindir 2>/dev/null || true)")
	fi
	# Newest major version first.
	while IFS= read -r d; do candidates+=("$d"); done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn)
	if command -v initdb >/dev/null 2>&1; then
		candidates+=("$(dirname "$(command -v initdb)")")
	fi
	for d in "${candidates[@]}"; do
		if [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# client_tool NAME: path of psql/pg_isready from PATH or next to the server binaries.
client_tool() {
	local name=$1 d
	if command -v "$name" >/dev/null 2>&1; then
		command -v "$name"
		return 0
	fi
	if d=$(server_bindir) && [[ -x $d/$name ]]; then
		echo "$d/$name"
		return 0
	fi
	return 1
}

need_clients() {
	PSQL=$(client_tool psql) && PG_ISREADY=$(client_tool pg_isready) && return 0
	die "psql and/or pg_isready not found (looked in PATH, \`pg_config --bindir\` and /usr/lib/postgresql/*/bin).
  Install PostgreSQL (server and client tools):   apt-get install postgresql
  or only the client tools, if you point DATABASE_URL at an existing server:   apt-get install postgresql-client"
}

# usable URL: the server answers and accepts a query (pg_isready alone says nothing about auth).
usable() {
	local url=$1
	"$PG_ISREADY" -q -t 3 -d "$url" >/dev/null 2>&1 || return 1
	"$PSQL" "$url" -X -qAt -c 'select 1' >/dev/null 2>&1
}

# ---- private cluster -------------------------------------------------------------------------

# The OS user that owns and runs the private cluster: ourselves, unless we are root (initdb and
# postgres refuse to run as root).
private_user() {
	if [[ $(id -u) -ne 0 ]]; then
		id -un
		return
	fi
	if id -u postgres >/dev/null 2>&1; then
		echo postgres
		return
	fi
	if ! id -u aepsflow-pg >/dev/null 2>&1; then
		log "creating system user aepsflow-pg to own the private cluster (initdb refuses to run as root)"
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin aepsflow-pg >&2 ||
			die "could not create user aepsflow-pg; run as a normal user or create a 'postgres' user"
	fi
	echo aepsflow-pg
}

as_user() {
	local user=$1
	shift
	if [[ $user == "$(id -un)" ]]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		# From /, so the other user is not told it cannot enter our working directory.
		(cd / && runuser -u "$user" -- "$@")
	else
		# su needs one string; quote every argument.
		(cd / && su -s /bin/sh "$user" -c "$(printf '%q ' "$@")")
	fi
}

# private_dir USER: $ROOT/.dev/pg, unless USER cannot reach it (a clone under a 0700 directory
# such as mktemp -d, when we are root and the cluster runs as postgres); then a directory under
# /var/tmp named after $ROOT, so each checkout still gets its own cluster.
private_dir() {
	local user=$1 dir="$ROOT/.dev/pg" parent
	mkdir -p "$ROOT/.dev"
	if as_user "$user" test -x "$ROOT/.dev" 2>/dev/null && as_user "$user" test -r "$ROOT/.dev" 2>/dev/null; then
		echo "$dir"
		return
	fi
	parent="/var/tmp/aepsflow-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
	log "user $user cannot reach $ROOT/.dev; keeping the private cluster in $parent instead"
	echo "$parent"
}

private_url() { echo "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable"; }

start_private() {
	local bindir user dir data sock logf url
	bindir=$(server_bindir) || die "no PostgreSQL server binaries found (need initdb, pg_ctl and postgres;
  looked in \`pg_config --bindir\`, /usr/lib/postgresql/*/bin and PATH), and no server answers on
  127.0.0.1:5432 and DATABASE_URL is not set.
  Install PostgreSQL:   apt-get install postgresql
  (or set DATABASE_URL=postgres://user:password@host:5432/postgres?sslmode=disable)"
	user=$(private_user)
	dir=$(private_dir "$user")
	data="$dir/data"
	sock="$dir/run"
	logf="$dir/postgres.log"
	url=$(private_url "$PRIVATE_PORT")
	# Unix socket paths are limited to 107 bytes; fall back to /tmp for very deep checkouts.
	if ((${#sock} + 20 > 107)); then
		sock="/tmp/aepsflow-pg-sock-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
	fi

	mkdir -p "$dir" "$sock"
	if [[ $(id -u) -eq 0 ]]; then
		chown "$user" "$dir" "$sock"
	fi
	printf 'PG_DIR=%q\nPG_USER=%q\nPG_BINDIR=%q\nPG_PORT=%q\n' "$dir" "$user" "$bindir" "$PRIVATE_PORT" >"$STATE_FILE"

	if [[ ! -s $data/PG_VERSION ]]; then
		log "creating private cluster in $data (initdb from $bindir, as $user)"
		as_user "$user" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			as_user "$user" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
			tail -n 20 "$dir/initdb.log" >&2
			die "initdb failed (log: $dir/initdb.log)"
		}
		as_user "$user" sh -c "cat >>'$data/postgresql.conf'" <<EOF

# aepsflow private development/test cluster (scripts/pg.sh)
listen_addresses = '127.0.0.1'
port = $PRIVATE_PORT
unix_socket_directories = '$sock'
max_connections = 200
EOF
	fi

	if as_user "$user" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		if usable "$url"; then
			log "reusing private cluster on 127.0.0.1:$PRIVATE_PORT ($data)"
			echo "$url"
			return
		fi
		die "private cluster in $data runs but does not answer on 127.0.0.1:$PRIVATE_PORT (log: $logf)"
	fi
	if "$PG_ISREADY" -q -t 2 -h 127.0.0.1 -p "$PRIVATE_PORT" >/dev/null 2>&1; then
		die "port $PRIVATE_PORT is taken by another PostgreSQL; set PG_PRIVATE_PORT to a free port"
	fi
	log "starting private cluster on 127.0.0.1:$PRIVATE_PORT (log: $logf)"
	touch "$logf"
	if [[ $(id -u) -eq 0 ]]; then
		chown "$user" "$logf"
	fi
	# -p/-k on the command line too, so a changed PG_PRIVATE_PORT or socket path still applies.
	if ! as_user "$user" "$bindir/pg_ctl" -D "$data" -l "$logf" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $PRIVATE_PORT -k $sock" start >&2; then
		tail -n 20 "$logf" >&2
		die "could not start the private cluster (log: $logf)"
	fi
	usable "$url" || die "private cluster started but $url does not accept queries (log: $logf)"
	echo "$url"
}

stop_private() {
	if [[ ! -f $STATE_FILE ]]; then
		log "no private cluster was started from $ROOT; nothing to stop"
		return 0
	fi
	local PG_DIR PG_USER PG_BINDIR PG_PORT
	# shellcheck disable=SC1090
	source "$STATE_FILE"
	if [[ -x $PG_BINDIR/pg_ctl ]] && as_user "$PG_USER" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
		log "stopping private cluster ($PG_DIR/data, port $PG_PORT)"
		as_user "$PG_USER" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >&2
	else
		log "private cluster in $PG_DIR/data is not running"
	fi
}

destroy_private() {
	[[ -f $STATE_FILE ]] || return 0
	stop_private
	local PG_DIR PG_USER PG_BINDIR PG_PORT
	# shellcheck disable=SC1090
	source "$STATE_FILE"
	log "removing private cluster $PG_DIR"
	rm -rf "$PG_DIR"
	rm -f "$STATE_FILE"
}

# ---- choose a server -------------------------------------------------------------------------

admin_url() {
	need_clients
	if [[ ${PG_FORCE_PRIVATE:-} != 1 ]]; then
		if [[ -n ${DATABASE_URL:-} ]]; then
			usable "$DATABASE_URL" || die "DATABASE_URL is set but the server does not answer or refuses the connection
  (checked with pg_isready and psql). Fix it, or unset DATABASE_URL to use a local server."
			log "using DATABASE_URL"
			echo "$DATABASE_URL"
			return
		fi
		local local_url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		if usable "$local_url"; then
			log "using the server on 127.0.0.1:5432"
			echo "$local_url"
			return
		fi
		log "no server usable on 127.0.0.1:5432 (user postgres, no password); using a private cluster"
	fi
	start_private
}

# with_db URL NAME: URL with its database replaced by NAME (URL form only).
with_db() {
	local url=$1 name=$2
	case $url in
	postgres://* | postgresql://*) ;;
	*) die "only URL-form connection strings are supported (postgres://...), got a key=value DSN" ;;
	esac
	local scheme=${url%%://*} rest=${url#*://} query=""
	if [[ $rest == *\?* ]]; then
		query="?${rest#*\?}"
		rest=${rest%%\?*}
	fi
	local authority=${rest%%/*}
	echo "$scheme://$authority/$name$query"
}

create_db() {
	local name=$1 admin exists
	[[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database name must match [a-z_][a-z0-9_]*: $name"
	need_clients
	admin=$(admin_url)
	exists=$("$PSQL" "$admin" -X -qAt -v ON_ERROR_STOP=1 -c "select 1 from pg_database where datname = '$name'") ||
		die "could not list databases on the admin URL"
	if [[ $exists != 1 ]]; then
		log "creating database $name"
		"$PSQL" "$admin" -X -q -v ON_ERROR_STOP=1 -c "create database \"$name\"" >&2 ||
			die "could not create database $name"
	fi
	with_db "$admin" "$name"
}

case ${1:-url} in
url | start | status) admin_url ;;
createdb)
	[[ $# -eq 2 ]] || die "usage: scripts/pg.sh createdb NAME"
	create_db "$2"
	;;
stop) stop_private ;;
destroy) destroy_private ;;
-h | --help | help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2 ;;
*) die "unknown command $1 (use: url, createdb NAME, stop, destroy, status)" ;;
esac
