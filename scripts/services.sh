#!/usr/bin/env bash
# Start throw-away Redis and PostgreSQL servers on loopback for the test suite.
# Usage: source scripts/services.sh; start_redis PORT DIR; start_postgres PORT DIR; stop_services
set -euo pipefail

start_redis() {
  local port=$1 dir=$2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis-server did not start on port $port" >&2
  return 1
}

start_postgres() {
  local port=$1 dir=$2 bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  # PostgreSQL refuses to run as root, so the cluster belongs to the postgres user.
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres "$dir"
  runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
  runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
  runuser -u postgres -- "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres followthrough_test
}

stop_postgres() {
  local dir=$1 bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -d "$dir/data" ] && runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
}

stop_redis() {
  local dir=$1
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
}
