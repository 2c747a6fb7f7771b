"""Reminders on time under faults, full size (issue 15, point 7): one run, real processes.

    python -m benchmarks.reminder_faults [--reminders 600] [--spread 240]

600 task reminders come due over `--spread` seconds (one per client, in a daytime zone), two
forking workers (`WarmWorker`, as in production) and the cron (`python -m workers.scheduler`)
with production settings (sweep every 60 s, 45 s claim lease, claim check every 15 s), a real
redis-server of its own and an aiosmtpd server on loopback (each email takes 0.1 s). Faults
in turn: a worker SIGKILLed mid-batch and started again; Redis stopped 45 s and restarted empty;
SMTP refusing with 451 for 60 s; the cron SIGKILLed and started again. 30 tasks are completed
before their reminder is due. Prints lost, doubled, sent-for-completed, and lateness p50/p95/max.
Takes 8-12 minutes. SQLite by default; --database-url for PostgreSQL.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import ROOT, free_port, log

PY = sys.executable


class Sink:
    """SMTP handler: records outbox ids per message; refuses with 451 while `refusing`."""

    def __init__(self):
        self.ids: list[int] = []
        self.refusing = False
        self.delay = 0.1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusing:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(self.delay)
        head = envelope.content.decode("utf8", "replace").split("\r\n\r\n", 1)[0]
        for line in head.replace("\r\n ", " ").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "x-followthrough-ids":
                self.ids += [int(i) for i in value.strip().split(",")]
        return "250 OK"


def setup(database_url: str, reminders: int, spread: int) -> tuple[list[int], set[int]]:
    """Migrate, then clients with one open task and one reminder each, due over `spread` s."""
    from flask_migrate import upgrade

    from benchmarks.run import make_app

    app = make_app(database_url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    engine = create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    now = datetime.now(UTC)
    zone = next(
        ("Etc/GMT" if o == 0 else f"Etc/GMT{-o:+d}")
        for o in range(-10, 13)
        if 10 <= (now + timedelta(hours=o)).hour < 17
    )
    start = now + timedelta(seconds=60)

    def stamp(moment):
        return moment.replace(tzinfo=None).isoformat(" ") if sqlite else moment

    ids, completed = [], set()
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO organizations (id, name, timezone, is_synthetic, require_two_factor,"
                " created_at) VALUES (1, 'Faults', 'UTC', false, false, :now)"
            ),
            {"now": stamp(now)},
        )
        db.execute(
            text(
                "INSERT INTO users (id, organization_id, role, email, name, active, created_at)"
                " VALUES (1, 1, 'coach', 'coach@faults.example', 'Coach', true, :now)"
            ),
            {"now": stamp(now)},
        )
        for n in range(reminders):
            uid = n + 2
            due = start + timedelta(seconds=spread * n / reminders)
            db.execute(
                text(
                    "INSERT INTO users (id, organization_id, role, email, name, timezone, active,"
                    " created_at) VALUES (:id, 1, 'client', :email, :name, :tz, true, :now)"
                ),
                {"id": uid, "email": f"c{n}@faults.example", "name": f"C{n}", "tz": zone,
                 "now": stamp(now)},
            )  # fmt: skip
            db.execute(
                text(
                    "INSERT INTO client_profiles (id, user_id, organization_id, coach_id,"
                    " created_at) VALUES (:id, :id2, 1, 1, :now)"
                ),
                {"id": n + 1, "id2": uid, "now": stamp(now)},
            )
            db.execute(
                text(
                    "INSERT INTO opportunities (id, organization_id, client_id, company, role,"
                    " outcome, created_at) VALUES (:id, 1, :id, 'Co', 'Analyst', 'open', :now)"
                ),
                {"id": n + 1, "now": stamp(now)},
            )
            db.execute(
                text(
                    "INSERT INTO follow_up_tasks (id, key, rule, client_id, opportunity_id, due_at,"
                    " created_at, updated_at) VALUES (:id, :key, 'thank_you_note', :id, :id,"
                    " :due, :now, :now)"
                ),
                {"id": n + 1, "key": f"f:{n}", "due": stamp(now + timedelta(days=3)),
                 "now": stamp(now)},
            )  # fmt: skip
            row = db.execute(
                text(
                    "INSERT INTO outbox_messages (dedupe_key, organization_id, recipient_id,"
                    " to_email, kind, channel, task_id, subject, body_text, link, due_at, status,"
                    " attempts, created_at) VALUES (:key, 1, :uid, :email, 'due_morning', 'both',"
                    " :task, 'Due today', 'This is due today.', 'http://localhost/me/tasks/1',"
                    " :due, 'pending', 0, :now) RETURNING id"
                ),
                {"key": f"task:{n + 1}:due_morning", "uid": uid, "email": f"c{n}@faults.example",
                 "task": n + 1, "due": stamp(due), "now": stamp(now)},
            ).scalar_one()  # fmt: skip
            ids.append(row)
            if n % 20 == 7:
                completed.add(row)
    engine.dispose()
    return ids, completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=600)
    parser.add_argument("--spread", type=int, default=240)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    work = Path(tempfile.mkdtemp(prefix="ft-faults-"))
    url = args.database_url or f"sqlite:///{work}/faults.sqlite3"
    ids, completed = setup(url, args.reminders, args.spread)
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    redis_port = free_port()
    redis_cmd = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(work)]  # fmt: skip
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "MAIL_BACKEND": "smtp",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), "RQ_QUEUE_PREFIX": "faults"}  # fmt: skip
    logs = open(work / "processes.log", "wb")  # noqa: SIM115

    def spawn(*command):
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=logs, stderr=logs)

    def worker():
        return spawn(str(Path(PY).parent / "rq"), "worker", "--worker-class",
                     "workers.worker.WarmWorker", "--url", redis_url, "faults-default")  # fmt: skip

    workers = [worker(), worker()]
    cron = spawn(PY, "-m", "workers.scheduler", "--url", redis_url)
    engine = create_engine(url)
    started = time.monotonic()

    def at(seconds):
        time.sleep(max(0, started + seconds - time.monotonic()))

    def sent() -> int:
        with engine.connect() as db:
            return db.execute(
                text(
                    "SELECT count(*) FROM outbox_messages WHERE task_id IS NOT NULL"
                    " AND status IN ('sent', 'cancelled')"
                )
            ).scalar_one()

    with engine.begin() as db:  # completed in time: their reminders must never go out
        db.execute(
            text("UPDATE follow_up_tasks SET completed_at = :now WHERE id IN (SELECT task_id"
                 " FROM outbox_messages WHERE id IN (" + ",".join(map(str, completed)) + "))"),
            {"now": datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
             if engine.dialect.name == "sqlite" else datetime.now(UTC)},
        )  # fmt: skip
    at(60)
    # A worker killed with its work horse (as when its container dies) while it delivers.
    from redis import Redis
    from rq.worker import Worker

    busy = None
    while busy is None and time.monotonic() < started + 200:
        pids = {process.pid: n for n, process in enumerate(workers)}
        for rq_worker in Worker.all(connection=Redis.from_url(redis_url)):
            job = rq_worker.get_current_job_id() or ""
            if job.startswith("deliver-") and rq_worker.pid in pids:
                horses = subprocess.run(["pgrep", "-P", str(rq_worker.pid)], capture_output=True)
                busy = (pids[rq_worker.pid], [int(p) for p in horses.stdout.split()])
                break
        time.sleep(0.2)
    if busy is None:
        raise SystemExit("no worker was ever busy: the scenario did not run")
    number, horses = busy
    with engine.connect() as db:
        in_flight = db.execute(
            text("SELECT count(*) FROM outbox_messages WHERE status = 'claimed'")
        ).scalar_one()
    log(f"fault 1 at {time.monotonic() - started:.0f}s: a busy worker and its horse SIGKILLed "
        f"({in_flight} rows claimed), started again")  # fmt: skip
    for pid in [workers[number].pid, *horses]:
        os.kill(pid, signal.SIGKILL)
    workers[number].wait()
    workers[number] = worker()
    faults = {"killed_with_rows_claimed": in_flight}
    at(170)
    log("fault 2: Redis stopped for 45 s, restarted empty")
    redis.terminate()
    redis.wait()
    time.sleep(45)
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    at(250)
    log("fault 3: SMTP refusing for 60 s")
    sink.refusing = True
    time.sleep(60)
    sink.refusing = False
    at(320)
    log("fault 4: the cron SIGKILLed, started again")
    cron.send_signal(signal.SIGKILL)
    cron.wait()
    cron = spawn(PY, "-m", "workers.scheduler", "--url", redis_url)
    deadline = time.monotonic() + 900
    while sent() < len(ids) and time.monotonic() < deadline:
        time.sleep(2)
    time.sleep(3)
    with engine.connect() as db:
        rows = db.execute(
            text("SELECT id, status, due_at, sent_at FROM outbox_messages ORDER BY id")
        ).all()
    for process in [*workers, cron]:
        process.terminate()
    for process in [*workers, cron]:
        process.wait(timeout=30)
    redis.terminate()
    redis.wait()
    smtp.stop()

    def moment(value):
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    received = {}
    for i in sink.ids:
        received[i] = received.get(i, 0) + 1
    wanted = set(ids) - completed
    lateness = sorted(
        (moment(r.sent_at) - moment(r.due_at)).total_seconds()
        for r in rows
        if r.status == "sent" and r.id in wanted
    )

    def pct(p):
        return round(lateness[min(len(lateness) - 1, round(p * (len(lateness) - 1)))], 1)

    print(json.dumps({
        "reminders": len(ids),
        "completed_in_time": len(completed),
        "lost": len(wanted - set(received)),
        "doubled": sum(1 for n in received.values() if n > 1),
        "sent_for_completed": len(completed & set(received)),
        "statuses": {s: sum(1 for r in rows if r.status == s) for s in {r.status for r in rows}},
        **faults,
        "released_claims_logged": (work / "processes.log").read_text(errors="replace").count(
            "whose worker is gone"
        ),
        "lateness_p50_s": pct(0.5), "lateness_p95_s": pct(0.95), "lateness_max_s": pct(1.0),
        "logs": str(work / "processes.log"),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
