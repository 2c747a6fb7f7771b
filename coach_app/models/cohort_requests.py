"""An organizer's request that a coach add clients from their roster to a cohort.

Organizers never see client names, so they cannot pick clients themselves: they ask a coach,
and the coach chooses which of their clients join (or declines). That choice is the consent.
Approved clients become ordinary CohortMember rows, so "member" keeps meaning "counted".
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach_app.extensions import db
from coach_app.models.accounts import User
from coach_app.models.clients import Cohort
from coach_app.models.types import UTCDateTime, utcnow

REQUEST_PENDING = "requested"
REQUEST_APPROVED = "approved"
REQUEST_DECLINED = "declined"


class CohortRequest(db.Model):
    """Organizer -> coach: "please add clients of yours to this cohort"."""

    __tablename__ = "cohort_requests"
    __table_args__ = (Index("ix_cohort_requests_coach_status", "coach_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=REQUEST_PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many clients the coach added when approving; names stay with the coach.
    added_count: Mapped[int] = mapped_column(default=0)

    cohort: Mapped[Cohort] = relationship()
    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
