"""`python -m workers.scheduler --url $REDIS_URL`: RQ's cron scheduler, riding out Redis outages.

`rq cron workers/cron.py` exits at the first Redis error (RQ's CronScheduler.start() lets it
propagate), so a Redis restart stopped every scheduled job until someone restarted the cron.
This runs the same scheduler with the same schedule (workers/cron.py) and, when Redis goes
away, waits for it (1, 2, 4 ... 30 s between tries) and starts the scheduler again on the same
instance: each job keeps its next run time, so what fell due during the outage is enqueued as
soon as Redis answers, once. SIGINT/SIGTERM stop it cleanly (exit status 0).
"""

import argparse
import logging
import os
import sys
import time

from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

log = logging.getLogger("workers.scheduler")
MAX_DELAY = 30


def wait_for_redis(connection: Redis, delay: float) -> None:
    """Sleep with a doubling delay (at most MAX_DELAY) until Redis answers a PING."""
    while True:
        time.sleep(delay)
        try:
            connection.ping()
            return
        except RedisError:
            delay = min(delay * 2, MAX_DELAY)


def run(scheduler: CronScheduler) -> int:
    """Run `scheduler` until asked to stop, starting it again after each Redis outage."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            scheduler.start()  # returns after SIGINT/SIGTERM (it handles them itself)
            return 0
        except RedisError as error:
            log.warning("Redis unreachable (%s); scheduling again once it answers", error)
        except (StopRequested, KeyboardInterrupt):
            return 0
        # A run that lasted a minute was not part of the same outage: start from 1 s again.
        delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, MAX_DELAY)
        try:
            wait_for_redis(scheduler.connection, delay)
        except (StopRequested, KeyboardInterrupt):
            return 0
        log.warning("Redis answers again; the scheduler starts again")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load the schedule and run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--config", default="workers/cron.py", help="the schedule (rq cron's)")
    parser.add_argument("--logging-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.logging_level.upper(), format="%(asctime)s %(name)s: %(message)s"
    )
    connection = Redis.from_url(args.url, socket_connect_timeout=2, socket_timeout=5)
    scheduler = CronScheduler(connection=connection, logging_level=args.logging_level.upper())
    scheduler.load_config_from_file(args.config)
    return run(scheduler)


if __name__ == "__main__":
    sys.exit(main())
