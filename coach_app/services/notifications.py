"""In-app notifications: the header badge and the rows reminders create."""

from sqlalchemy import bindparam, func, select

from coach_app.extensions import db
from coach_app.models import Notification

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
