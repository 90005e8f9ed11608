#!/usr/bin/env bash
# make bench-ingest: how fast and how lean is a person-list upload?
#
# 1. Generates a 1,000,000-row list CSV (and a 100,000-row one) with genlist.
# 2. (a) Baseline: `psql \copy` of the same rows into a table shaped and
#    indexed like the gateway's member tables list_sets.s<N> (bigint person
#    code as primary key, two dates).
# 3. (b) The gateway: a freshly started built binary on its own database,
#    a grantor client from `gateway clients add`, the CSV uploaded with curl
#    and GET /v1/uploads/{id} polled until the list version is applied.
# 4. The gateway's peak RSS (VmHWM) for the 100k upload and, in a fresh
#    process, for the 1M upload.
# Prints the times, rows/s, both peaks and, last, the ratio (b)/(a).
# Targets: ratio <= 1.5; peak RSS <= 150 MB and within 20 % between 100k and 1M.
#
# Environment: BENCH_ROWS (1000000), BENCH_SMALL_ROWS (100000), BENCH_DB
# (avis_bench, dropped and recreated), BENCH_PORT (18480), AVIS_PG_HOST,
# AVIS_PG_PORT, AVIS_PG_USER, AVIS_REDIS_ADDR.
set -euo pipefail
trap 'echo "bench-ingest: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."

ROWS="${BENCH_ROWS:-1000000}"
SMALL_ROWS="${BENCH_SMALL_ROWS:-100000}"
PG_HOST="${AVIS_PG_HOST:-127.0.0.1}"
PG_PORT="${AVIS_PG_PORT:-5432}"
PG_USER="${AVIS_PG_USER:-postgres}"
DB="${BENCH_DB:-avis_bench}"
PORT="${BENCH_PORT:-18480}"
REDIS_ADDR="${AVIS_REDIS_ADDR:-127.0.0.1:6379}"
PREFIX="avisbench:$$:"
BASE="http://127.0.0.1:${PORT}"
DBURL="postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${DB}?sslmode=disable"
BIN="bin/gateway"
export PGCONNECT_TIMEOUT=5

WORK="$(mktemp -d)"
GW_PID=""

cleanup() {
	if [[ -n "$GW_PID" ]]; then
		kill -TERM "$GW_PID" 2>/dev/null || true
		wait "$GW_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	if command -v redis-cli >/dev/null; then
		redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" --scan --pattern "${PREFIX}*" 2>/dev/null |
			xargs -r redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" del >/dev/null 2>&1 || true
	fi
	psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qtA -c "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql_db() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$1" -v ON_ERROR_STOP=1 -qtA "${@:2}"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
# json_field NAME: the first string or number value of "NAME" in stdin.
json_field() { sed -n "s/.*\"$1\": *\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | awk 'NR == 1'; }

echo "== building the gateway"
go build -o "$BIN" ./cmd/gateway

echo "== generating ${ROWS} and ${SMALL_ROWS} rows"
go run ./scripts/genlist -rows "$ROWS" -bad 0 -format csv -seed 1 -out "$WORK/big.csv"
go run ./scripts/genlist -rows "$SMALL_ROWS" -bad 0 -format csv -seed 2 -out "$WORK/small.csv"
go run ./scripts/benchingest -in "$WORK/big.csv" -out "$WORK/big.copy"
BIG_BYTES=$(stat -c %s "$WORK/big.csv")

echo "== database ${DB}"
psql_db postgres -c "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)"
psql_db postgres -c "CREATE DATABASE ${DB}"
AVIS_DATABASE_URL="$DBURL" "$BIN" migrate -log-level warn

echo "== (a) psql \\copy into a table shaped like the member tables"
psql_db "$DB" -c "CREATE TABLE bench_members (person_code bigint PRIMARY KEY, valid_from date, valid_to date)"
psql_db "$DB" -c "CHECKPOINT"
T0=$(now)
psql_db "$DB" -c "\\copy bench_members FROM '$WORK/big.copy'"
T1=$(now)
A_SECONDS=$(elapsed "$T0" "$T1")
A_ROWS=$(psql_db "$DB" -c "SELECT count(*) FROM bench_members")
psql_db "$DB" -c "DROP TABLE bench_members"

start_gateway() {
	AVIS_DATABASE_URL="$DBURL" AVIS_ADDR="127.0.0.1:${PORT}" AVIS_PUBLIC_URL="$BASE" \
		AVIS_REDIS_ADDR="$REDIS_ADDR" AVIS_REDIS_PREFIX="$PREFIX" AVIS_TOKEN_KEY_FILE="$WORK/token.key" \
		AVIS_LOG_LEVEL=info AVIS_LOG_FORMAT=text \
		"$BIN" serve >>"$WORK/gateway.log" 2>&1 &
	GW_PID=$!
	for _ in $(seq 1 100); do
		if curl -fsS "$BASE/readyz" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "the gateway did not become ready:" >&2
	cat "$WORK/gateway.log" >&2
	exit 1
}

stop_gateway() {
	kill -TERM "$GW_PID"
	wait "$GW_PID" || true
	GW_PID=""
}

peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$GW_PID/status"; }

token() {
	curl -fsS -d grant_type=client_credentials -d client_id=bench-grantor --data-urlencode "client_secret=$SECRET" \
		"$BASE/oauth/token" | json_field access_token
}

# upload FILE LIST: uploads and waits until the upload ends; prints seconds.
upload() {
	local file="$1" list="$2" tok id status t0 t1 body
	tok=$(token)
	t0=$(now)
	body=$(curl -fsS -H "Authorization: Bearer $tok" -F "file=@${file};type=text/csv" \
		-F policy=all-or-nothing -F mode=replace "$BASE/v1/lists/${list}/uploads")
	id=$(echo "$body" | json_field id)
	echo "$id" >"$WORK/last-upload"
	while :; do
		body=$(curl -fsS -H "Authorization: Bearer $tok" "$BASE/v1/uploads/$id")
		status=$(echo "$body" | json_field status)
		case "$status" in
		applied) break ;;
		rejected | failed)
			echo "upload $id ended $status: $body" >&2
			exit 1
			;;
		esac
		sleep 0.05
	done
	t1=$(now)
	elapsed "$t0" "$t1"
}

echo "== grantor client"
SECRET=$(AVIS_DATABASE_URL="$DBURL" "$BIN" clients add -id bench-grantor -org 90000000099 -org-name "Bench grantor" \
	-roles grantor -log-level warn 2>/dev/null | json_field client_secret)

echo "== (b) gateway upload of ${SMALL_ROWS} rows (fresh process)"
start_gateway
SMALL_SECONDS=$(upload "$WORK/small.csv" bench-small)
RSS_SMALL=$(peak_rss_kb)
stop_gateway

echo "== (b) gateway upload of ${ROWS} rows (fresh process)"
psql_db "$DB" -c "CHECKPOINT"
start_gateway
B_SECONDS=$(upload "$WORK/big.csv" bench-big)
RSS_BIG=$(peak_rss_kb)
stop_gateway
# Where (b)'s time went, from the gateway's own log.
B_STORE_MS=$(grep -a 'route=/v1/lists/:listId/uploads status=202' "$WORK/gateway.log" | tail -1 | sed -n 's/.*duration_ms=\([0-9.]*\).*/\1/p' || true)
B_PROCESS_MS=$(grep -a 'msg="upload finished"' "$WORK/gateway.log" | grep -a "upload_id=$(cat "$WORK/last-upload")" | sed -n 's/.*duration_ms=\([0-9]*\).*/\1/p' || true)
B_ROWS=$(psql_db "$DB" -c "SELECT size FROM person_lists WHERE id = 'bench-big'")

MB() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
RATIO=$(awk -v a="$A_SECONDS" -v b="$B_SECONDS" 'BEGIN { printf "%.2f", b / a }')
RSS_GROWTH=$(awk -v s="$RSS_SMALL" -v b="$RSS_BIG" 'BEGIN { printf "%.0f", (b - s) * 100 / s }')

echo
echo "rows: ${ROWS} (CSV ${BIG_BYTES} bytes); small run: ${SMALL_ROWS}"
echo "(a) psql \\copy:            ${A_SECONDS} s, $(rate "$A_ROWS" "$A_SECONDS") rows/s (${A_ROWS} rows)"
echo "(b) gateway upload→applied: ${B_SECONDS} s, $(rate "$B_ROWS" "$B_SECONDS") rows/s (${B_ROWS} rows; stored in ${B_STORE_MS} ms, processed in ${B_PROCESS_MS} ms)"
echo "    ${SMALL_ROWS} rows:         ${SMALL_SECONDS} s, $(rate "$SMALL_ROWS" "$SMALL_SECONDS") rows/s"
echo "peak RSS ${SMALL_ROWS} rows: $(MB "$RSS_SMALL") MB"
echo "peak RSS ${ROWS} rows: $(MB "$RSS_BIG") MB (${RSS_GROWTH} % more; targets <= 150 MB and <= 20 %)"
echo "ratio (b)/(a): ${RATIO} (target <= 1.5)"
