#!/usr/bin/env bash
# make bench-instructions: one run of wrk against
#   (a) a bare echo route of the same binary and middleware chain,
#   (b) GET /v1/instructions answered 304 (If-None-Match),
#   (c) GET /v1/instructions answered 200 with 100 instructions,
# all with authentication on. Prints req/s and p99 of each, then (b)/(a).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
PORT=${BENCH_PORT:-18080}
DB=avis_bench_instructions
PGURL_ADMIN=${AVIS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export AVIS_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export AVIS_ADDR="127.0.0.1:$PORT" AVIS_PUBLIC_URL="http://127.0.0.1:$PORT"
export AVIS_REDIS_PREFIX="bench-instructions:" AVIS_LOG_LEVEL=warn AVIS_BENCH_ROUTES=true
export AVIS_TOKEN_KEY_FILE="var/bench/token.key"
mkdir -p var/bench

if ! command -v wrk >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null
fi
[ -x bin/gateway ] || go build -o bin/gateway ./cmd/gateway

psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
bin/gateway migrate >/dev/null 2>&1
grantor=$(bin/gateway clients add -id bench-grantor -org 90000000009 -org-name "Bench grantor" -roles grantor 2>/dev/null)
provider=$(bin/gateway clients add -id bench-provider -org 40000000009 -org-name "Bench provider" -roles provider 2>/dev/null)
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
gsecret=$(echo "$grantor" | json client_secret)
psecret=$(echo "$provider" | json client_secret)

bin/gateway serve >var/bench/gateway.log 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null; psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 100); do curl -sf "$AVIS_PUBLIC_URL/healthz" >/dev/null && break; sleep 0.1; done

token() { curl -sf -u "$1:$2" -d grant_type=client_credentials "$AVIS_PUBLIC_URL/oauth/token" | json access_token; }
GT=$(token bench-grantor "$gsecret")
PT=$(token bench-provider "$psecret")

for i in $(seq -w 1 100); do
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $GT" -H 'Content-Type: application/json' \
    -d '{"name":"Bench benefit '"$i"'","category":"transport","ekkCode":"6421","validFrom":"2026-01-01","priority":'"$((10#$i))"',"combinable":true,"discount":{"type":"percent","percentBasisPoints":2500},"goodsCodes":["transport.ride"],"providers":["40000000009"],"recipientGroup":{"registryGroup":"pensioners"}}' \
    "$AVIS_PUBLIC_URL/v1/benefits/bench-$i"
done
FEED="$AVIS_PUBLIC_URL/v1/instructions?limit=100"
count=$(curl -sf -H "Authorization: Bearer $PT" "$FEED" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$count" = 100 ] || { echo "feed has $count instructions, want 100" >&2; exit 1; }
ETAG=$(curl -sfI -H "Authorization: Bearer $PT" "$FEED" -X GET | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PT" -H "If-None-Match: $ETAG" "$FEED")
[ "$code" = 304 ] || { echo "conditional GET answered $code, want 304" >&2; exit 1; }

run() { # name url [header...]
  local name=$1 url=$2; shift 2
  local args=() h
  for h in "$@"; do args+=(-H "$h"); done
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${args[@]}" "$url")
  local rps p99 non2xx
  rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx/{print $NF}' <<<"$out")
  printf '%-34s %12s req/s   p99 %8s   non-2xx/3xx %s\n' "$name" "$rps" "$p99" "${non2xx:-0}"
  echo "$rps" >"var/bench/rps-$name"
}

echo "wrk: $THREADS thread(s), $CONNS connections, $DURATION each; gateway and wrk share this machine's $(nproc) cores"
run a-bare "$AVIS_PUBLIC_URL/bench/bare" "Authorization: Bearer $PT"
run b-instructions-304 "$FEED" "Authorization: Bearer $PT" "If-None-Match: $ETAG"
run c-instructions-200x100 "$FEED" "Authorization: Bearer $PT"
a=$(cat var/bench/rps-a-bare); b=$(cat var/bench/rps-b-instructions-304)
python3 -c "print(f'ratio (b)/(a) = {float($b)/float($a):.2f}   (target >= 0.70)')"
