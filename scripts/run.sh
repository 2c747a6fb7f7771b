#!/usr/bin/env bash
# Run the product on this machine: local Redis, SQLite, demo data, web + worker + cron.
#
# PORT (5000) and REDIS_URL (redis://127.0.0.1:6379/0) choose where it listens and which
# Redis it uses; a redis-server is started on REDIS_URL's port only when none answers there,
# and only that one is stopped again. Ctrl+C (or SIGTERM) stops everything started here.
# Logs are one readable line per event (LOG_JSON=true gives production's JSON lines);
# reminder emails are printed as framed blocks headed "EMAIL".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

export FLASK_APP=coach_app
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export PORT=${PORT:-5000}
export BASE_URL=${BASE_URL:-http://127.0.0.1:$PORT}
export LOG_JSON=${LOG_JSON:-false}
# Python's output unbuffered, so log lines and emails appear in the order they happen.
export PYTHONUNBUFFERED=1
mkdir -p instance/run

pids=()
redis_pidfile=
stopping=

say() { printf '%s run.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
  trap - EXIT INT TERM
  stopping=1
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  if [ -n "$redis_pidfile" ] && [ -f "$redis_pidfile" ]; then
    local pid
    pid=$(cat "$redis_pidfile")
    # Only the redis-server this script started (the pid file is ours; check the name too).
    if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "redis-server" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      say "stopped the redis-server it had started (pid $pid)"
    fi
  fi
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

redis_up() {
  .venv/bin/python -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL'], socket_connect_timeout=1).ping()" 2>/dev/null
}

if ! redis_up; then
  # Start it on the port REDIS_URL names, so the web, worker and cron find it.
  redis_port=$(.venv/bin/python -c "import os; from urllib.parse import urlparse; print(urlparse(os.environ['REDIS_URL']).port or 6379)")
  redis_pidfile="$PWD/instance/run/redis-$redis_port.pid"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir instance/run --daemonize yes \
    --pidfile "$redis_pidfile" --logfile "$PWD/instance/run/redis-$redis_port.log"
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  say "started redis-server on port $redis_port (stopped again on exit)"
fi

.venv/bin/flask db upgrade
.venv/bin/flask demo --if-empty
# An old demo is moved forward to today (whole days; nothing happens the same day).
.venv/bin/flask demo --refresh

# Keep a process running: whenever it exits (a worker quits on a Redis timeout, with status
# 0 or 1), start it again after 1, 2, 4 ... up to 30 seconds and once Redis answers; a run
# that lasted a minute resets the wait. Only this script's TERM (Ctrl+C, or TERM to the
# script) stops the supervision: a child exiting on its own never ends the run.
supervise() {
  local name=$1 delay=1 started status child=
  shift
  # Stopped by cleanup: the running child (the process, or the sleep before its restart) too.
  # (SIGINT cannot be trapped here: background jobs of a script ignore it; the processes
  # themselves handle Ctrl+C.)
  trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM
  while true; do
    started=$SECONDS
    "$@" &
    child=$!
    status=0
    wait "$child" || status=$?
    if [ $((SECONDS - started)) -ge 60 ]; then delay=1; fi
    say "$name exited (status $status); starting it again in ${delay}s, once Redis answers"
    # Each failed start prints a traceback: wait for Redis first, keeping the same backoff.
    while true; do
      sleep "$delay" &
      child=$!
      wait "$child" || true
      delay=$((delay * 2 > 30 ? 30 : delay * 2))
      redis_up && break
    done
  done
}

queue="${RQ_QUEUE_PREFIX:-followthrough}-default"
supervise worker .venv/bin/rq worker --with-scheduler --worker-class workers.worker.WarmWorker \
  --url "$REDIS_URL" --logging_level WARNING "$queue" &
pids+=($!)
supervise cron .venv/bin/python -m workers.scheduler --url "$REDIS_URL" --logging-level WARNING &
pids+=($!)
.venv/bin/gunicorn --workers 2 --bind "127.0.0.1:$PORT" --log-level warning "coach_app:create_app()" &
pids+=($!)

sleep 2
cat <<MSG

Followthrough is running at $BASE_URL
Demo logins (password: followthrough-demo):
  admin      admin@demo.example.com
  coach      coach1@demo.example.com
  client     client1@demo.example.com
  organizer  organizer1@demo.example.com
Reminder emails are printed below as blocks headed "EMAIL". Press Ctrl+C to stop.

MSG
# The run ends when web stops (say, its port is taken), or on Ctrl+C / TERM; the worker and
# the cron are restarted by their supervisors, so they never end it.
wait -n "${pids[@]}" || true
