#!/usr/bin/env bash
# `make dev`: PostgreSQL + Temporal dev server (state kept in .dev/temporal.db), migrations, the
# Eko UAT agent, then `aepsflow dev` (API + worker + outbox relay in one process) in the foreground.
# Ctrl-C stops the app; PostgreSQL and Temporal keep running for the next `make dev` (`make stop`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DEV_TEMPORAL_PORT=${DEV_TEMPORAL_PORT:-7233}
DEV_TEMPORAL_UI_PORT=${DEV_TEMPORAL_UI_PORT:-8233}
DEV_AGENT_USER_CODE=${DEV_AGENT_USER_CODE:-20810200}

step() { printf '==> %s\n' "$*" >&2; }

step "PostgreSQL"
DATABASE_URL=$(scripts/pg.sh createdb aepsflow)

step "Temporal dev server"
scripts/temporal.sh ensure
scripts/temporal.sh start dev "$DEV_TEMPORAL_PORT" "$DEV_TEMPORAL_UI_PORT" .dev/temporal.db

step "web dependencies (aeps-gateway-lib for the agent launch page)"
scripts/web.sh deps || echo "dev.sh: the agent launch page (DEMO_AGENT_PAGE) will lack aeps-gateway-lib" >&2

step "go build -o bin/aepsflow ./cmd/aepsflow"
go build -o bin/aepsflow ./cmd/aepsflow

export APP_ENV=development
export DATABASE_URL
export TEMPORAL_ADDRESS="127.0.0.1:$DEV_TEMPORAL_PORT"
export ADMIN_TOKEN=${ADMIN_TOKEN:-dev-admin-token}

step "migrate"
bin/aepsflow migrate

step "register the Eko UAT agent $DEV_AGENT_USER_CODE"
bin/aepsflow agent register --user-code "$DEV_AGENT_USER_CODE" --name "Eko UAT agent"

http_addr=${HTTP_ADDR:-:8080}
http_port=${http_addr##*:}
worker_addr=${WORKER_HTTP_ADDR:-:8081}
cat >&2 <<MSG

aepsflow (development)
  API:              http://127.0.0.1:$http_port   (admin token: \$ADMIN_TOKEN, default dev-admin-token)
  worker probes:    http://127.0.0.1:${worker_addr##*:}   (/healthz, /readyz, /metrics; WORKER_HTTP_ADDR=off disables)
  Temporal Web UI:  http://127.0.0.1:$DEV_TEMPORAL_UI_PORT
  Temporal gRPC:    $TEMPORAL_ADDRESS
  Database:         $DATABASE_URL
Ctrl-C stops aepsflow; \`make stop\` also stops Temporal and a private PostgreSQL.

MSG
exec bin/aepsflow dev
