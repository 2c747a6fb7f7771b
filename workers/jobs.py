"""RQ jobs. Each takes ids or plain values, opens its own app context, and is safe to rerun."""

from datetime import UTC, datetime

from workers.app import app_context


def sweep_outbox() -> dict:
    """Claim due outbox rows and enqueue delivery jobs for them in recipient batches."""
    from workers import delivery
    from workers.queues import get_queue, redis_connection

    with app_context() as app:
        released = delivery.release_stale_claims()
        token, ids = delivery.claim_due()
        queue = get_queue(app)
        batches = delivery.batches_by_recipient(ids) if ids else []
        for number, batch in enumerate(batches):
            queue.enqueue(
                deliver_batch,
                batch,
                token,
                job_id=f"deliver-{token}-{number}",
                result_ttl=600,
                failure_ttl=86400,
            )
        redis_connection(app).set(
            f"{app.config['RQ_QUEUE_PREFIX']}:last-sweep", datetime.now(UTC).isoformat()
        )
        return {"claimed": len(ids), "batches": len(batches), "released": released}


def deliver_batch(message_ids: list[int], claim_token: str) -> dict:
    """Deliver one batch of claimed outbox rows."""
    from workers import delivery

    with app_context() as app:
        return delivery.deliver(message_ids, claim_token, app.config)
