#!/usr/bin/env bash
# `make demo`: the whole gateway flow for a newcomer, offline. Starts the simulator's gateway page
# and Transaction Inquiry API on localhost:3004 (aeps-gateway-lib's "local" environment), then
# `make dev` with the agent launch page on and aepsflow pointed at the simulator, and prints (and
# tries to open) the agent page's URL with a fresh launch token. In the browser: 1. Get a gateway
# session, 2. Open the Eko AePS gateway, Proceed, Success: the agent page ends on `success`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DEMO_AGENT=${DEV_AGENT_USER_CODE:-20810200}
http_addr=${HTTP_ADDR:-:8080}
http_port=${http_addr##*:}

scripts/web.sh deps
go build -o bin/ ./cmd/ekosim ./cmd/aepsflow

export APP_ENV=development
export DEMO_AGENT_PAGE=true GATEWAY_ENVIRONMENT=local GATEWAY_PARTNER_NAME=${GATEWAY_PARTNER_NAME:-"aepsflow demo"}
export REQUIRE_GATEWAY_SESSION=${REQUIRE_GATEWAY_SESSION:-true}
export EKO_API_BASE_URL=http://127.0.0.1:3004/ekoapi/v3
export EKO_RESPONSE_TIMEOUT=${EKO_RESPONSE_TIMEOUT:-20s} INQUIRY_INITIAL_BACKOFF=${INQUIRY_INITIAL_BACKOFF:-1s}

bin/ekosim gateway-page --addr localhost:3004 2>.dev-ekosim.log &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT

token=$(bin/aepsflow gateway token --user-code "$DEMO_AGENT" --ttl 1h)
url="http://127.0.0.1:$http_port/demo/agent#token=$token"
cat >&2 <<MSG

==> make demo: open the agent launch page (the launch token in it is valid for 1 hour):

    $url

    1. Get a gateway session   2. Open the Eko AePS gateway   (a new window: the simulator's page)
    3. Proceed                 4. Success (or Failure, Pending, Suspicious, Close without response)
    The agent page follows the transaction to its final state. The simulator logs to .dev-ekosim.log.

MSG
( sleep 4; command -v xdg-open >/dev/null 2>&1 && xdg-open "$url" >/dev/null 2>&1 ) &
scripts/dev.sh
