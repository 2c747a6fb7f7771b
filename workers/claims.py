"""Claims in flight: which delivery job holds them, and releasing those of dead holders.

Every delivery job holds its own claim token (`<sweep token>-<n>`, job id `deliver-<token>`)
and renews the claim's lease (`claimed_at`) while it runs: at its start, then whenever the
lease is a quarter of OUTBOX_CLAIM_TIMEOUT_SECONDS old, before its next email. A claim is
released only when its holder is provably gone, both:

- its lease lapsed: `claimed_at` older than OUTBOX_CLAIM_TIMEOUT_SECONDS, so no batch has
  renewed it (a renewal that finds the claim gone stops the batch before it sends);
- RQ no longer has its job waiting or running on a live worker: the job is missing (Redis
  restarted empty), ended (failed, finished, stopped), or started by a worker that is no
  longer registered or whose heartbeat is older than WORKER_HEARTBEAT_GRACE.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from coach_app.extensions import db
from coach_app.models import OutboxMessage
from coach_app.models.reminders import claimed_rows
from workers.settings import setting

log = logging.getLogger(__name__)

# RQ's forking worker sends a heartbeat every job_monitoring_interval (30 s) while a job runs.
WORKER_HEARTBEAT_GRACE = timedelta(seconds=45)
WAITING = ("queued", "scheduled", "deferred")

Holders = Callable[[list[str]], set[str]]


def job_id(claim_token: str) -> str:
    """The RQ job id of the delivery job that holds this claim."""
    return f"deliver-{claim_token}"


def rq_holders(connection) -> Holders:
    """A function telling which of the given claim tokens RQ still has a live job for."""
    from rq.job import Job
    from rq.worker import Worker

    def alive(tokens: list[str]) -> set[str]:
        jobs = Job.fetch_many([job_id(t) for t in tokens], connection=connection)
        workers: dict[str, bool] = {}
        held = set()
        for token, job in zip(tokens, jobs, strict=True):
            if job is None:
                continue  # expired, or gone with a Redis that restarted empty
            status = job.get_status(refresh=False)
            if status in WAITING:
                held.add(token)
            elif status == "started" and job.worker_name:
                if job.worker_name not in workers:
                    worker = Worker.find_by_key(
                        Worker.redis_worker_namespace_prefix + job.worker_name,
                        connection=connection,
                    )
                    beat = worker.last_heartbeat if worker is not None else None
                    if beat is not None and beat.tzinfo is None:
                        beat = beat.replace(tzinfo=UTC)
                    workers[job.worker_name] = (
                        beat is not None and beat > datetime.now(UTC) - WORKER_HEARTBEAT_GRACE
                    )
                if workers[job.worker_name]:
                    held.add(token)
        return held

    return alive


def _no_holder(tokens: list[str]) -> set[str]:
    return set()


def release_stale_claims(
    now: datetime | None = None, config=None, holders: Holders | None = None
) -> int:
    """Put back to pending the rows whose claim's lease lapsed and whose job is gone.

    `holders` says which tokens still have a live job (rq_holders); without it only the
    lease counts. The lost run counts as an attempt, so a row that kills its worker every
    time ends up failed (and visible to admins) instead of looping forever.
    """
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=setting(config, "OUTBOX_CLAIM_TIMEOUT_SECONDS"))
    max_attempts = setting(config, "OUTBOX_MAX_ATTEMPTS")
    tokens = list(
        db.session.scalars(
            select(OutboxMessage.claim_token)
            .where(claimed_rows(), OutboxMessage.claimed_at < cutoff)
            .distinct()
        )
    )
    if not tokens:
        db.session.rollback()
        return 0
    held = (holders or _no_holder)(tokens)
    gone = [t for t in tokens if t not in held]
    total = 0
    for chunk in _chunks(gone):
        total += _release(chunk, cutoff, max_attempts)
    db.session.commit()
    if total:
        log.warning("released %d rows of %d claims whose worker is gone", total, len(gone))
    return total


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _release(tokens: list[str], cutoff: datetime, max_attempts: int) -> int:
    # The lease is checked again in the UPDATE: a renewal committed since the SELECT wins.
    stale = (
        claimed_rows(),
        OutboxMessage.claim_token.in_(tokens),
        OutboxMessage.claimed_at < cutoff,
    )
    common = {
        "claim_token": None,
        "claimed_at": None,
        "attempts": OutboxMessage.attempts + 1,
        "last_error": "claim expired: the worker stopped before finishing",
    }
    failed = db.session.execute(
        update(OutboxMessage)
        .where(*stale, OutboxMessage.attempts + 1 >= max_attempts)
        .values(status="failed", status_reason="worker stopped too often", **common)
        .execution_options(synchronize_session=False)
    ).rowcount
    released = db.session.execute(
        update(OutboxMessage)
        .where(*stale)
        .values(status="pending", status_reason="re-queued after a stale claim", **common)
        .execution_options(synchronize_session=False)
    ).rowcount
    return failed + released


def renew(claim_token: str, ids: list[int], now: datetime) -> bool:
    """Renew the lease on our rows still claimed; False when some were released (stop)."""
    renewed = 0
    for chunk in _chunks(ids):
        renewed += db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(chunk),
                OutboxMessage.claim_token == claim_token,
                claimed_rows(),
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    return renewed == len(ids)
