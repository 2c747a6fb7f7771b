"""The SMTP server refusing mail (451) for a while: retries with backoff, then each message
is delivered once the server accepts, with no duplicates."""

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


def test_refusals_are_retried_with_backoff_then_delivered_once(
    app, world, smtp_sink, shared_redis, worker_env, processes
):
    clients = make_clients(world, 30, daytime_zone())
    ids = make_reminders(world, clients, minutes_ago=[30, 1])
    smtp_sink.refuse_for = 4  # "451 try again later" for 4 seconds from the first attempt
    # Backoff 1, 2, 4, 8 s; enough attempts to outlast the refusals.
    procs = processes(worker_env(shared_redis, OUTBOX_MAX_ATTEMPTS=8))
    procs.worker()
    procs.cron()

    wait_for(lambda: status_counts().get("sent", 0) == len(ids), 60, "all rows sent", procs)
    time.sleep(1)

    received = smtp_sink.ids()
    assert set(received) == set(ids) and max(received.values()) == 1
    assert smtp_sink.refused > 0
    db.session.rollback()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
    retried = [r for r in rows if r.attempts > 1]
    assert retried, "the refusals should have cost attempts"
    assert all("451" in r.last_error for r in retried)
    assert all(r.status == "sent" and r.sent_at is not None for r in rows)
    # Exponential: waits of 1, 2, 4 s (plus up to a sweep interval each) outlast 4 s of
    # refusals within a handful of attempts; linear or no backoff would need many more.
    assert max(r.attempts for r in rows) <= 5
