"""In-app notifications: the header badge, the rows reminders create, and notices."""

from sqlalchemy import bindparam, func, select

from coach_app.extensions import db
from coach_app.models import Notification, User
from coach_app.services.outbox import queue_email

# Built once: the header badge is counted on every page, and building the statement cost
# more than running it.
_UNREAD = select(func.count(Notification.id)).where(
    Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)
)


def unread_count(user) -> int:
    """Number of unread notifications for the header badge."""
    return db.session.connection().execute(_UNREAD, {"user_id": user.id}).scalar_one()


def already_notified(outbox_ids) -> set[int]:
    """The outbox ids that already have their notification (a retried delivery)."""
    ids = list(outbox_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(select(Notification.outbox_id).where(Notification.outbox_id.in_(ids)))
    )


def notify(*, user_id: int, message: str, link: str | None, outbox_id: int | None = None):
    """Add an in-app notification to the session (committed by the caller)."""
    notification = Notification(
        user_id=user_id, message=message[:500], link=link, outbox_id=outbox_id
    )
    db.session.add(notification)
    return notification


def send_notice(
    *, recipient: User, kind: str, dedupe_key: str, message: str, link: str | None
) -> Notification:
    """Tell someone about an event at once in the portal and by email (caller commits).

    The email is an outbox row written in the same transaction, sent by the workers like
    every other message; the in-app row points at it, so a retried delivery never adds a
    second notification. Notices are not reminders: preferences and quiet hours don't apply.
    """
    body = f"Hello {recipient.name},\n\n{message}\n"
    if link:
        body += f"\nSee it here: {link}\n"
    email = queue_email(
        dedupe_key=dedupe_key,
        organization_id=recipient.organization_id,
        recipient=recipient,
        kind=kind,
        subject=message[:300],
        body_text=body,
        link=link,
    )
    db.session.flush()
    return notify(user_id=recipient.id, message=message, link=link, outbox_id=email.id)
