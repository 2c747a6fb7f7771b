"""The sweep and delivery jobs on a real redis-server, run by an in-process RQ worker."""

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import OutboxMessage
from coach_app.services.accounts import invite_client
from tests.conftest import service_unavailable
from workers.mail import MemoryBackend
from workers.queues import get_queue, redis_connection


@pytest.fixture
def redis_app(app):
    try:
        Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1).ping()
    except RedisConnectionError:
        service_unavailable(f"no redis-server at {app.config['REDIS_URL']}")
    redis_connection(app).flushdb()
    MemoryBackend.outbox.clear()
    return app


def run_worker(app):
    queue = get_queue(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_invitation_is_delivered_by_the_sweep_exactly_once(redis_app, world):
    invite_client(coach=world.coach, email="nova@acme.example", name="Nova")
    db.session.commit()
    from workers.jobs import sweep_outbox

    get_queue(redis_app).enqueue(sweep_outbox)
    get_queue(redis_app).enqueue(sweep_outbox)  # a second sweep finds nothing left to claim
    run_worker(redis_app)
    assert [m["To"] for m in MemoryBackend.outbox] == ["nova@acme.example"]
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    # Running the delivery again (a retried job) sends nothing new.
    run_worker(redis_app)
    assert len(MemoryBackend.outbox) == 1
