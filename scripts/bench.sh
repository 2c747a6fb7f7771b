#!/usr/bin/env bash
# Every benchmark, on SQLite and PostgreSQL, at 1k, 10k and 100k clients (about 30-40 minutes
# on a 2-core machine). Results: benchmarks/results/*.json and a markdown table on stdout.
# Usage: scripts/bench.sh [scales] [--engines sqlite,postgresql]
#   scripts/bench.sh 1000,10000
#   scripts/bench.sh 1000000 --engines postgresql   # the opt-in 1M run: see docs/benchmarks.md
#                                                   # for the disk and time it needs
# Scales other than the default write their own result files (postgresql-1000000.json), so
# the 1M run does not overwrite the 1k-100k results.
set -euo pipefail
cd "$(dirname "$0")/.."
default_scales=1000,10000,100000
scales=$default_scales
engines=sqlite,postgresql
while [ $# -gt 0 ]; do
  case "$1" in
    --engines) engines=${2:?--engines needs a list, e.g. postgresql}; shift 2 ;;
    --engines=*) engines=${1#--engines=}; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) scales=$1; shift ;;
  esac
done
for engine in ${engines//,/ }; do
  case "$engine" in sqlite|postgresql) ;; *) echo "unknown engine: $engine" >&2; exit 2 ;; esac
done
[[ $scales =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "scales must be numbers: $scales" >&2; exit 2; }
suffix=""
[ "$scales" = "$default_scales" ] || suffix="-${scales//,/-}"

scripts/bootstrap.sh --with-browser
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
source scripts/services.sh
work=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/followthrough-bench.XXXXXX")
chmod 755 "$work"
pg_port=${BENCH_PG_PORT:-5441}
trap 'stop_postgres "$work/pg"; rm -rf "$work"' EXIT
mkdir -p benchmarks/results
results=()
if [[ ",$engines," == *,sqlite,* ]]; then
  .venv/bin/python -m benchmarks.run --scales "$scales" --engines sqlite \
    --out "benchmarks/results/sqlite$suffix.json" >/dev/null
  results+=("benchmarks/results/sqlite$suffix.json")
fi
if [[ ",$engines," == *,postgresql,* ]]; then
  # The cluster lives under $work (BENCH_TMPDIR to put it on a larger disk: 1M needs about 35 GB).
  start_postgres "$pg_port" "$work/pg"
  .venv/bin/python -m benchmarks.run --scales "$scales" --engines postgresql \
    --pg-url "postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres" \
    --out "benchmarks/results/postgresql$suffix.json" >/dev/null
  results+=("benchmarks/results/postgresql$suffix.json")
fi
.venv/bin/python -m benchmarks.report "${results[@]}"
