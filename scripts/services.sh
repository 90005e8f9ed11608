#!/usr/bin/env bash
# Makes PostgreSQL and Redis available on this machine for the gateway's tests
# and local runs, and creates the gateway's database.
#
# Uses a server that already answers; otherwise starts the installed one;
# otherwise installs it with apt (Debian 12) and starts it. Safe to run many
# times and from several make targets at once (runs are serialised by a lock).
# It never stops or restarts a server it did not install; it only reloads
# one whose pg_hba.conf it had to change because connecting failed.
#
# Environment:
#   AVIS_PG_HOST, AVIS_PG_PORT  where to look for PostgreSQL (127.0.0.1, 5432)
#   AVIS_REDIS_ADDR             where to look for Redis (127.0.0.1:6379)
#   AVIS_DB_NAME                database to create (avis)
#   AVIS_PG_CLUSTER             Debian cluster name to start or create (main)
#   AVIS_SERVICES_WAIT          seconds to wait for a server to be ready (60)
# Only local servers (127.0.0.1, localhost, ::1) are ever started or installed.
set -euo pipefail

PG_HOST="${AVIS_PG_HOST:-127.0.0.1}"
PG_PORT="${AVIS_PG_PORT:-5432}"
REDIS_ADDR="${AVIS_REDIS_ADDR:-127.0.0.1:6379}"
DB_NAME="${AVIS_DB_NAME:-avis}"
PG_CLUSTER="${AVIS_PG_CLUSTER:-main}"
WAIT_SECONDS="${AVIS_SERVICES_WAIT:-60}"

# Accept "redis://host:port[/db]" as well as "host:port".
redis_hostport="${REDIS_ADDR#redis://}"
redis_hostport="${redis_hostport%%/*}"
REDIS_HOST="${redis_hostport%:*}"
REDIS_PORT="${redis_hostport##*:}"
if [[ "$redis_hostport" != *:* ]]; then
	REDIS_HOST="$redis_hostport"
	REDIS_PORT=6379
fi
REDIS_HOST="${REDIS_HOST#[}"
REDIS_HOST="${REDIS_HOST%]}"

# psql and pg_isready must never prompt: CI has no terminal.
export PGCONNECT_TIMEOUT=5
export DEBIAN_FRONTEND=noninteractive

say() { printf '%s\n' "$*"; }
die() {
	printf 'services.sh: error: %s\n' "$*" >&2
	exit 1
}

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
is_local() { [[ "$1" == 127.0.0.1 || "$1" == localhost || "$1" == ::1 ]]; }

# as_root runs a command with the privileges that apt, pg_ctlcluster and the
# configuration files under /etc need. It closes the lock descriptor (9, see
# main): a server that apt or pg_ctlcluster starts would otherwise inherit it
# and hold the lock for as long as it runs.
as_root() {
	if ((EUID == 0)); then
		"$@" 9>&-
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@" 9>&-
	else
		die "need root (or password-less sudo) to run: $*"
	fi
}

APT_UPDATED=0
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "cannot install $*: apt-get not found (this script supports Debian); install it yourself"
	if ((APT_UPDATED == 0)); then
		as_root apt-get update -q >/dev/null || die "apt-get update failed"
		APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
		die "apt-get install $* failed"
}

# wait_for polls "$@" until it succeeds or WAIT_SECONDS pass.
wait_for() {
	local deadline=$((SECONDS + WAIT_SECONDS))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3 >/dev/null 2>&1; }

# pg_psql runs psql as postgres against the target server, never prompting.
pg_psql() { psql -w -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }

pg_can_connect() { pg_psql -Atc 'SELECT 1' >/dev/null 2>&1; }

# pg_cluster_version prints the newest PostgreSQL major version that has a
# cluster named $PG_CLUSTER, or nothing.
pg_cluster_version() {
	local d
	for d in /etc/postgresql/*/"$PG_CLUSTER"; do
		if [[ -d "$d" ]]; then basename "$(dirname "$d")"; fi
	done | sort -V | tail -n 1
}

# pg_cluster_port prints the port a cluster is configured to listen on.
pg_cluster_port() {
	pg_lsclusters -h 2>/dev/null | awk -v v="$1" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $3 }'
}

pg_cluster_online() {
	[[ "$(pg_lsclusters -h 2>/dev/null | awk -v v="$1" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $4 }')" == online* ]]
}

pg_log_hint() { printf 'see /var/log/postgresql/postgresql-%s-%s.log' "$1" "$PG_CLUSTER"; }

# pg_configure_local makes the cluster listen on the loopback address and
# port we look at. Only called on a cluster this run installed or created.
pg_configure_local() {
	local ver="$1" dir="/etc/postgresql/$1/$PG_CLUSTER"
	as_root mkdir -p "$dir/conf.d"
	printf "# Written by scripts/services.sh.\nlisten_addresses = 'localhost'\nport = %s\n" "$PG_PORT" |
		as_root tee "$dir/conf.d/50-avis.conf" >/dev/null
	as_root chown -R postgres:postgres "$dir/conf.d"
}

# pg_trust_local puts trust rules for postgres and root over the socket and
# loopback ahead of every other rule (the first matching rule wins). It is
# for a test machine: anyone on it can then connect as those users.
pg_trust_local() {
	local ver="$1" hba="/etc/postgresql/$1/$PG_CLUSTER/pg_hba.conf" marker="# avis services.sh: trust"
	[[ -f "$hba" ]] || die "postgres: $hba not found; cannot allow local connections"
	if ! as_root grep -qF "$marker" "$hba"; then
		local tmp
		tmp="$(mktemp)"
		{
			printf '%s local connections for postgres and root (test machines only)\n' "$marker"
			printf 'local all postgres,root trust\n'
			printf 'host all postgres,root 127.0.0.1/32 trust\n'
			printf 'host all postgres,root ::1/128 trust\n'
			as_root cat "$hba"
		} >"$tmp"
		as_root cp "$tmp" "$hba"
		rm -f "$tmp"
		say "postgres: allowed trust auth for postgres and root in $hba"
	fi
	if pg_cluster_online "$ver"; then
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" reload >/dev/null ||
			die "postgres: reloading cluster $ver/$PG_CLUSTER failed; $(pg_log_hint "$ver")"
	fi
}

pg_start_cluster() {
	local ver="$1" port
	port="$(pg_cluster_port "$ver")"
	if [[ -n "$port" && "$port" != "$PG_PORT" ]]; then
		die "postgres: cluster $ver/$PG_CLUSTER is configured for port $port, but AVIS_PG_PORT is $PG_PORT; set AVIS_PG_PORT=$port or change the cluster's port"
	fi
	if pg_cluster_online "$ver"; then
		say "postgres: cluster $ver/$PG_CLUSTER is already running"
		return
	fi
	# A concurrent start makes this fail with "already running"; the wait
	# below decides.
	if as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" start >/dev/null 2>&1; then
		say "postgres: started cluster $ver/$PG_CLUSTER"
	elif ! pg_cluster_online "$ver"; then
		die "postgres: could not start cluster $ver/$PG_CLUSTER; $(pg_log_hint "$ver")"
	fi
}

pg_install() {
	say "postgres: not installed, installing postgresql with apt-get"
	apt_install postgresql postgresql-client
	local ver
	ver="$(pg_cluster_version)"
	if [[ -z "$ver" ]]; then
		# createcluster.conf may turn off the automatic main cluster.
		ver="$(for d in /usr/lib/postgresql/*/bin/postgres; do
			if [[ -x "$d" ]]; then basename "$(dirname "$(dirname "$d")")"; fi
		done | sort -V | tail -n 1)"
		[[ -n "$ver" ]] || die "postgres: installed, but no server version found under /usr/lib/postgresql"
		as_root pg_createcluster "$ver" "$PG_CLUSTER" >/dev/null || die "postgres: pg_createcluster $ver $PG_CLUSTER failed"
		say "postgres: created cluster $ver/$PG_CLUSTER"
	fi
	say "postgres: installed PostgreSQL $ver"
	pg_configure_local "$ver"
	pg_trust_local "$ver"
	# The package may have started the cluster with its default settings;
	# restart it so the port and listen address above apply.
	if pg_cluster_online "$ver"; then
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" restart >/dev/null ||
			die "postgres: restarting cluster $ver/$PG_CLUSTER failed; $(pg_log_hint "$ver")"
		say "postgres: restarted cluster $ver/$PG_CLUSTER"
	else
		pg_start_cluster "$ver"
	fi
}

ensure_postgres() {
	is_port "$PG_PORT" || die "AVIS_PG_PORT=$PG_PORT is not a port number"
	if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
		say "postgres: client tools missing, installing postgresql-client"
		apt_install postgresql-client
	fi

	local ver=""
	if pg_ready; then
		say "postgres: reachable at $PG_HOST:$PG_PORT"
	else
		is_local "$PG_HOST" || die "postgres: nothing answers at $PG_HOST:$PG_PORT, and this script only starts local servers"
		ver="$(pg_cluster_version)"
		if [[ -n "$ver" ]]; then
			pg_start_cluster "$ver"
		else
			pg_install
			ver="$(pg_cluster_version)"
		fi
		wait_for pg_ready || die "postgres: not ready at $PG_HOST:$PG_PORT after ${WAIT_SECONDS}s; $(pg_log_hint "$ver")"
		say "postgres: ready at $PG_HOST:$PG_PORT"
	fi

	if ! pg_can_connect; then
		is_local "$PG_HOST" || die "postgres: cannot connect to $PG_HOST:$PG_PORT as postgres without a password"
		[[ -n "$ver" ]] || ver="$(pg_cluster_version)"
		[[ -n "$ver" ]] || die "postgres: cannot connect as postgres, and no local cluster $PG_CLUSTER to configure"
		pg_trust_local "$ver"
		wait_for pg_can_connect || die "postgres: still cannot connect to $PG_HOST:$PG_PORT as postgres; check pg_hba.conf of cluster $ver/$PG_CLUSTER"
	fi
	say "postgres: connected as postgres"

	if [[ "$(pg_psql -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'root'")" == 1 ]]; then
		say "postgres: role root exists"
	else
		# Another run may create it between the check and here.
		pg_psql -c 'CREATE ROLE root SUPERUSER LOGIN' >/dev/null 2>&1 ||
			[[ "$(pg_psql -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'root'")" == 1 ]] ||
			die "postgres: could not create role root"
		say "postgres: created role root (superuser)"
	fi
}

ensure_database() {
	[[ "$DB_NAME" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] ||
		die "AVIS_DB_NAME=$DB_NAME is not a plain identifier (letters, digits, underscore; at most 63)"
	if [[ "$(pg_psql -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" == 1 ]]; then
		say "database $DB_NAME: exists"
		return
	fi
	if pg_psql -c "CREATE DATABASE \"$DB_NAME\" OWNER postgres" >/dev/null 2>&1; then
		say "database $DB_NAME: created"
	elif [[ "$(pg_psql -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" == 1 ]]; then
		say "database $DB_NAME: exists"
	else
		die "could not create database $DB_NAME on $PG_HOST:$PG_PORT"
	fi
}

# --------------------------------------------------------------------- Redis

# redis_ping prints what the server answers to PING (empty when nothing answers).
redis_ping() { timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true; }
redis_ready() { [[ "$(redis_ping)" == PONG ]]; }

REDIS_LOG="${TMPDIR:-/tmp}/avis-redis-$REDIS_PORT.log"

# redis_start launches a daemon; with --daemonize it returns before binding,
# so success is decided by the wait that follows.
redis_start() {
	# No persistence: this Redis is a cache for tests and local runs. The
	# daemon must not inherit the lock descriptor (see as_root). "-::1"
	# binds IPv6 loopback only where it exists.
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
		--logfile "$REDIS_LOG" >/dev/null 2>&1 9>&- ||
		say "redis: redis-server exited with an error, waiting in case another run started it"
}

ensure_redis() {
	is_port "$REDIS_PORT" || die "AVIS_REDIS_ADDR=$REDIS_ADDR has no valid port"
	if ! command -v redis-cli >/dev/null 2>&1; then
		say "redis: redis-cli missing, installing redis-tools"
		apt_install redis-tools
	fi

	local answer
	answer="$(redis_ping)"
	if [[ "$answer" == PONG ]]; then
		say "redis: reachable at $REDIS_HOST:$REDIS_PORT"
		return
	fi
	if [[ "$answer" == LOADING* ]]; then
		wait_for redis_ready || die "redis: still loading its data at $REDIS_HOST:$REDIS_PORT after ${WAIT_SECONDS}s"
		say "redis: reachable at $REDIS_HOST:$REDIS_PORT"
		return
	fi
	[[ -z "$answer" ]] || die "redis: a server answers at $REDIS_HOST:$REDIS_PORT but PING returned: $answer"
	is_local "$REDIS_HOST" || die "redis: nothing answers at $REDIS_HOST:$REDIS_PORT, and this script only starts local servers"
	if ! command -v redis-server >/dev/null 2>&1; then
		say "redis: not installed, installing redis-server with apt-get"
		apt_install redis-server
		# The package may start its own service; use it if it answers.
		if redis_ready; then
			say "redis: reachable at $REDIS_HOST:$REDIS_PORT"
			return
		fi
	fi
	redis_start
	wait_for redis_ready || die "redis: no PONG from $REDIS_HOST:$REDIS_PORT after ${WAIT_SECONDS}s; see $REDIS_LOG"
	say "redis: started at $REDIS_HOST:$REDIS_PORT (log $REDIS_LOG)"
}

# ---------------------------------------------------------------------- main

main() {
	[[ "$WAIT_SECONDS" =~ ^[0-9]+$ ]] || die "AVIS_SERVICES_WAIT=$WAIT_SECONDS is not a number of seconds"
	# Serialise concurrent runs (make -j) so they do not race to install or start.
	if command -v flock >/dev/null 2>&1; then
		local lock
		lock="${TMPDIR:-/tmp}/avis-services.$(id -u).lock"
		exec 9>"$lock" || die "cannot open lock file $lock"
		flock -w $((WAIT_SECONDS * 5 + 600)) 9 || die "another services.sh run holds $lock"
	fi
	ensure_postgres
	ensure_database
	ensure_redis
	say "services: ready"
}

# Sourcing the script (for tests) defines the functions without running them.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	main "$@"
fi
