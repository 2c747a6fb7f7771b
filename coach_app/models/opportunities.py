"""Opportunities (company + role), their interview rounds, contacts and referrals."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach_app.extensions import db
from coach_app.models.clients import ClientProfile
from coach_app.models.types import UTCDateTime, utcnow

INTERVIEW_FORMATS = ("in_person", "video", "phone", "panel", "other")


class Opportunity(db.Model):
    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_org_outcome", "organization_id", "outcome"),
        # The pipeline's "open opportunities by round" reads this index alone.
        Index("ix_opportunities_client_stage", "client_id", "outcome", "rounds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client_profiles.id"))
    company: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16), default="open")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Rounds logged so far, which is the latest round's number (rounds are numbered in order);
    # kept by followup.log_interview so the pipeline need not read every interview.
    rounds: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    client: Mapped[ClientProfile] = relationship()
    interviews: Mapped[list["Interview"]] = relationship(
        back_populates="opportunity", order_by="Interview.start_at"
    )


class Interview(db.Model):
    """One interview round of an opportunity."""

    __tablename__ = "interviews"
    __table_args__ = (Index("ix_interviews_opportunity_start", "opportunity_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client_profiles.id"), index=True)
    round_number: Mapped[int] = mapped_column(default=1)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    # The zone the deadlines are computed in: the client's at logging time, editable.
    timezone: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16), default="in_person")
    next_step: Mapped[str | None] = mapped_column(Text)
    stated_decision_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    opportunity: Mapped[Opportunity] = relationship(back_populates="interviews")
    contacts: Mapped[list["InterviewContact"]] = relationship(
        back_populates="interview", order_by="InterviewContact.id"
    )
    referrals: Mapped[list["Referral"]] = relationship(
        back_populates="interview", order_by="Referral.id"
    )


class InterviewContact(db.Model):
    """An interviewer or helpful person met at an interview."""

    __tablename__ = "interview_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    card_collected: Mapped[bool] = mapped_column(default=False)
    interests: Mapped[str | None] = mapped_column(Text)

    interview: Mapped[Interview] = relationship(back_populates="contacts")


class Referral(db.Model):
    """A person or organisation the interviewer suggested contacting."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="referrals")
