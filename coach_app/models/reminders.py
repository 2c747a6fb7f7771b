"""The reminder outbox and in-app notifications."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from coach_app.extensions import db
from coach_app.models.types import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    """A message to deliver, written in the same transaction as the change that implies it.

    `dedupe_key` makes each reminder unique ("task:12:due_morning", "invitation:3",
    "digest:7:2026-11-21"); for task reminders it is the pair (task, kind).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("task_id", "kind", name="uq_outbox_messages_task_kind"),
        Index(
            "ix_outbox_messages_pending_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The rows in flight (a few thousand at most), by claim: a batch renews its lease and
        # the sweep finds lapsed leases without reading the pending backlog.
        Index(
            "ix_outbox_messages_claim",
            "claim_token",
            "claimed_at",
            sqlite_where=text("status = 'claimed'"),
            postgresql_where=text("status = 'claimed'"),
        ),
        # The admin operations page counts and lists one organisation's rows by status.
        Index("ix_outbox_messages_org_status", "organization_id", "status"),
        # The sweep claims each person's pending rows due soon (and lookups by recipient).
        Index("ix_outbox_messages_recipient_status_due", "recipient_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_email: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    # What the row may use: "email", "in_app" or "both"; preferences narrow it at delivery.
    channel: Mapped[str] = mapped_column(String(16), default="email")
    task_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up_tasks.id"))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending -> claimed -> sent | failed; cancelled when the task no longer needs it.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Why a row was cancelled or put off (task completed, turned off, snoozed, quiet hours).
    status_reason: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def pending_rows():
    """`status = 'pending'` written as a literal, so the planner can use the partial index.

    With a bound parameter (`status = ?`) SQLite cannot prove the query implies the index's
    WHERE clause and scans the whole table; PostgreSQL's generic plans have the same problem.
    """
    return OutboxMessage.status == literal_column("'pending'")


def claimed_rows():
    """`status = 'claimed'` as a literal, for the partial index of rows in flight."""
    return OutboxMessage.status == literal_column("'claimed'")


class Notification(db.Model):
    """An in-app notification shown in the portal's header."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(500))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
