"""The cron scheduler rides out a Redis outage: it keeps running while Redis is stopped, and
once Redis is back (empty) it schedules the sweep again, with no restart by anyone."""

import time

import pytest
from redis import Redis

from tests.reliability.conftest import wait_for
from workers.queues import last_sweep_key

pytestmark = [pytest.mark.slow, pytest.mark.service]


def test_the_cron_survives_a_redis_outage(app, own_redis, worker_env, processes):
    app.config["REDIS_URL"] = own_redis.url
    env = worker_env(own_redis.url)
    procs = processes(env)
    cron = procs.cron()
    procs.worker()
    redis = Redis.from_url(own_redis.url)
    key = last_sweep_key(env["RQ_QUEUE_PREFIX"])
    wait_for(lambda: redis.get(key) is not None, 90, "a first sweep", procs)

    own_redis.stop()
    time.sleep(6)  # a few scheduling rounds (sweeps every second) with Redis gone
    assert cron.poll() is None, "the cron exited during the outage\n" + procs.logs()

    own_redis.start()  # back, and empty (no persistence): nothing of before survives
    redis = Redis.from_url(own_redis.url)
    assert redis.get(key) is None
    procs.worker()  # the first worker gave up on Redis; a fresh one runs the sweeps
    wait_for(lambda: redis.get(key) is not None, 45, "a sweep scheduled after the outage", procs)
    assert cron.poll() is None
    log = "".join(p.read_text(errors="replace") for p in procs.logdir.glob("cron-*.log"))
    assert "scheduling again once it answers" in log
