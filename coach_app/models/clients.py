"""Client profiles, coaching notes and cohorts (workshops)."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach_app.extensions import db
from coach_app.models.accounts import Organization, User
from coach_app.models.types import UTCDateTime, utcnow


class ClientProfile(db.Model):
    """A job seeker, coached by one coach inside one organisation."""

    __tablename__ = "client_profiles"
    __table_args__ = (Index("ix_client_profiles_coach_archived", "coach_id", "archived_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    target_role: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    organization: Mapped[Organization] = relationship()

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def timezone(self) -> str:
        """The client's IANA time zone (profile first, organisation as fallback)."""
        return self.user.effective_timezone


class CoachingNote(db.Model):
    """A coach's private note about a client; never shown to the client or organizers."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client_profiles.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class Cohort(db.Model):
    """A workshop group run by an organizer."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organizer: Mapped[User] = relationship()
    members: Mapped[list["CohortMember"]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )


class CohortMember(db.Model):
    __tablename__ = "cohort_members"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("client_profiles.id"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    client: Mapped[ClientProfile] = relationship()
