"""In-app notifications."""

from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import Notification


def unread_count(user) -> int:
    """Number of unread notifications for the header badge."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )
