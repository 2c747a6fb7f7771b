"""Real processes for the reliability tests: RQ workers, `rq cron`, redis-server, SMTP.

The test process and the subprocesses share the database (the session's SQLite file, or
PostgreSQL through TEST_DATABASE_URL), the Redis server (TEST_REDIS_URL, or a dedicated
redis-server started here) and an aiosmtpd server on loopback that records every message it
accepts and can refuse with 451 for a while.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, insert, select

from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    FollowUpTask,
    Opportunity,
    OutboxMessage,
    Role,
    User,
)
from tests.conftest import service_unavailable
from workers.queues import get_queue, queue_name

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def daytime_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is now between 10:00 and 18:00 (no quiet hours in the way)."""
    now = now or datetime.now(UTC)
    for offset in range(-10, 13):
        if 10 <= (now + timedelta(hours=offset)).hour < 18:
            # POSIX sign convention: Etc/GMT-3 is three hours ahead of UTC.
            return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
    raise AssertionError("unreachable: some offset always has daytime")


def interview_start_four_hours_ago(now: datetime) -> datetime:
    """Four hours before `now`, on the hour: 06:00 local in `zone_where_it_is(10, now)`.

    Such an interview ends at 07:00, so the nudges of its same-day tasks (two hours after the
    end) fall at 09:00, the moment of the same tasks' due-morning reminders, and each pair
    coalesces into one row. With a start at 06:MM the nudges would land MM minutes after
    09:00, apart from the due-morning rows once MM reaches 10; and where it is 11:00 or later
    the 09:00 reminder would come after the interview's end instead of before it. Either way
    the number of rows would depend on the hour and minute the test runs at.
    """
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)


class Sink:
    """An SMTP handler that records accepted messages; it can refuse or slow down."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.refused = 0
        # Refuse for this many seconds from the first recipient offered (workers start slowly).
        self.refuse_for = 0.0
        self.refuse_from: float | None = None
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_for and self.refuse_from is None:
            self.refuse_from = time.monotonic()
        if self.refuse_for and time.monotonic() < self.refuse_from + self.refuse_for:
            with self.lock:
                self.refused += 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        text = envelope.content.decode("utf8", errors="replace")
        headers = text.split("\r\n\r\n", 1)[0].replace("\r\n ", " ")
        record = {"to": envelope.rcpt_tos, "ids": [], "message_id": None}
        for line in headers.split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "x-followthrough-ids":
                record["ids"] = [int(i) for i in value.strip().split(",")]
            elif name.lower() == "message-id":
                record["message_id"] = value.strip()
        with self.lock:
            self.messages.append(record)
        return "250 Message accepted for delivery"

    def ids(self) -> Counter:
        """How many times each outbox id arrived."""
        with self.lock:
            return Counter(i for m in self.messages for i in m["ids"])

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@pytest.fixture
def smtp_sink():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture
def shared_redis(app):
    """The test Redis (TEST_REDIS_URL), with a queue prefix no other test uses."""
    url = app.config["REDIS_URL"]
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisError:
        service_unavailable(f"no redis-server at {url}")
    app.config["RQ_QUEUE_PREFIX"] = f"ft-rel-{uuid.uuid4().hex[:8]}"
    yield url
    with contextlib.suppress(RedisError):
        get_queue(app).delete(delete_jobs=True)


class RedisServer:
    """A redis-server of our own, on its own port, that a test may stop and start again."""

    def __init__(self, workdir: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except RedisError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        service_unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Processes:
    """Start `rq worker` / `rq cron` subprocesses; stop exactly the ones started here."""

    def __init__(self, env: dict, logdir: Path):
        self.env = env
        self.logdir = logdir
        self.started: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str], command: list[str] | None = None):
        log = open(self.logdir / f"{name}-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [*(command or [str(BIN / "rq")]), *args], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        self.started.append(process)
        return process

    def worker(self, *, burst: bool = False) -> subprocess.Popen:
        """A non-forking RQ worker on the test's queue."""
        args = ["worker", "--url", self.env["REDIS_URL"]]
        args += ["--worker-class", "rq.worker.SimpleWorker", "--path", str(ROOT)]
        if burst:
            args.append("--burst")
        return self._spawn("worker", [*args, self.env["RQ_QUEUE"]])

    def cron(self) -> subprocess.Popen:
        """The cron scheduler, exactly as `make run` and docker-compose start it."""
        return self._spawn(
            "cron",
            ["-m", "workers.scheduler", "--url", self.env["REDIS_URL"]],
            command=[sys.executable],
        )

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"== {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logdir.glob("*.log"))
        )


@pytest.fixture
def worker_env(app, smtp_sink, database_url):
    """What a worker process needs to find the same database, Redis queue and SMTP server."""

    def build(redis_url: str, **overrides) -> dict:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OUTBOX_", "SWEEP_", "MAIL_"))
        }
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "RQ_QUEUE_PREFIX": app.config["RQ_QUEUE_PREFIX"],
                "RQ_QUEUE": queue_name(app.config["RQ_QUEUE_PREFIX"]),
                "SECRET_KEY": app.config["SECRET_KEY"],
                "BASE_URL": app.config["BASE_URL"],
                "MAIL_BACKEND": "smtp",
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp_sink.port),
                "MAIL_TIMEOUT": "10",
                "SWEEP_INTERVAL_SECONDS": "1",
                "OUTBOX_RETRY_BASE_SECONDS": "1",
                "LOG_LEVEL": "WARNING",
            }
        )
        env.update({key: str(value) for key, value in overrides.items()})
        return env

    return build


@pytest.fixture
def processes(app, tmp_path, request):
    """Subprocesses for one test, stopped before the app fixture cleans the database."""
    holder = {}

    def start(env: dict) -> Processes:
        holder["procs"] = Processes(env, tmp_path)
        return holder["procs"]

    yield start
    procs = holder.get("procs")
    if procs is not None:
        procs.stop_all()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(procs.logs())
    db.session.remove()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def wait_for(predicate, timeout: float, what: str, procs: Processes | None = None):
    """Poll until predicate() is true; fail with the workers' logs after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    logs = procs.logs() if procs else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")


def status_counts(*kinds: str) -> dict[str, int]:
    """Task reminder rows (or rows of these kinds) by status, read fresh from the database."""
    db.session.rollback()
    query = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
        OutboxMessage.status
    )
    if kinds:
        query = query.where(OutboxMessage.kind.in_(kinds))
    else:
        query = query.where(OutboxMessage.task_id.is_not(None))
    return dict(db.session.execute(query).all())


def make_clients(world, count: int, tz: str, prefix: str = "rel") -> list[tuple[int, int, int]]:
    """`count` clients of world.coach, bulk-inserted: [(user id, profile id, opportunity id)]."""
    now = datetime.now(UTC)
    user_ids = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [
            {
                "organization_id": world.org.id,
                "role": Role.CLIENT.value,
                "email": f"{prefix}{n}@clients.example",
                "name": f"Client {n}",
                "timezone": tz,
                "active": True,
                "created_at": now,
            }
            for n in range(count)
        ],
    ).all()
    profile_ids = db.session.scalars(
        insert(ClientProfile).returning(ClientProfile.id, sort_by_parameter_order=True),
        [
            {
                "user_id": uid,
                "organization_id": world.org.id,
                "coach_id": world.coach.id,
                "created_at": now,
            }
            for uid in user_ids
        ],
    ).all()
    opportunity_ids = db.session.scalars(
        insert(Opportunity).returning(Opportunity.id, sort_by_parameter_order=True),
        [
            {
                "organization_id": world.org.id,
                "client_id": pid,
                "company": f"Company {n}",
                "role": "Analyst",
                "outcome": "open",
                "created_at": now,
            }
            for n, pid in enumerate(profile_ids)
        ],
    ).all()
    db.session.commit()
    return list(zip(user_ids, profile_ids, opportunity_ids, strict=True))


def make_reminders(world, clients, minutes_ago: list[int], prefix: str = "rel") -> list[int]:
    """One open task per (client, offset) with a due reminder that many minutes ago."""
    now = datetime.now(UTC)
    tasks, rows = [], []
    for n, (_uid, pid, oid) in enumerate(clients):
        for j, _ in enumerate(minutes_ago):
            tasks.append(
                {
                    "key": f"{prefix}:{n}:{j}",
                    "rule": "thank_you_note",
                    "client_id": pid,
                    "opportunity_id": oid,
                    "due_at": now + timedelta(days=3),
                    "created_at": now,
                    "updated_at": now,
                }
            )
    task_ids = db.session.scalars(
        insert(FollowUpTask).returning(FollowUpTask.id, sort_by_parameter_order=True), tasks
    ).all()
    position = 0
    for n, (uid, _pid, _oid) in enumerate(clients):
        for ago in minutes_ago:
            task_id = task_ids[position]
            position += 1
            rows.append(
                {
                    "dedupe_key": f"task:{task_id}:due_morning",
                    "organization_id": world.org.id,
                    "recipient_id": uid,
                    "to_email": f"{prefix}{n}@clients.example",
                    "kind": "due_morning",
                    "channel": "both",
                    "task_id": task_id,
                    "subject": f"Due today for Company {n}: thank-you note",
                    "body_text": "This is due today.\n",
                    "link": f"http://localhost/me/tasks/{task_id}",
                    "due_at": now - timedelta(minutes=ago),
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    ids = db.session.scalars(
        insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.commit()
    return list(ids)
