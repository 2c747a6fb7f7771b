"""Claiming due outbox rows and delivering them, safely under concurrency.

A row moves pending -> claimed -> sent (or back to pending for a retry, or failed).
The claim is one UPDATE ... WHERE status = 'pending', so two sweeps never claim the same
row on SQLite or PostgreSQL. A duplicate email is possible only in the window between the
SMTP server accepting a message and the worker committing `sent` (see docs/reminders.md).
"""

import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from coach_app.extensions import db
from coach_app.models import Notification, OutboxMessage
from workers.mail import build_message, get_backend

MAX_ATTEMPTS = 5
CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH_SIZE = 200
# Reminders for one person due within this span go out as one message.
COALESCE_WINDOW = timedelta(minutes=10)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4, 8 ... minutes after each failed attempt."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


def release_stale_claims(now: datetime | None = None) -> int:
    """Put rows claimed long ago and never finished (a worker died) back to pending."""
    now = now or datetime.now(UTC)
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "claimed",
            OutboxMessage.claimed_at < now - CLAIM_TIMEOUT,
        )
        .values(status="pending", claim_token=None, claimed_at=None)
    )
    db.session.commit()
    return result.rowcount


def claim_due(now: datetime | None = None, limit: int = 5000) -> tuple[str, list[int]]:
    """Claim up to `limit` due pending rows (plus anything due soon for the same people)."""
    now = now or datetime.now(UTC)
    token = secrets.token_hex(16)
    due_ids = select(OutboxMessage.id).where(
        OutboxMessage.status == "pending",
        OutboxMessage.due_at <= now,
    )
    due_ids = due_ids.order_by(OutboxMessage.due_at).limit(limit)
    ids = list(db.session.scalars(due_ids))
    if not ids:
        return token, []
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        .values(status="claimed", claimed_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    claimed = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.claim_token == token)
            .order_by(OutboxMessage.id)
        )
    )
    return token, claimed


def batches_by_recipient(message_ids: list[int], size: int = BATCH_SIZE) -> list[list[int]]:
    """Split claimed ids into job-sized batches, keeping one recipient's rows together."""
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.recipient_id)
        .where(OutboxMessage.id.in_(message_ids))
        .order_by(OutboxMessage.recipient_id, OutboxMessage.id)
    ).all()
    batches: list[list[int]] = [[]]
    last_recipient = object()
    for message_id, recipient_id in rows:
        if len(batches[-1]) >= size and recipient_id != last_recipient:
            batches.append([])
        batches[-1].append(message_id)
        last_recipient = recipient_id
    return [b for b in batches if b]


def _compose(rows: list[OutboxMessage]):
    if len(rows) == 1:
        row = rows[0]
        text = row.body_text
        if row.link and row.link not in text:
            text += f"\n\nOpen it: {row.link}\n"
        return build_message(to=row.to_email, subject=row.subject, text=text, html=_html(rows))
    subject = f"{len(rows)} follow-up reminders"
    parts = [f"- {row.subject}\n  {row.link or ''}".rstrip() for row in rows]
    text = "Here is what needs your attention:\n\n" + "\n".join(parts) + "\n"
    return build_message(to=rows[0].to_email, subject=subject, text=text, html=_html(rows))


def _html(rows: list[OutboxMessage]) -> str:
    from markupsafe import escape

    items = "".join(
        f"<li><p>{escape(row.subject)}</p><p>{escape(row.body_text)}</p>"
        + (f'<p><a href="{escape(row.link)}">Open it</a></p>' if row.link else "")
        + "</li>"
        for row in rows
    )
    return f"<html><body><ul>{items}</ul></body></html>"


def deliver(message_ids: list[int], claim_token: str, config) -> dict:
    """Send the claimed rows, grouped per recipient; safe to run twice."""
    rows = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.id.in_(message_ids),
                OutboxMessage.status == "claimed",
                OutboxMessage.claim_token == claim_token,
            )
            .order_by(OutboxMessage.recipient_id, OutboxMessage.due_at)
        )
    )
    stats = {"sent": 0, "failed": 0, "retry": 0, "in_app": 0}
    groups: dict[tuple, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        if row.channel == "in_app":
            _deliver_in_app(row)
            stats["in_app"] += 1
            continue
        groups[(row.to_email, _window(row.due_at))].append(row)
    db.session.commit()
    if not groups:
        return stats
    grouped = list(groups.values())
    emails = [_compose(group) for group in grouped]
    backend = get_backend(config)

    def mark_sent(index: int) -> None:
        now = datetime.now(UTC)
        for row in grouped[index]:
            row.status, row.sent_at, row.attempts = "sent", now, row.attempts + 1
        # Commit each accepted message at once: this keeps the duplicate window one message.
        db.session.commit()
        stats["sent"] += len(grouped[index])

    try:
        backend.send_many(emails, on_sent=mark_sent)
    except Exception as error:  # SMTP refused or the connection dropped
        db.session.rollback()
        now = datetime.now(UTC)
        for group in grouped:
            for row in group:
                if row.status != "claimed":
                    continue
                row.attempts += 1
                row.last_error = f"{type(error).__name__}: {error}"[:1000]
                row.claim_token, row.claimed_at = None, None
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    stats["failed"] += 1
                else:
                    row.status = "pending"
                    row.due_at = now + retry_delay(row.attempts)
                    stats["retry"] += 1
        db.session.commit()
    return stats


def _window(moment: datetime) -> int:
    return int(moment.timestamp() // COALESCE_WINDOW.total_seconds())


def _deliver_in_app(row: OutboxMessage) -> None:
    exists = db.session.scalar(select(Notification.id).where(Notification.outbox_id == row.id))
    if exists is None and row.recipient_id is not None:
        db.session.add(
            Notification(
                user_id=row.recipient_id, message=row.subject, link=row.link, outbox_id=row.id
            )
        )
    row.status, row.sent_at, row.attempts = "sent", datetime.now(UTC), row.attempts + 1


def retry_failed(message_id: int) -> bool:
    """Put a failed row back in the queue (admin action)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "failed")
        .values(status="pending", attempts=0, due_at=datetime.now(UTC), claim_token=None)
    )
    db.session.commit()
    return result.rowcount == 1
