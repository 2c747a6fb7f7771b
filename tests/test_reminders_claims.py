"""Releasing claims (workers/claims.py): a lapsed lease is not enough on its own; RQ must have
no live job for the claim. Real Redis (TEST_REDIS_URL), real RQ jobs and worker records."""

from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.worker import Worker
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import OutboxMessage
from coach_app.services.outbox import queue_email
from tests.conftest import service_unavailable
from workers import claims, delivery
from workers.jobs import deliver_batch, enqueue_deliveries
from workers.queues import get_queue, redis_connection

NOW = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)


@pytest.fixture
def redis_app(app):
    try:
        Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1).ping()
    except RedisConnectionError:
        service_unavailable(f"no redis-server at {app.config['REDIS_URL']}")
    redis_connection(app).flushdb()
    app.config.update(OUTBOX_CLAIM_TIMEOUT_SECONDS=45, OUTBOX_BATCH_SIZE=1)
    return app


def claim_three(app, world) -> list[tuple[str, list[int]]]:
    """Three invitations due, claimed as three batches (one per delivery job)."""
    for n in range(3):
        person = world.user("client", f"claim{n}@acme.example", f"Claim {n}")
        queue_email(
            dedupe_key=f"test:claim:{n}",
            organization_id=world.org.id,
            recipient=person,
            kind="invitation",
            subject="Welcome",
            body_text="Hello",
            due_at=NOW - timedelta(minutes=1),
        )
    db.session.commit()
    return delivery.claim_batches(NOW, config=app.config)


def statuses(tokens) -> dict[str, str]:
    db.session.rollback()
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claim_token)
    ).all()
    return {token: next(r.status for r in rows if r.claim_token == token) for token in tokens}


def test_release_needs_a_lapsed_lease_and_no_live_job(redis_app, world):
    batches = claim_three(redis_app, world)
    assert [len(ids) for _t, ids in batches] == [1, 1, 1]
    enqueue_deliveries(redis_app, batches[:2])  # the third batch's job is lost (Redis wiped)
    (queued, _), (started, _), (lost, lost_ids) = batches
    connection = redis_connection(redis_app)
    # The second job was started by a worker that then died: registered, heartbeat stale.
    worker = Worker([get_queue(redis_app)], connection=connection, name="dead-worker")
    worker.register_birth()
    job = get_queue(redis_app).fetch_job(claims.job_id(started))
    job.worker_name = worker.name
    job.set_status("started")
    job.save()
    holders = claims.rq_holders(connection)

    # Lease not lapsed: nothing is released, whatever RQ says.
    assert (
        delivery.release_stale_claims(NOW + timedelta(seconds=30), redis_app.config, holders) == 0
    )
    assert holders([queued, started, lost]) == {queued, started}  # fresh heartbeat: alive
    connection.hset(worker.key, "last_heartbeat", "2026-06-10T15:00:00.000000Z")
    assert holders([queued, started, lost]) == {queued}
    # Lease lapsed: the lost job's and the dead worker's claims go; the queued job keeps its own.
    later = NOW + timedelta(seconds=46)
    assert delivery.release_stale_claims(later, redis_app.config, holders) == 2
    db.session.rollback()
    rows = {r.id: r for r in db.session.scalars(select(OutboxMessage))}
    assert rows[lost_ids[0]].status == "pending" and rows[lost_ids[0]].attempts == 1
    assert statuses([queued]) == {queued: "claimed"}


def test_a_batch_whose_claim_was_released_sends_nothing(redis_app, world):
    from workers.mail import MemoryBackend

    MemoryBackend.reset()
    redis_app.config["MAIL_BACKEND"] = "memory"
    [(token, ids), *_rest] = claim_three(redis_app, world)
    assert delivery.release_stale_claims(NOW + timedelta(seconds=46), redis_app.config) == 3
    delivery.claim_batches(NOW + timedelta(seconds=47), config=redis_app.config)  # taken over
    # The old holder wakes up late: its renewal finds the rows gone and it stops, sending none.
    assert deliver_batch(ids, token, (NOW + timedelta(seconds=48)).isoformat())["emails"] == 0
    assert MemoryBackend.outbox == []
