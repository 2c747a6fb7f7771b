"""Redis connections and RQ queues, configured from the Flask app's settings."""

from functools import cache

from redis import Redis
from rq import Queue

DEFAULT_QUEUE = "default"


@cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection(app) -> Redis:
    """The shared Redis client for this app's REDIS_URL."""
    return _redis(app.config["REDIS_URL"])


def get_queue(app, name: str = DEFAULT_QUEUE) -> Queue:
    """The named RQ queue, prefixed so several deployments can share one Redis."""
    return Queue(f"{app.config['RQ_QUEUE_PREFIX']}-{name}", connection=redis_connection(app))


def enqueue_sweep(app) -> None:
    """Ask a worker to run the sweep soon (deduplicated: at most one waiting at a time)."""
    from workers.jobs import sweep_outbox

    queue = get_queue(app)
    # A fixed job id: many requests in one second leave one queued sweep, not hundreds.
    job = queue.fetch_job("sweep-outbox-soon")
    if job is not None and job.get_status(refresh=False) in ("queued", "scheduled"):
        return
    queue.enqueue(sweep_outbox, job_id="sweep-outbox-soon", result_ttl=0, failure_ttl=3600)
