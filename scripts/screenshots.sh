#!/usr/bin/env bash
# Takes the README's screenshots of the Temporal Web UI (docs/webui-*.png) from a real run: a dev
# Temporal server and aepsflow as `make dev` runs them (own ports and database, so that a running
# `make dev` is left alone), the Eko simulator as Eko, and a handful of transactions in every
# state; then headless Chromium (docs/screenshots, a module of its own) loads the list with the
# operator's columns and saved views, and the pages of two transactions.
#
# Needs Chromium (`apt-get install chromium`), PostgreSQL and bin/temporal (scripts/temporal.sh ensure).
# SHOTS_PORT (default 7472) is the Temporal port; the UI, API and simulator take +1000, +1010, +1020.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
port=${SHOTS_PORT:-7472}
ui=$((port + 1000)) api=$((port + 1010)) sim=$((port + 1020))
db=aepsflow_screenshots
[[ -x /usr/bin/chromium ]] || { echo "screenshots.sh: /usr/bin/chromium is missing: apt-get install -y chromium" >&2; exit 1; }

scripts/temporal.sh ensure
go build -o bin/aepsflow ./cmd/aepsflow
go build -o bin/ekosim ./cmd/ekosim
psql "$(scripts/pg.sh url)" -qc "DROP DATABASE IF EXISTS $db"
DATABASE_URL=$(scripts/pg.sh createdb "$db")
export DATABASE_URL
state=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	scripts/temporal.sh stop screenshots
	rm -rf "$state"
}
trap cleanup EXIT
scripts/temporal.sh start screenshots "$port" "$ui" "$state/temporal.db"

export APP_ENV=development TEMPORAL_ADDRESS=127.0.0.1:$port ADMIN_TOKEN=dev-admin-token HTTP_ADDR=127.0.0.1:$api \
	EKO_API_BASE_URL=http://127.0.0.1:$sim/ekoapi/v3 INQUIRY_INITIAL_BACKOFF=8s EKO_RESPONSE_TIMEOUT=5m
bin/aepsflow migrate
bin/aepsflow agent register --user-code 20810200 --name "Eko UAT agent" >/dev/null
bin/aepsflow agent register --user-code 20810311 --name "Shop 12" >/dev/null
bin/ekosim serve --addr "127.0.0.1:$sim" >"$state/ekosim.log" 2>&1 &
pids+=($!)
bin/aepsflow dev >"$state/aepsflow.log" 2>&1 &
pids+=($!)
until curl -fs "http://127.0.0.1:$api/readyz" >/dev/null; do sleep 0.5; done

ref=$(date +%s)000
# txn REF STEPS AMOUNT ARGS...: script Eko's inquiry answers (none when STEPS is -), then run one
# transaction through the simulated gateway.
txn() {
	local r=$((ref + $1)) steps=$2 amount=$3
	shift 3
	if [[ $steps != - ]]; then
		bin/ekosim script --sim "http://127.0.0.1:$sim" --ref "$r" --steps "$steps" --amount "$amount" >/dev/null
	fi
	bin/ekosim txn --callback "http://127.0.0.1:$api/eko/aeps/callback" --ref "$r" --amount "$amount" "$@" >/dev/null
}
txn 1 2x2,0 500 --tx-status 2                     # pending -> inquiry (pending twice) -> success
txn 2 0 2500 --tx-status 0                        # success, verified
txn 3 1 1000 --tx-status 1                        # failed, verified
txn 4 - 3000 --tx-status 7                        # suspicious tx_status: needs_review
txn 5 http403 10000 --tx-status 0                 # Eko refuses our signature: needs_review
txn 6 2 750 --tx-status 2 --user-code 20810311    # still inquiring
txn 7 - 1500 --no-response --user-code 20810311   # no eko-response yet
txn 8 0 0 --type 3 --tx-status 0                  # balance inquiry
txn 9 1 200 --tx-status 0 --user-code 20810311    # Eko denies the reported success: needs_review
show=$((ref + 1)) review=$((ref + 4))

# Let the first transaction finish its inquiries (8 s + 16 s backoff).
until [[ $(curl -fs "http://127.0.0.1:$api/v1/transactions/$show" -H "Authorization: Bearer $ADMIN_TOKEN" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null) == success ]]; do sleep 1; done
sleep 2
run() { "$ROOT/bin/temporal" workflow describe --address "127.0.0.1:$port" -w "$1" -o json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["workflowExecutionInfo"]["execution"]["runId"])'; }
echo "screenshots.sh: transaction $show run $(run "aeps/eko/$show"), $review run $(run "aeps/eko/$review")" >&2
(cd docs/screenshots && go run . -ui "http://127.0.0.1:$ui" -out "$ROOT/docs" \
	-page "webui-transaction=user-metadata:aeps/eko/$show/$(run "aeps/eko/$show")" \
	-page "webui-needs-review=user-metadata:aeps/eko/$review/$(run "aeps/eko/$review")")
