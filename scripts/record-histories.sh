#!/usr/bin/env bash
# Re-records the Transaction workflow histories that TestReplayHistories replays: each path runs
# through the real system (HTTP API, PostgreSQL, outbox relay, worker, a Temporal dev server)
# with a scripted Transaction Inquiry and short timings, and its history is exported to
# workflows/testdata/histories/<path>.json. The files are replaced only when every path passed.
# Run it after any change to the workflow code, and commit the new files with the change.
#
# Uses TEST_DATABASE_URL and TEST_TEMPORAL_ADDRESS when set (e.g. the shared dev server);
# otherwise PostgreSQL comes from scripts/pg.sh and a private in-memory dev server is started on
# RECORD_TEMPORAL_PORT (default 7433) and stopped at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [[ -z ${TEST_DATABASE_URL:-} ]]; then
	TEST_DATABASE_URL=$(scripts/pg.sh)
fi
if [[ -z ${TEST_TEMPORAL_ADDRESS:-} ]]; then
	port=${RECORD_TEMPORAL_PORT:-7433}
	scripts/temporal.sh ensure
	trap 'scripts/temporal.sh stop record' EXIT
	scripts/temporal.sh start record "$port" "$((port + 1000))"
	TEST_TEMPORAL_ADDRESS="127.0.0.1:$port"
fi
export TEST_DATABASE_URL TEST_TEMPORAL_ADDRESS
export TEMPORAL_CLI=${TEMPORAL_CLI:-$ROOT/bin/temporal}
# A missing service must fail the recording, never skip it.
export CI=true

go test -count=1 -tags record -run '^TestRecordHistories$' -v ./workflows/
go test -count=1 -run '^TestReplay' ./workflows/
ls -l workflows/testdata/histories/*/
