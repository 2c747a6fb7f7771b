"""The production topology without Docker, under a bounded load.

Two gunicorn web processes, two RQ workers and one `rq cron`, a real Redis and a real SMTP
server on loopback, on the suite's database (PostgreSQL in the PostgreSQL run). For 30
seconds clients use the portal and complete tasks while nudges come due. Then: no 5xx, every
completed task is stored, and every reminder that came due arrived exactly once.
"""

import re
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import FollowUpTask, OutboxMessage
from tests.conftest import PASSWORD
from tests.factories import interview_for
from tests.reliability.conftest import BIN, ROOT, daytime_zone, free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.service]

CLIENTS = 12
LOAD_SECONDS = 30
REQUEST_BUDGET = 4000  # bounded: the load stops at 30 s or this many requests, first reached


def start_web(env: dict, logdir) -> tuple[subprocess.Popen, str]:
    """One gunicorn process (2 workers) on a free loopback port."""
    port = free_port()
    log = open(logdir / f"web-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "coach_app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"gunicorn on {port} did not start")


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


class Load:
    """Signed-in clients working through the portal, spread over both web processes."""

    def __init__(self, bases: list[str], people: list[dict], deadline: float):
        self.bases, self.people, self.deadline = bases, people, deadline
        self.lock = threading.Lock()
        self.statuses: list[int] = []
        self.completed: set[int] = set()
        self.requests = 0

    def _budget_left(self) -> bool:
        with self.lock:
            self.requests += 1
            return self.requests <= REQUEST_BUDGET and time.monotonic() < self.deadline

    def _record(self, status: int) -> None:
        with self.lock:
            self.statuses.append(status)

    def run_client(self, index: int) -> None:
        person = self.people[index]
        base = self.bases[index % len(self.bases)]
        session = requests.Session()
        page = session.get(base + "/auth/login", timeout=10)
        self._record(page.status_code)
        signed_in = session.post(
            base + "/auth/login",
            data={
                "email": person["email"],
                "password": PASSWORD,
                "csrf_token": csrf_token(page.text),
            },
            allow_redirects=False,
            timeout=10,
        )
        self._record(signed_in.status_code)
        pending = list(person["notes_tasks"])
        while self._budget_left():
            home = session.get(base + "/me/", timeout=10)
            self._record(home.status_code)
            if pending and self._budget_left():
                task_id = pending.pop()
                form = session.get(f"{base}/me/tasks/{task_id}", timeout=10)
                self._record(form.status_code)
                done = session.post(
                    f"{base}/me/tasks/{task_id}/complete",
                    data={"notes": "Cares about sailing.", "csrf_token": csrf_token(form.text)},
                    allow_redirects=False,
                    timeout=10,
                )
                self._record(done.status_code)
                if done.status_code == 302:
                    with self.lock:
                        self.completed.add(task_id)


def test_topology_under_load_loses_and_doubles_nothing(
    app, world, smtp_sink, shared_redis, worker_env, processes, tmp_path
):
    tz = daytime_zone()
    now = datetime.now(UTC)
    people = []
    for n in range(CLIENTS):
        user, profile = world.client_of(world.coach, f"load{n}@acme.example", f"Load {n}", tz)
        db.session.commit()
        # Two interviews each: one whose nudges are due now, one whose nudges come due
        # during the load (interview end + 2 h falls inside the next 30 seconds).
        earlier = interview_for(
            profile, user, start_at=now - timedelta(hours=3, minutes=5), company=f"Early {n}"
        )
        later = interview_for(
            profile,
            user,
            company=f"Late {n}",
            start_at=now - timedelta(hours=3) + timedelta(seconds=5 + 2 * n),
        )
        notes = [
            t.id
            for t in db.session.scalars(
                select(FollowUpTask).where(
                    FollowUpTask.interview_id.in_([earlier.id, later.id]),
                    FollowUpTask.rule == "notes",
                )
            )
        ]
        people.append({"email": user.email, "notes_tasks": notes})

    env = worker_env(shared_redis)
    procs = processes(env)
    procs.worker()
    procs.worker()
    procs.cron()
    webs = [start_web(env, tmp_path) for _ in range(2)]
    try:
        load = Load([base for _p, base in webs], people, time.monotonic() + LOAD_SECONDS)
        threads = [threading.Thread(target=load.run_client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=LOAD_SECONDS + 60)
    finally:
        for process, _base in webs:
            process.terminate()
            process.wait(timeout=20)

    assert load.statuses, "the load sent no request"
    assert not [s for s in load.statuses if s >= 500], "server errors under load"
    assert load.completed, "no task was completed under load"

    end = datetime.now(UTC)
    db.session.expire_all()

    def due_rows():
        return db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.due_at <= end, OutboxMessage.task_id.is_not(None)
            )
        ).all()

    def settled():
        db.session.expire_all()
        return all(r.status in ("sent", "cancelled") for r in due_rows())

    wait_for(settled, 90, "every due reminder to be sent or cancelled", procs)

    # No lost writes: every completion the portal confirmed is stored.
    stored = set(
        db.session.scalars(
            select(FollowUpTask.id).where(
                FollowUpTask.id.in_(load.completed), FollowUpTask.completed_at.is_not(None)
            )
        )
    )
    assert stored == load.completed

    # Every reminder that went out arrived once; nothing cancelled arrived at all.
    arrived = smtp_sink.ids()
    sent = {r.id for r in due_rows() if r.status == "sent" and r.channel != "in_app"}
    cancelled = {r.id for r in due_rows() if r.status == "cancelled"}
    assert sent, "no reminder came due during the run"
    assert {i: c for i, c in arrived.items() if c > 1} == {}
    assert sent <= set(arrived)
    assert not cancelled & set(arrived)
