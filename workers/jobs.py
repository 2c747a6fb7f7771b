"""RQ jobs. Each takes ids or plain values, opens its own app context, and is safe to rerun.

`now` (an ISO 8601 string) exists for tests that move the clock; production never passes it.
"""

import json
import logging
from datetime import UTC, datetime

from workers.app import app_context, job_meta

log = logging.getLogger(__name__)


def _moment(now: str | None) -> datetime | None:
    if not now:
        return None
    moment = datetime.fromisoformat(now)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sweep_outbox(now: str | None = None) -> dict:
    """Release dead workers' claims, write due coach digests, claim due rows, enqueue delivery."""
    from coach_app.extensions import db
    from coach_app.services import reminders
    from workers import claims, delivery
    from workers.queues import last_sweep_key, redis_connection

    moment = _moment(now)
    with app_context() as app:
        clock = moment or datetime.now(UTC)
        connection = redis_connection(app)
        released = delivery.release_stale_claims(clock, app.config, claims.rq_holders(connection))
        digests = reminders.plan_digests(clock)
        db.session.commit()
        batches = delivery.claim_batches(clock, config=app.config)
        enqueue_deliveries(app, batches, now)
        claimed = sum(len(ids) for _token, ids in batches)
        stats = {
            "claimed": claimed,
            "batches": len(batches),
            "released": released,
            "digests": digests,
        }
        prefix = app.config["RQ_QUEUE_PREFIX"]
        connection.set(last_sweep_key(prefix), datetime.now(UTC).isoformat())
        connection.set(f"{prefix}:last-sweep-stats", json.dumps(stats))
        if claimed or released:
            log.info("sweep: %s", ", ".join(f"{name} {count}" for name, count in stats.items()))
        return stats


def enqueue_deliveries(app, batches: list[tuple[str, list[int]]], now: str | None = None):
    """One delivery job per claimed batch, holding its claim token (job id deliver-<token>)."""
    from workers import claims, delivery
    from workers.queues import get_queue
    from workers.settings import setting

    queue = get_queue(app)
    enqueued = 0
    try:
        for token, batch in batches:
            # Deterministic per claim: re-running this step cannot add a second job.
            queue.enqueue(
                deliver_batch,
                batch,
                token,
                now,
                job_id=claims.job_id(token),
                job_timeout=setting(app.config, "DELIVERY_JOB_TIMEOUT_SECONDS"),
                result_ttl=600,
                failure_ttl=7 * 86400,
                meta=job_meta(),
            )
            enqueued += 1
    except Exception:
        # Redis went away mid-sweep: hand the rest back now rather than after the lease.
        for token, batch in batches[enqueued:]:
            delivery.unclaim(token, batch)
        raise


def release_claims_job(now: str | None = None) -> int:
    """Every 15 s: release the claims of dead workers; if any were, sweep them out at once."""
    from workers import claims, delivery
    from workers.queues import redis_connection

    with app_context() as app:
        holders = claims.rq_holders(redis_connection(app))
        released = delivery.release_stale_claims(_moment(now), app.config, holders)
    if released:
        sweep_outbox(now)
    return released


def deliver_batch(message_ids: list[int], claim_token: str, now: str | None = None) -> dict:
    """Deliver one batch of claimed outbox rows."""
    from workers import delivery

    with app_context() as app:
        try:
            return delivery.deliver(message_ids, claim_token, app.config, now=_moment(now))
        except Exception:
            # Something broke before sending finished: give the rows back for the next sweep.
            from coach_app.extensions import db

            db.session.rollback()
            delivery.unclaim(claim_token, message_ids)
            raise


def mark_no_response_job(now: str | None = None) -> int:
    """Daily: mark opportunities no_response 30 days after the last interview (playbook)."""
    from coach_app.extensions import db
    from coach_app.services.followup import mark_no_response

    with app_context():
        marked = mark_no_response(_moment(now))
        db.session.commit()
        return marked


def fold_summaries_job(now: str | None = None) -> int:
    """Every minute: recompute the client summaries a deadline has moved (read model)."""
    from coach_app.services.read_model import fold_summaries

    with app_context():
        return fold_summaries(_moment(now))


def refresh_analytics_job(now: str | None = None) -> int:
    """Every few minutes: fold the dashboard rollups forward, recompute stale facts."""
    from coach_app.services.analytics_facts import refresh_stale
    from coach_app.services.analytics_rollups import fold_rollups

    with app_context():
        moment = _moment(now)
        fold_rollups(moment)
        return refresh_stale(moment)
