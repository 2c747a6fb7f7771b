"""Helpers shared by the reminder tests: a Redis-backed app, running sweeps in-process."""

import uuid
from datetime import datetime

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker

from tests.conftest import service_unavailable
from workers.mail import MemoryBackend
from workers.queues import get_queue


@pytest.fixture(name="redis_app")
def redis_app_fixture(app):
    """The test app on the test Redis, with a queue prefix of its own (no flushing)."""
    try:
        Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1).ping()
    except RedisError:
        service_unavailable(f"no redis-server at {app.config['REDIS_URL']}")
    app.config["RQ_QUEUE_PREFIX"] = f"ft-test-{uuid.uuid4().hex[:8]}"
    MemoryBackend.reset()
    yield app
    MemoryBackend.reset()
    get_queue(app).delete(delete_jobs=True)


def run_worker(app) -> None:
    """Run every queued job in this process (RQ's non-forking worker, burst mode)."""
    queue = get_queue(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def sweep_at(app, moment: datetime) -> None:
    """Enqueue one sweep with a moved clock and run it and the deliveries it enqueues."""
    from workers.jobs import sweep_outbox

    get_queue(app).enqueue(sweep_outbox, moment.isoformat())
    run_worker(app)
