"""What an admin reads about the outbox: each status in plain words, why rows were cancelled,
the next messages due and the latest ones sent (paged in SQL, scoped by access.py)."""

from sqlalchemy import func

from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import OutboxMessage
from coach_app.playbook import reminders as policy
from coach_app.services.people_lists import Page

PER_PAGE = 10
REASONS_SHOWN = 8

STATUS_HELP = {
    "pending": (
        "Waiting for its time. A sweep every minute hands what is due to the workers; rows "
        "waiting long past their time mean the workers are behind or stopped."
    ),
    "claimed": "Picked up by a worker and being sent right now.",
    "sent": (
        "Delivered: the email was accepted by the mail server, or the notice appeared in the "
        "portal (or both)."
    ),
    "failed": (
        "Could not be sent after every retry. Listed below with the error: fix the cause "
        "(often the mail server settings), then retry."
    ),
    "cancelled": (
        "Not sent, on purpose: by its time it was no longer needed. Most are reminders for "
        "tasks done before the reminder was due, which is good news. The reasons are below."
    ),
}

# Plain words for the reasons the portal and the workers record (others show as written).
REASON_HELP = {
    "task completed": "the task was done before the reminder's time",
    "task completed before the reminder went out": "the task was done before the reminder's time",
    "task waived": "the task was waived, so nobody needs reminding",
    "turned off in preferences or by the organisation": (
        "the person or the organisation turned this kind of reminder off"
    ),
    "its deadline passed before it could go out": "its deadline passed before it could go out",
    "quiet hours last past its deadline": "quiet hours lasted past the task's deadline",
    "snoozed past its moment": "the task was snoozed past the reminder's moment",
    "recipient no longer active": "the person's account was switched off",
    "invitation revoked": "the invitation was revoked",
    "nothing to report": "a coach's digest with nothing in it",
}

KIND_LABELS = {
    **policy.KIND_LABELS,
    "invitation": "Invitation",
    "password_reset": "Password reset",
    "security": "Two-step sign-in",
    "security_notice": "Security notice",
    "email_change": "Confirm a new email address",
    "email_changed": "Email address changed",
    "cohort_request_answered": "Cohort request answered",
}


def kind_label(kind: str) -> str:
    """A message kind in words ('due_soon' -> 'Two hours before a deadline')."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def reason_text(reason: str | None) -> str:
    """Why a row was cancelled or put off, in words."""
    if not reason:
        return "no reason recorded"
    return REASON_HELP.get(reason, reason)


def cancelled_reasons(user, limit: int = REASONS_SHOWN) -> list[tuple[str, int]]:
    """The commonest reasons for cancelled rows, most frequent first (one GROUP BY)."""
    count = func.count(OutboxMessage.id)
    rows = db.session.execute(
        scoped(OutboxMessage, user)
        .with_only_columns(OutboxMessage.status_reason, count)
        .where(OutboxMessage.status == "cancelled")
        .group_by(OutboxMessage.status_reason)
        .order_by(count.desc(), OutboxMessage.status_reason)
        .limit(limit)
    ).all()
    return [(reason_text(reason), n) for reason, n in rows]


def _page_number(page: int, total: int, per_page: int) -> int:
    pages = max(1, -(-total // per_page))
    return min(max(1, page), pages)


def upcoming(user, *, total: int, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Pending messages, the next due first; `total` is the pending count already known."""
    page = _page_number(page, total, per_page)
    rows = db.session.scalars(
        scoped(OutboxMessage, user)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(rows=list(rows), total=total, page=page, per_page=per_page)


def recently_sent(user, *, total: int, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Sent messages, the latest first; `total` is the sent count already known."""
    page = _page_number(page, total, per_page)
    rows = db.session.scalars(
        scoped(OutboxMessage, user)
        .where(OutboxMessage.status == "sent")
        .order_by(OutboxMessage.sent_at.desc().nulls_last(), OutboxMessage.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(rows=list(rows), total=total, page=page, per_page=per_page)
