#!/usr/bin/env bash
# Browser-side helpers for make dev, make demo and make test.
#   scripts/web.sh deps      install web/'s npm dependencies (aeps-gateway-lib, pinned by
#                            web/package-lock.json) with `npm ci`, unless already installed
#   scripts/web.sh chromium  print the path of a Chromium for the browser test, or fail saying
#                            how to install one
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

case ${1:-} in
deps)
	stamp="$ROOT/web/node_modules/.package-lock.json"
	if [[ -f $stamp && ! $ROOT/web/package-lock.json -nt $stamp ]]; then
		exit 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "web.sh: npm is missing: install it (apt-get install npm; .ci/run does) to get aeps-gateway-lib" >&2
		exit 1
	fi
	echo "web.sh: npm ci --prefix web (aeps-gateway-lib, pinned by web/package-lock.json)" >&2
	npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error >&2
	;;
chromium)
	for c in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
		[[ -n $c ]] || continue
		if path=$(command -v "$c" 2>/dev/null); then
			echo "$path"
			exit 0
		fi
	done
	echo "web.sh: Chromium is missing, so the real-browser test cannot run. Install it: apt-get install chromium (as root; .ci/run does), or set CHROMIUM to a Chrome/Chromium binary." >&2
	exit 1
	;;
*)
	echo "usage: scripts/web.sh deps|chromium" >&2
	exit 2
	;;
esac
