#!/usr/bin/env bash
# `make test`: everything the tests need, then vet, tests, the workflow determinism check and the
# compose file check. The private Temporal dev server it starts is always stopped at the end.
#
# Tests get: TEST_DATABASE_URL (an admin URL; each test creates its own database through package
# testenv), TEST_TEMPORAL_ADDRESS (an in-memory dev server just for this run) and TEMPORAL_CLI
# (for tests that start and stop their own server with testenv.StartDevServer).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TEST_TEMPORAL_PORT=${TEST_TEMPORAL_PORT:-7333}
TEST_TEMPORAL_UI_PORT=${TEST_TEMPORAL_UI_PORT:-8333}
WORKFLOWCHECK=${WORKFLOWCHECK:-go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0}
GO_TEST_TIMEOUT=${GO_TEST_TIMEOUT:-12m}

step() { printf '\n==> %s\n' "$*" >&2; }

step "PostgreSQL"
TEST_DATABASE_URL=$(scripts/pg.sh)

step "Temporal dev server for tests (127.0.0.1:$TEST_TEMPORAL_PORT, in memory)"
scripts/temporal.sh ensure
trap 'scripts/temporal.sh stop test' EXIT
scripts/temporal.sh start test "$TEST_TEMPORAL_PORT" "$TEST_TEMPORAL_UI_PORT"

step "web dependencies and Chromium (the real-browser test)"
browser_problem=""
if ! scripts/web.sh deps; then
	browser_problem="npm ci --prefix web failed: aeps-gateway-lib is not installed"
fi
if TEST_CHROMIUM=$(scripts/web.sh chromium); then
	export TEST_CHROMIUM
	echo "Chromium: $TEST_CHROMIUM" >&2
else
	browser_problem="Chromium is missing: apt-get install chromium (as root; .ci/run does)"
fi

export TEST_DATABASE_URL
export TEST_TEMPORAL_ADDRESS="127.0.0.1:$TEST_TEMPORAL_PORT"
export TEMPORAL_CLI="$ROOT/bin/temporal"

# Every check runs even when an earlier one failed, so one run shows all problems; the exit status
# says whether any failed.
failed=()
check() {
	local name=$1
	shift
	step "$name"
	if ! "$@"; then
		failed+=("$name")
	fi
}

# The compose file: valid with every value of .env.example filled in; refused with them missing
# (no development defaults); every published port bound to 127.0.0.1.
compose_config() {
	local dc=()
	if docker compose version >/dev/null 2>&1; then
		dc=(docker compose)
	elif command -v docker-compose >/dev/null 2>&1; then
		dc=(docker-compose)
	elif [[ ${CI:-} == true ]]; then
		echo "docker compose / docker-compose is missing in CI (.ci/run should have installed it)" >&2
		return 1
	else
		echo "SKIPPED: no docker compose, docker-compose.yml was not checked (apt-get install docker-compose)" >&2
		return 0
	fi
	local tmp filled empty rendered
	tmp=$(mktemp -d)
	filled="$tmp/filled.env" empty="$tmp/empty.env"
	sed 's/=$/=compose-check-value-0123456789/' .env.example >"$filled"
	: >"$empty"
	rendered=$(env -i PATH="$PATH" HOME="$tmp" "${dc[@]}" --env-file "$filled" config) || { rm -rf "$tmp"; return 1; }
	if env -i PATH="$PATH" HOME="$tmp" "${dc[@]}" --env-file "$empty" config -q >"$tmp/out" 2>&1; then
		echo "docker-compose.yml accepted an empty .env: a secret has a default" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
	local open
	open=$(grep -E '^ +- [0-9.:]*[0-9]+:[0-9]+' <<<"$rendered" | grep -v ' - 127\.0\.0\.1:' || true)
	if [[ -n $open ]]; then
		printf 'docker-compose.yml publishes ports beyond 127.0.0.1:\n%s\n' "$open" >&2
		return 1
	fi
	echo "docker-compose.yml: valid with .env.example filled in, refused without it, ports on 127.0.0.1 only (${dc[*]})" >&2
}

# promtool: the Debian package prometheus (.ci/run installs it when missing).
alert_rules() {
	if command -v promtool >/dev/null 2>&1; then
		promtool check rules deploy/prometheus/alerts.yml &&
			promtool test rules deploy/prometheus/alerts_test.yml &&
			promtool check config deploy/prometheus/prometheus.yml
	elif [[ ${CI:-} == true ]]; then
		echo "promtool is missing in CI (.ci/run should have installed the prometheus package)" >&2
		return 1
	else
		echo "SKIPPED: promtool is not installed, deploy/prometheus was not checked (apt-get install prometheus)" >&2
	fi
}

# gofmt: every Go file of every module in the working tree (not the dot directories: state).
gofmt_clean() {
	local unformatted
	unformatted=$(find . -name '*.go' -not -path './.*' -not -path '*/node_modules/*' -print0 | xargs -0 -r gofmt -l) || return 1
	[[ -z $unformatted ]] || { printf 'not gofmt-formatted:\n%s\n' "$unformatted" >&2; return 1; }
}
check "gofmt -l" gofmt_clean
check "go vet ./..." go vet ./...
check "go test -count=1 -timeout $GO_TEST_TIMEOUT ./..." go test -count=1 -timeout "$GO_TEST_TIMEOUT" ./...
# The load generator is a module of its own (bench/), outside ./... of the service's. It builds
# against this checkout (replace => ../), so a dependency the service just added is resolved here
# too (-mod=mod) instead of failing until someone runs `cd bench && go mod tidy`.
check "bench: go vet ./... && go test ./..." bash -c 'cd bench && GOFLAGS=-mod=mod go vet ./... && GOFLAGS=-mod=mod go test -count=1 ./...'
# The screenshot tool (make screenshots) is a module of its own too: it must keep building.
check "docs/screenshots: go vet ./..." bash -c 'cd docs/screenshots && GOFLAGS=-mod=mod go vet ./...'
check "workflowcheck ./workflows/... ($WORKFLOWCHECK)" go run "$WORKFLOWCHECK" ./workflows/...
check "docker compose config (filled .env valid, empty .env refused, ports on 127.0.0.1)" compose_config
check "promtool check rules / test rules / check config (deploy/prometheus)" alert_rules

# Without Chromium the browser test skips itself (or fails under CI=true); make test fails either
# way, saying how to fix it.
if [[ -n $browser_problem ]]; then
	failed+=("browser test: $browser_problem")
fi

if ((${#failed[@]})); then
	printf '
FAILED:
' >&2
	printf '  %s
' "${failed[@]}" >&2
	exit 1
fi
step "all checks passed"
