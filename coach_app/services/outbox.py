"""Writing messages to the outbox and handing them to the workers.

Rows are added to the caller's transaction, so a message exists exactly when the change
that implies it was committed. Enqueueing after the commit is only a shortcut: if Redis
is down, the minute sweep finds the pending rows and sends them anyway.
"""

import logging
from datetime import UTC, datetime

from flask import current_app

from coach_app.extensions import db
from coach_app.models import OutboxMessage

log = logging.getLogger(__name__)


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
) -> OutboxMessage:
    """Add an outbox row to the current session (committed by the caller)."""
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        organization_id=organization_id,
        recipient_id=recipient.id,
        to_email=recipient.email,
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
