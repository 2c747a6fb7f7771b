"""Redis connections and RQ queues, configured from the Flask app's settings."""

from datetime import datetime
from functools import cache

from redis import Redis
from rq import Queue, Worker
from rq.job import Job

from workers.app import job_meta

DEFAULT_QUEUE = "default"
DEFAULT_PREFIX = "followthrough"


def queue_name(prefix: str, name: str = DEFAULT_QUEUE) -> str:
    """The RQ queue name for a deployment prefix ("followthrough-default")."""
    return f"{prefix}-{name}"


def last_sweep_key(prefix: str) -> str:
    """The Redis key where each sweep writes the time it ran."""
    return f"{prefix}:last-sweep"


@cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection(app) -> Redis:
    """The shared Redis client for this app's REDIS_URL."""
    return _redis(app.config["REDIS_URL"])


def get_queue(app, name: str = DEFAULT_QUEUE) -> Queue:
    """The named RQ queue, prefixed so several deployments can share one Redis."""
    return Queue(queue_name(app.config["RQ_QUEUE_PREFIX"], name), connection=redis_connection(app))


def enqueue_sweep(app) -> None:
    """Ask a worker to run the sweep soon (deduplicated: at most one waiting at a time)."""
    from workers.jobs import sweep_outbox

    queue = get_queue(app)
    # A fixed job id: many requests in one second leave one queued sweep, not hundreds.
    job = queue.fetch_job("sweep-outbox-soon")
    if job is not None and job.get_status(refresh=False) in ("queued", "scheduled"):
        return
    queue.enqueue(
        sweep_outbox, job_id="sweep-outbox-soon", result_ttl=0, failure_ttl=3600, meta=job_meta()
    )


def overview(app, failed_jobs: int = 10) -> dict:
    """Queue lengths, workers, failed jobs and the last sweep (raises RedisError when down)."""
    connection = redis_connection(app)
    connection.ping()
    queue = get_queue(app)
    failed = queue.failed_job_registry
    recent = []
    ids = failed.get_job_ids(0, failed_jobs - 1, desc=True)
    for job in Job.fetch_many(ids, connection=connection):
        if job is None:
            continue
        # Only the exception's type: messages can carry addresses of other organisations.
        error = (job.exc_info or "").strip().splitlines()
        recent.append(
            {
                "id": job.id,
                "function": job.func_name.rsplit(".", 1)[-1],
                "ended_at": job.ended_at,
                "error": error[-1].split(":", 1)[0] if error else "",
            }
        )
    raw = connection.get(last_sweep_key(app.config["RQ_QUEUE_PREFIX"]))
    return {
        "queue": queue.name,
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "failed": failed.count,
        "workers": Worker.count(connection=connection, queue=queue),
        "last_sweep": datetime.fromisoformat(raw.decode()) if raw else None,
        "failed_jobs": recent,
    }
