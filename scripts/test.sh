#!/usr/bin/env bash
# The whole test suite: lint, then every test on SQLite, then again on PostgreSQL,
# against a real redis-server, a real PostgreSQL and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --with-browser
source scripts/services.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .

work=$(mktemp -d /tmp/followthrough-test.XXXXXX)
chmod 755 "$work"
redis_port=${TEST_REDIS_PORT:-6390}
pg_port=${TEST_PG_PORT:-5439}
cleanup() { stop_redis "$work/redis"; stop_postgres "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
start_redis "$redis_port" "$work/redis"
start_postgres "$pg_port" "$work/pg"

export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export PLAYWRIGHT_BROWSERS_PATH=0

echo "== tests on SQLite =="
.venv/bin/python -m pytest --durations=15 "$@"

echo "== tests on PostgreSQL (browser tests ran above) =="
TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/followthrough_test" \
  .venv/bin/python -m pytest -m "not browser" --durations=15 "$@"
