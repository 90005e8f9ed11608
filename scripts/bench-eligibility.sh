#!/usr/bin/env bash
# make bench-eligibility: one run that starts the registry mocks and the
# gateway (built binaries, own database avis_bench_elig) and measures
#   (a) a bare echo POST route of the same binary and middleware chain,
#   (b) POST /v1/eligibility with a warm cache and authentication on,
#   (c) the same with a cold cache (every request a new person) against the
#       mocks set to 20 ms latency on every data set,
# each at its peak (wrk, closed loop), then (b) open-loop at a quarter and
# at half its peak rate for its p99. Prints req/s and p50/p99 of each, Redis round trips per
# warm check, registry calls per cold check, and last the ratio (b)/(a).
# Targets: (b)/(a) >= 0.6; (b) p99 <= 5 ms at half peak; (c) p99 <= 60 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-32}
COLD_CONNS=${BENCH_COLD_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-1}
PORT=${BENCH_PORT:-18180}
MOCKS_PORT=${BENCH_MOCKS_PORT:-18181}
POPULATION=${BENCH_POPULATION:-200000}
WARM_PERSONS=${BENCH_WARM_PERSONS:-2000}
COLD_PERSONS=${BENCH_COLD_PERSONS:-30000}
DB=avis_bench_elig
PGURL_ADMIN=${AVIS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MOCKS="http://127.0.0.1:$MOCKS_PORT"
export AVIS_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export AVIS_ADDR="127.0.0.1:$PORT" AVIS_PUBLIC_URL="http://127.0.0.1:$PORT"
export AVIS_REDIS_PREFIX="bench-elig:" AVIS_LOG_LEVEL=warn AVIS_BENCH_ROUTES=true AVIS_TOKEN_TTL=1h
export AVIS_TOKEN_KEY_FILE="var/bench/token.key" AVIS_MOCKS_URL="$MOCKS"
export AVIS_UPLOAD_WORKERS=0 GOGC=${GOGC:-400}
REDIS_ADDR=${AVIS_REDIS_ADDR:-127.0.0.1:6379}
W=var/bench/elig
mkdir -p "$W"

if ! command -v wrk >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null
fi
[ -f var/keys/gateway.key ] || go run ./scripts/devkeys -dir var/keys >/dev/null
go build -o bin/gateway ./cmd/gateway
go build -o bin/avis-mocks ./mocks/cmd/avis-mocks
go build -o bin/loadgen ./scripts/loadgen

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
metric() { # prefix: the sum of the series of /metrics whose name{labels} starts with it
  curl -sf "$AVIS_PUBLIC_URL/metrics" | awk -v p="$1" 'index($1, p) == 1 {s += $2} END {printf "%.0f\n", s}'
}
CHECKS='avis_http_request_duration_seconds_count{code="200",method="POST",route="/v1/eligibility"}'
ROUNDTRIPS='avis_eligibility_redis_roundtrips_total'
REGISTRY='avis_registry_request_duration_seconds_count{'

redis_mget() {
  redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" info commandstats 2>/dev/null |
    awk -F'[:=,]' '/^cmdstat_mget:/{print $3; f=1} END{if(!f) print 0}'
}

psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
bin/gateway migrate >/dev/null 2>&1
provider=$(bin/gateway clients add -id bench-provider -org 40000000009 -org-name "Bench provider" -roles provider 2>/dev/null)
grantor=$(bin/gateway clients add -id bench-grantor -org 90000000009 -org-name "Bench grantor" -roles grantor 2>/dev/null)
psecret=$(echo "$provider" | json "d['client_secret']")
gsecret=$(echo "$grantor" | json "d['client_secret']")

bin/avis-mocks -addr "127.0.0.1:$MOCKS_PORT" -size "$POPULATION" -trusted-cert var/keys/gateway.crt \
  -journal-size 1000 -log-level warn >"$W/mocks.log" 2>&1 &
MK=$!
bin/gateway serve >"$W/gateway.log" 2>&1 &
GW=$!
cleanup() {
  kill "$GW" "$MK" 2>/dev/null || true
  wait "$GW" "$MK" 2>/dev/null || true
  psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" --scan --pattern 'bench-elig:*' 2>/dev/null |
    xargs -r -n 500 redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" del >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "$AVIS_PUBLIC_URL/healthz" >/dev/null && curl -sf "$MOCKS/healthz" >/dev/null && break; sleep 0.1; done

token() { curl -sf -u "$1:$2" -d grant_type=client_credentials "$AVIS_PUBLIC_URL/oauth/token" | json "d['access_token']"; }
GT=$(token bench-grantor "$gsecret")
PT=$(token bench-provider "$psecret")

# The provider is admitted to four benefits: one exclusive (pensioners in
# Rīga ride free), three combinable (honour families, disability,
# repressed persons), so a check reads PMLP and four group data sets.
put_benefit() { # id json
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $GT" -H 'Content-Type: application/json' -d "$2" "$AVIS_PUBLIC_URL/v1/benefits/$1"
}
common='"category":"transport","ekkCode":"6421","validFrom":"2026-01-01","goodsCodes":["transport.ride"],"providers":["40000000009"]'
put_benefit bench-pensioner-ride '{"name":"Pensioners ride free","priority":10,"combinable":false,"discount":{"type":"free"},"recipientGroup":{"registryGroup":"pensioners"},"conditions":{"municipality":"0001000"},'"$common"'}'
put_benefit bench-honour-family '{"name":"Honour family half price","priority":20,"combinable":true,"discount":{"type":"percent","percentBasisPoints":5000},"recipientGroup":{"registryGroup":"honour_families"},'"$common"'}'
put_benefit bench-disability '{"name":"Disability half price","priority":30,"combinable":true,"discount":{"type":"percent","percentBasisPoints":5000},"recipientGroup":{"registryGroup":"disability"},'"$common"'}'
put_benefit bench-repressed '{"name":"Repressed persons ride free","priority":5,"combinable":false,"discount":{"type":"free"},"recipientGroup":{"registryGroup":"repressed"},'"$common"'}'

# Persons: active pensioners in Rīga for the warm set, everybody for the
# cold set (a cold check costs the same registry calls either way).
population() { # query count out
  : >"$3"
  local after=-1 n=0
  while [ "$n" -lt "$2" ]; do
    page=$(curl -sf "$MOCKS/__admin/population?$1&limit=1000&after=$after")
    echo "$page" | json "'\n'.join(p['personCode'] for p in d['persons'])" | sed '/^$/d' >>"$3"
    n=$(wc -l <"$3")
    after=$(echo "$page" | json "d['next'] if d['next'] is not None else ''")
    [ -n "$after" ] || break
  done
  head -n "$2" "$3" >"$3.tmp" && mv "$3.tmp" "$3"
}
population "group=pensioners&status=active&municipality=0001000" "$WARM_PERSONS" "$W/warm.codes"
population "group=all" "$((COLD_PERSONS + WARM_PERSONS * 3))" "$W/all.codes"
grep -vxFf "$W/warm.codes" "$W/all.codes" >"$W/cold.all" || true
head -n "$COLD_PERSONS" "$W/cold.all" >"$W/cold.codes"
echo "persons: $(wc -l <"$W/warm.codes") warm (pensioners in Rīga), $(wc -l <"$W/cold.codes") cold; mock population $POPULATION"

first=$(head -1 "$W/warm.codes")
check=$(curl -sf -H "Authorization: Bearer $PT" -H 'Content-Type: application/json' \
  -d '{"person":{"personCode":"'"$first"'"},"pointOfSale":{"id":"p"},"lines":[{"lineId":"1","goodsCode":"transport.ride","amountCents":150}]}' \
  "$AVIS_PUBLIC_URL/v1/eligibility")
echo "$check" | json "d['totalDiscountCents']" | grep -qx 150 || { echo "sanity check failed: $check" >&2; exit 1; }

# Warm the cache: one pass over the warm persons.
bin/loadgen closed -url "$AVIS_PUBLIC_URL/v1/eligibility" -c 16 -d 60s -codes "$W/warm.codes" \
  -body-file <(echo '{"person":{"personCode":"{{code}}"},"pointOfSale":{"id":"bench-pos","terminalId":"t1"},"lines":[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]}') \
  -H "Authorization: Bearer $PT" >/dev/null 2>&1

# CPU time of every process by name (clock ticks), to tell where a
# request's cost goes when they all share the machine.
cpu_snapshot() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk '{i = index($0, "("); j = match($0, /\) [A-Z] /)
    comm = substr($0, i + 1, j - i - 1); split(substr($0, j + 2), f, " "); s[comm] += f[12] + f[13]}
    END {for (k in s) print k, s[k]}' | sort >"$1"
}
cpu_per_request() { # before after requests wrk-cpu-file
  local hz; hz=$(getconf CLK_TCK)
  join "$1" "$2" | awk -v n="$3" -v hz="$hz" '{d = $3 - $2; if (d > 0 && ($1 == "gateway" || $1 == "postgres" || $1 == "redis-server" || $1 == "avis-mocks"))
    printf "%s %.0f us  ", $1, d / hz * 1e6 / n}'
  awk -v n="$3" '{printf "wrk %.0f us\n", ($1 + $2) * 1e6 / n}' "$4"
}

wrk_run() { # name codes-file cycle path conns
  local out rps p50 p99 non2xx
  # bash's time keyword: wrk's own CPU (it is gone before the next snapshot).
  local TIMEFORMAT='%U %S'
  { time CODES_FILE=$2 CYCLE=$3 REQ_PATH=$4 wrk -t"$THREADS" -c"$5" -d"$DURATION" --latency \
    -s scripts/loadgen/eligibility.lua -H "Authorization: Bearer $PT" "$AVIS_PUBLIC_URL" >"$W/wrk-out" 2>&1; } 2>"$W/wrk-cpu-$1"
  out=$(cat "$W/wrk-out")
  rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx/{print $NF}' <<<"$out")
  printf '%-40s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$rps" >"$W/rps-$1"
  awk '/requests in/{print $1}' <<<"$out" >"$W/requests-$1"
}

echo "wrk: $THREADS thread(s), $CONNS connections ($COLD_CONNS cold), $DURATION each; gateway, mocks, PostgreSQL, Redis and the load share $(nproc) cores"
cpu_snapshot "$W/cpu0"
wrk_run a-bare "$W/warm.codes" 1 /bench/bare "$CONNS"
cpu_snapshot "$W/cpu1"
echo "  CPU per request: $(cpu_per_request "$W/cpu0" "$W/cpu1" "$(cat "$W/requests-a-bare")" "$W/wrk-cpu-a-bare")"

rt0=$(metric "$ROUNDTRIPS"); ch0=$(metric "$CHECKS"); mg0=$(redis_mget); rg0=$(metric "$REGISTRY")
cpu_snapshot "$W/cpu2"
wrk_run b-eligibility-warm "$W/warm.codes" 1 /v1/eligibility "$CONNS"
cpu_snapshot "$W/cpu3"
rt1=$(metric "$ROUNDTRIPS"); ch1=$(metric "$CHECKS"); mg1=$(redis_mget); rg1=$(metric "$REGISTRY")
echo "  CPU per request: $(cpu_per_request "$W/cpu2" "$W/cpu3" "$((ch1 - ch0))" "$W/wrk-cpu-b-eligibility-warm")"

kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1==k{print $2}'; }
peak=$(cat "$W/rps-b-eligibility-warm")
for share in 4 2; do # a quarter, then half of the peak, open loop
  rate=$(python3 -c "print(max(1, int(float('$peak')/$share)))")
  rate_out=$(bin/loadgen rate -url "$AVIS_PUBLIC_URL/v1/eligibility" -rate "$rate" -c 64 -d "$DURATION" -codes "$W/warm.codes" -cycle \
    -body-file <(echo '{"person":{"personCode":"{{code}}"},"pointOfSale":{"id":"bench-pos","terminalId":"t1"},"lines":[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]}') \
    -H "Authorization: Bearer $PT")
  printf '%-40s %10s req/s   p50 %6sms   p99 %6sms   non-2xx %s (open loop at %s/s)\n' "b-eligibility-warm at 1/$share of peak" \
    "$(kv rps "$rate_out")" "$(kv p50_ms "$rate_out")" "$(kv p99_ms "$rate_out")" "$(kv non2xx "$rate_out")" "$rate"
done
# The same open-loop load on the bare route: the floor this machine sets.
rate_out=$(bin/loadgen rate -url "$AVIS_PUBLIC_URL/bench/bare" -rate "$rate" -c 64 -d "$DURATION" -codes "$W/warm.codes" -cycle \
  -body-file <(echo '{"person":{"personCode":"{{code}}"},"pointOfSale":{"id":"bench-pos","terminalId":"t1"},"lines":[{"lineId":"1","goodsCode":"transport.ride","quantity":1,"amountCents":150}]}'))
printf '%-40s %10s req/s   p50 %6sms   p99 %6sms   non-2xx %s (open loop at %s/s)\n' "a-bare at the same rate" \
  "$(kv rps "$rate_out")" "$(kv p50_ms "$rate_out")" "$(kv p99_ms "$rate_out")" "$(kv non2xx "$rate_out")" "$rate"

for ds in person eid pensioners learners honour-families orphans needy disability repressed; do
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' -d '{"latencyMs":20}' "$MOCKS/__admin/scenarios/$ds"
done
rg2=$(metric "$REGISTRY"); cc2=$(metric "$CHECKS")
wrk_run c-eligibility-cold-20ms "$W/cold.codes" 0 /v1/eligibility "$COLD_CONNS"
rg3=$(metric "$REGISTRY"); cc3=$(metric "$CHECKS")

python3 - <<PY
checks = max(1, $ch1 - $ch0)
print(f"Redis round trips per warm check: {($rt1 - $rt0) / checks:.2f} (gateway count); MGET per check server-wide: {($mg1 - $mg0) / checks:.2f}")
print(f"registry calls per warm check: {($rg1 - $rg0) / checks:.3f}")
cold = max(1, $cc3 - $cc2)
print(f"registry calls per cold check: {($rg3 - $rg2) / cold:.2f} (PMLP + 4 group data sets)")
a = float(open("$W/rps-a-bare").read()); b = float(open("$W/rps-b-eligibility-warm").read())
print(f"ratio (b)/(a) = {b / a:.2f}   (target >= 0.6)")
PY
