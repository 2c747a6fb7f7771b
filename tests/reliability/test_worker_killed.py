"""A worker SIGKILLed in the middle of a batch: the sweep re-enqueues its stale claim and
every message arrives. A duplicate is possible only for the message the server had accepted
when the worker died, before the worker could mark it sent (docs/reminders.md)."""

import time

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import OutboxMessage
from tests.reliability.conftest import (
    daytime_zone,
    make_clients,
    make_reminders,
    status_counts,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.service]


def test_a_killed_worker_loses_nothing(app, world, smtp_sink, shared_redis, worker_env, processes):
    clients = make_clients(world, 40, daytime_zone())
    ids = make_reminders(world, clients, minutes_ago=[50, 30, 10])  # 120 separate emails
    smtp_sink.delay = 0.05  # a slow server: a batch of 30 takes a second and a half
    env = worker_env(shared_redis, OUTBOX_BATCH_SIZE=30, OUTBOX_CLAIM_TIMEOUT_SECONDS=3)
    procs = processes(env)
    victim = procs.worker()
    procs.cron()

    wait_for(lambda: smtp_sink.count() >= 10, 30, "the first emails", procs)
    procs.kill(victim)  # SIGKILL in the middle of a batch
    at_kill = smtp_sink.count()
    assert at_kill < len(ids)
    smtp_sink.delay = 0
    db.session.rollback()
    stuck = db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == "claimed")
    ).all()
    assert stuck, "the dead worker left claimed rows behind"

    procs.worker()  # a new worker; the cron sweep releases the stale claim after 3 s
    wait_for(lambda: status_counts().get("sent", 0) == len(ids), 60, "all rows sent", procs)
    time.sleep(1)

    received = smtp_sink.ids()
    assert set(received) == set(ids)
    duplicates = [i for i, n in received.items() if n > 1]
    # At most the one message in flight at the kill: accepted, not yet marked sent.
    assert len(duplicates) <= 1 and all(received[i] == 2 for i in duplicates)
    db.session.rollback()
    released = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(stuck))).all()
    assert all(r.status == "sent" for r in released)
    assert any("claim expired" in (r.last_error or "") for r in released)
