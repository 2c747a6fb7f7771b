#!/usr/bin/env bash
# Every benchmark, on SQLite and PostgreSQL, at 1k, 10k and 100k clients (about 30-40 minutes
# on a 2-core machine). Results: benchmarks/results/*.json and a markdown table on stdout.
# Usage: scripts/bench.sh [scales]   e.g. scripts/bench.sh 1000,10000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --with-browser
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
source scripts/services.sh
scales=${1:-1000,10000,100000}
work=$(mktemp -d /tmp/followthrough-bench.XXXXXX)
chmod 755 "$work"
pg_port=${BENCH_PG_PORT:-5441}
trap 'stop_postgres "$work/pg"; rm -rf "$work"' EXIT
start_postgres "$pg_port" "$work/pg"
mkdir -p benchmarks/results
.venv/bin/python -m benchmarks.run --scales "$scales" --engines sqlite \
  --out benchmarks/results/sqlite.json >/dev/null
.venv/bin/python -m benchmarks.run --scales "$scales" --engines postgresql \
  --pg-url "postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres" \
  --out benchmarks/results/postgresql.json >/dev/null
.venv/bin/python -m benchmarks.report benchmarks/results/sqlite.json benchmarks/results/postgresql.json
