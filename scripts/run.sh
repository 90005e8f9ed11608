#!/usr/bin/env bash
# Runs the registry mocks (when built) and the gateway in the foreground.
# `make run` calls it after starting PostgreSQL/Redis and loading samples.
set -euo pipefail
cd "$(dirname "$0")/.."
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ -x bin/avis-mocks ]; then
  bin/avis-mocks -addr "${AVIS_MOCKS_ADDR:-127.0.0.1:8081}" -trusted-cert var/keys/gateway.crt &
  pids+=($!)
  echo "registry mocks on http://${AVIS_MOCKS_ADDR:-127.0.0.1:8081} (see mocks/README.md)"
fi
echo "gateway on ${AVIS_PUBLIC_URL:-http://${AVIS_ADDR:-127.0.0.1:8080}}  docs: /docs  upload page: /ui/  credentials: var/sample-credentials.env"
bin/gateway serve &
pids+=($!)
wait -n "${pids[@]}"
