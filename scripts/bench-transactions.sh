#!/usr/bin/env bash
# make bench-transactions: durable transactions per second with receipts.
# Starts the registry mocks and the gateway (built binaries, own database
# avis_bench_tx), gets BENCH_TRANSACTIONS eligibility decisions, then
# reports one transaction per decision as fast as BENCH_CONNECTIONS
# connections allow (each with its own Idempotency-Key: every 201 is a row
# committed in PostgreSQL with its receipt). Then it checks the rows, fetches
# a sample of the signed XML receipts, and waits for the background signer
# to sign every receipt. Target: >= 3,000 transactions/s.
#
# BENCH_SIGNING=ecdsa (default) signs receipts with an ECDSA P-256 identity
# made for the run; BENCH_SIGNING=rsa uses var/keys/gateway.key (RSA-3072
# from scripts/devkeys), whose signatures cost milliseconds each: the
# transactions are as fast, the signing backlog drains slower.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_TRANSACTIONS:-60000}
CONNS=${BENCH_CONNECTIONS:-64}
PORT=${BENCH_PORT:-18280}
MOCKS_PORT=${BENCH_MOCKS_PORT:-18281}
SIGNING=${BENCH_SIGNING:-ecdsa}
DB=avis_bench_tx
PGURL_ADMIN=${AVIS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MOCKS="http://127.0.0.1:$MOCKS_PORT"
export AVIS_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export AVIS_ADDR="127.0.0.1:$PORT" AVIS_PUBLIC_URL="http://127.0.0.1:$PORT"
export AVIS_REDIS_PREFIX="bench-tx:" AVIS_LOG_LEVEL=warn AVIS_TOKEN_TTL=1h AVIS_DECISION_TTL=30m
export AVIS_TOKEN_KEY_FILE="var/bench/token.key" AVIS_MOCKS_URL="$MOCKS" AVIS_UPLOAD_WORKERS=0 GOGC=${GOGC:-400}
REDIS_ADDR=${AVIS_REDIS_ADDR:-127.0.0.1:6379}
W=var/bench/tx
mkdir -p "$W"

[ -f var/keys/gateway.key ] || go run ./scripts/devkeys -dir var/keys >/dev/null
case "$SIGNING" in
  ecdsa) go run ./scripts/devkeys -dir "$W/keys" -name receipts -alg ecdsa -cn avis-gateway-bench >/dev/null
         export AVIS_SIGNING_KEY_FILE="$W/keys/receipts.key" AVIS_SIGNING_CERT_FILE="$W/keys/receipts.crt" ;;
  rsa)   export AVIS_SIGNING_KEY_FILE=var/keys/gateway.key AVIS_SIGNING_CERT_FILE=var/keys/gateway.crt ;;
  *)     echo "BENCH_SIGNING must be ecdsa or rsa" >&2; exit 2 ;;
esac
go build -o bin/gateway ./cmd/gateway
go build -o bin/avis-mocks ./mocks/cmd/avis-mocks
go build -o bin/loadgen ./scripts/loadgen

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
metric() { curl -sf "$AVIS_PUBLIC_URL/metrics" | awk -v p="$1" 'index($1, p) == 1 {s += $2} END {printf "%.0f\n", s}'; }
sql() { psql "$AVIS_DATABASE_URL" -Atqc "$1"; }

psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
bin/gateway migrate >/dev/null 2>&1
provider=$(bin/gateway clients add -id bench-provider -org 40000000009 -org-name "Bench provider" -roles provider 2>/dev/null)
grantor=$(bin/gateway clients add -id bench-grantor -org 90000000009 -org-name "Bench grantor" -roles grantor 2>/dev/null)
psecret=$(echo "$provider" | json "d['client_secret']")
gsecret=$(echo "$grantor" | json "d['client_secret']")

bin/avis-mocks -addr "127.0.0.1:$MOCKS_PORT" -trusted-cert "$AVIS_SIGNING_CERT_FILE" -journal-size 1000 -log-level warn >"$W/mocks.log" 2>&1 &
MK=$!
bin/gateway serve >"$W/gateway.log" 2>&1 &
GW=$!
cleanup() {
  kill "$GW" "$MK" 2>/dev/null || true
  wait "$GW" "$MK" 2>/dev/null || true
  psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" --scan --pattern 'bench-tx:*' 2>/dev/null |
    xargs -r -n 500 redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" del >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "$AVIS_PUBLIC_URL/healthz" >/dev/null && curl -sf "$MOCKS/healthz" >/dev/null && break; sleep 0.1; done

token() { curl -sf -u "$1:$2" -d grant_type=client_credentials "$AVIS_PUBLIC_URL/oauth/token" | json "d['access_token']"; }
GT=$(token bench-grantor "$gsecret")
PT=$(token bench-provider "$psecret")
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $GT" -H 'Content-Type: application/json' "$AVIS_PUBLIC_URL/v1/benefits/bench-pensioner-ride" \
  -d '{"name":"Pensioners ride free","category":"transport","ekkCode":"6421","validFrom":"2026-01-01","priority":10,"combinable":false,"discount":{"type":"free"},"goodsCodes":["transport.ride"],"providers":["40000000009"],"recipientGroup":{"registryGroup":"pensioners"}}'

curl -sf "$MOCKS/__admin/population?group=pensioners&status=active&limit=1000" | json "'\n'.join(p['personCode'] for p in d['persons'])" >"$W/pensioners.codes"
echo "signing: $SIGNING ($(openssl x509 -noout -subject -in "$AVIS_SIGNING_CERT_FILE" 2>/dev/null | sed 's/^subject=//'))"
echo "getting $N decisions for $(wc -l <"$W/pensioners.codes") pensioners, then reporting one transaction each over $CONNS connections"

out=$(bin/loadgen transactions -base "$AVIS_PUBLIC_URL" -token "$PT" -codes "$W/pensioners.codes" -decisions "$N" -c "$CONNS" -receipts 100)
tx=$(grep '^mode=transactions' <<<"$out"); rc=$(grep '^mode=receipts' <<<"$out")
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1==k{print $2}'; }
stored=$(sql "SELECT count(*) FROM transactions")
receipts=$(sql "SELECT count(*) FROM receipts")
printf 'durable transactions: %s tx/s   p50 %sms   p99 %sms   (%s reported, %s non-201, %s rows in transactions, %s receipts)\n' \
  "$(kv rps "$tx")" "$(kv p50_ms "$tx")" "$(kv p99_ms "$tx")" "$(kv requests "$tx")" "$(kv non2xx "$tx")" "$stored" "$receipts"
printf 'signed receipts fetched right after: %s of %s signed, p99 %sms\n' "$(kv signed "$rc")" "$(kv fetched "$rc")" "$(kv p99_ms "$rc")"

start=$(date +%s.%N)
unsigned=$(sql "SELECT count(*) FROM receipts r WHERE NOT EXISTS (SELECT 1 FROM receipt_signatures s WHERE s.receipt_id = r.id)")
echo "unsigned receipts when the load ended: $unsigned"
while [ "$unsigned" -gt 0 ]; do
  sleep 1
  unsigned=$(sql "SELECT count(*) FROM receipts r WHERE NOT EXISTS (SELECT 1 FROM receipt_signatures s WHERE s.receipt_id = r.id)")
  python3 -c "import sys,time; sys.exit(0 if time.time() - $start < 600 else 1)" || { echo "signing did not finish in 10 min: $unsigned left" >&2; break; }
done
python3 -c "import time; print(f'all receipts signed {time.time() - $start:.1f} s after the load ended')"
echo "signed by path: background $(metric 'avis_receipts_signed_total{path="background"}'), sweep $(metric 'avis_receipts_signed_total{path="sweep"}'), on demand $(metric 'avis_receipts_signed_total{path="on_demand"}')"
python3 -c "import sys; r=float('$(kv rps "$tx")'); print(f'target >= 3000 tx/s: {\"met\" if r >= 3000 else \"NOT met\"} ({r:.0f})')"
