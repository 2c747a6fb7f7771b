"""Follow-up tasks created by the playbook."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach_app.extensions import db
from coach_app.models.opportunities import Interview, Opportunity, Referral
from coach_app.models.types import UTCDateTime, utcnow


class FollowUpTask(db.Model):
    """One piece of follow-up work with a deadline (see PLAYBOOK.md for the rules)."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (
        Index("ix_follow_up_tasks_client_due", "client_id", "due_at"),
        # The reminder sweep and the overdue lists only ever look at open tasks.
        Index(
            "ix_follow_up_tasks_open_due",
            "due_at",
            sqlite_where=text("completed_at IS NULL AND waived_reason IS NULL"),
            postgresql_where=text("completed_at IS NULL AND waived_reason IS NULL"),
        ),
        # A coach's open work, client by client: the pipeline's overdue and next-due figures
        # and the exceptions queue read only this index (rule included for the grouping).
        Index(
            "ix_follow_up_tasks_open_client_due",
            "client_id",
            "due_at",
            "rule",
            sqlite_where=text("completed_at IS NULL AND waived_reason IS NULL"),
            postgresql_where=text("completed_at IS NULL AND waived_reason IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Natural key ("interview:12:notes", "referral:4", ...) so a task is never created twice.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    rule: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[int] = mapped_column(ForeignKey("client_profiles.id"))
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up_tasks.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    evidence: Mapped[dict | None] = mapped_column(JSON)
    waived_reason: Mapped[str | None] = mapped_column(Text)
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waived_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    opportunity: Mapped[Opportunity] = relationship()
    interview: Mapped[Interview | None] = relationship()
    referral: Mapped[Referral | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.waived_reason is None
