"""Writing messages to the outbox and handing them to the workers.

Rows are added to the caller's transaction, so a message exists exactly when the change
that implies it was committed. Enqueueing after the commit is only a shortcut: if Redis
is down, the minute sweep finds the pending rows and sends them anyway.
"""

import logging
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, select, update

from coach_app.extensions import db
from coach_app.models import OutboxMessage, User, audit
from coach_app.models.reminders import pending_rows

log = logging.getLogger(__name__)

STATUSES = ("pending", "claimed", "sent", "failed", "cancelled")


def queue_email(
    *,
    dedupe_key: str,
    organization_id: int,
    recipient,
    kind: str,
    subject: str,
    body_text: str,
    link: str | None = None,
    task_id: int | None = None,
    due_at: datetime | None = None,
    channel: str = "email",
    to_email: str | None = None,
) -> OutboxMessage:
    """Add an outbox row to the current session (committed by the caller).

    `to_email` overrides the recipient's address (a confirmation sent to a new address).
    """
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        organization_id=organization_id,
        recipient_id=recipient.id,
        to_email=to_email or recipient.email,
        kind=kind,
        channel=channel,
        task_id=task_id,
        subject=subject,
        body_text=body_text,
        link=link,
        due_at=due_at or datetime.now(UTC),
    )
    db.session.add(message)
    return message


def dispatch_due_now() -> None:
    """After a commit, nudge the workers to send what is due; never fails the request."""
    try:
        from workers.queues import enqueue_sweep

        enqueue_sweep(current_app._get_current_object())
    except Exception as error:  # Redis down: the cron sweep will pick the rows up.
        log.warning("could not reach the queue, the sweep will send later: %s", error)


def cancel_pending_for_recipient(user_id: int, reason: str) -> int:
    """Cancel every message still waiting for this person (their account was switched off)."""
    return db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_id == user_id, OutboxMessage.status == "pending")
        .values(status="cancelled", status_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


def retry_failed(message: OutboxMessage, *, actor: User | None = None, now=None) -> bool:
    """Put a failed row back in the queue with a fresh set of attempts (admin action)."""
    now = now or datetime.now(UTC)
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == "failed")
        .values(
            status="pending",
            attempts=0,
            due_at=now,
            claim_token=None,
            claimed_at=None,
            status_reason="retried by an admin" if actor else "retried",
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount and actor is not None:
        audit.record(
            organization_id=message.organization_id,
            actor_id=actor.id,
            action="outbox.retried",
            obj=message,
        )
    return result.rowcount == 1


def status_counts(organization_id: int) -> dict[str, int]:
    """Outbox rows of one organisation by status (one GROUP BY)."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .where(OutboxMessage.organization_id == organization_id)
            .group_by(OutboxMessage.status)
        ).all()
    )
    return counts


def oldest_due_pending(organization_id: int, now: datetime | None = None) -> datetime | None:
    """Due time of the oldest pending row that is already due (a growing lag means trouble)."""
    now = now or datetime.now(UTC)
    return db.session.scalar(
        select(func.min(OutboxMessage.due_at)).where(
            OutboxMessage.organization_id == organization_id,
            pending_rows(),
            OutboxMessage.due_at <= now,
        )
    )
