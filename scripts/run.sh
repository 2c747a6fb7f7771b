#!/usr/bin/env bash
# Run the product on this machine: local Redis, SQLite, demo data, web + worker + cron.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

export FLASK_APP=coach_app
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export PORT=${PORT:-5000}
export BASE_URL=${BASE_URL:-http://127.0.0.1:$PORT}
mkdir -p instance/run

if ! .venv/bin/python -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  # Start it on the port REDIS_URL names, so the web, worker and cron find it.
  redis_port=$(.venv/bin/python -c "import os; from urllib.parse import urlparse; print(urlparse(os.environ['REDIS_URL']).port or 6379)")
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir instance/run --daemonize yes \
    --pidfile "$PWD/instance/run/redis.pid" --logfile "$PWD/instance/run/redis.log"
  sleep 0.5
fi

.venv/bin/flask db upgrade
.venv/bin/flask demo --if-empty

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

.venv/bin/rq worker --with-scheduler --worker-class workers.worker.WarmWorker --url "$REDIS_URL" \
  "${RQ_QUEUE_PREFIX:-followthrough}-default" &
pids+=($!)
.venv/bin/rq cron workers/cron.py --url "$REDIS_URL" &
pids+=($!)
.venv/bin/gunicorn --workers 2 --bind "127.0.0.1:$PORT" "coach_app:create_app()" &
pids+=($!)

sleep 2
cat <<MSG

Followthrough is running at $BASE_URL
Demo logins (password: followthrough-demo):
  admin      admin@demo.example.com
  coach      coach1@demo.example.com
  client     client1@demo.example.com
  organizer  organizer1@demo.example.com
Press Ctrl+C to stop.
MSG
wait -n "${pids[@]}"
