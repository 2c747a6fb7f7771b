"""1,000 due reminders across 200 clients, two worker processes and two sweeps at once:
every reminder arrives exactly once (checked by outbox id: one email may carry several)."""

import time

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import Notification, OutboxMessage
from tests.reliability.conftest import (
    daytime_zone,
    make_clients,
    make_reminders,
    status_counts,
    wait_for,
)
from workers.jobs import sweep_outbox
from workers.queues import get_queue

pytestmark = [pytest.mark.slow, pytest.mark.service]


def test_a_thousand_reminders_two_workers_two_sweeps_exactly_once(
    app, world, smtp_sink, shared_redis, worker_env, processes
):
    clients = make_clients(world, 200, daytime_zone())
    # Per client: three reminders far apart (three emails) and two 4 minutes apart (one).
    ids = make_reminders(world, clients, minutes_ago=[60, 40, 20, 5, 1])
    assert len(ids) == 1000
    # Small claims, so many sweeps overlap; each sweep also re-checks stale claims.
    env = worker_env(shared_redis, SWEEP_CLAIM_LIMIT=150, OUTBOX_BATCH_SIZE=50)
    procs = processes(env)
    queue = get_queue(app)
    # Two sweeps waiting before any worker starts: the two workers run them at the same time.
    queue.enqueue(sweep_outbox)
    queue.enqueue(sweep_outbox)
    procs.worker()
    procs.worker()
    procs.cron()
    procs.cron()  # a second scheduler by mistake: its sweeps must be harmless too

    wait_for(lambda: status_counts().get("sent", 0) == 1000, 120, "1,000 rows sent", procs)
    time.sleep(1.5)  # let any straggling sweep or job finish before counting

    received = smtp_sink.ids()
    assert set(received) == set(ids)
    assert max(received.values()) == 1, [i for i, n in received.items() if n > 1][:10]
    assert smtp_sink.count() == 800  # the two reminders 4 minutes apart went as one email
    assert status_counts() == {"sent": 1000}
    attempts = db.session.execute(
        select(func.min(OutboxMessage.attempts), func.max(OutboxMessage.attempts)).where(
            OutboxMessage.task_id.is_not(None)
        )
    ).one()
    assert tuple(attempts) == (1, 1)
    notifications = db.session.scalar(select(func.count(func.distinct(Notification.outbox_id))))
    assert notifications == db.session.scalar(select(func.count(Notification.id))) == 1000
    last = queue.connection.get(app.config["RQ_QUEUE_PREFIX"] + ":last-sweep")
    assert last is not None  # written by the sweeps `rq cron` scheduled
