"""Reminder settings: each organisation's policy and each person's own choices."""

from datetime import datetime, time, timedelta

from sqlalchemy import JSON, ForeignKey, Time
from sqlalchemy.orm import Mapped, mapped_column

from coach_app.extensions import db
from coach_app.models.types import UTCDateTime, utcnow
from coach_app.playbook import reminders as policy


class OrganizationReminderPolicy(db.Model):
    """Which reminder kinds and channels an organisation allows, and at what local times.

    No row means the playbook's defaults (coach_app.playbook.reminders.DEFAULT_POLICY).
    """

    __tablename__ = "organization_reminder_policies"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    kinds: Mapped[list] = mapped_column(JSON, default=lambda: list(policy.KINDS))
    channels: Mapped[list] = mapped_column(JSON, default=lambda: list(policy.CHANNELS))
    nudge_after_minutes: Mapped[int] = mapped_column(default=120)
    due_soon_minutes: Mapped[int] = mapped_column(default=120)
    morning_at: Mapped[time] = mapped_column(Time, default=lambda: policy.MORNING)
    quiet_start: Mapped[time] = mapped_column(Time, default=lambda: policy.QUIET_START)
    quiet_end: Mapped[time] = mapped_column(Time, default=lambda: policy.QUIET_END)
    digest_at: Mapped[time] = mapped_column(Time, default=lambda: policy.DIGEST_AT)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def to_policy(self) -> policy.ReminderPolicy:
        """The pure policy object the playbook functions take."""
        return policy.ReminderPolicy(
            kinds=frozenset(self.kinds or ()),
            channels=frozenset(self.channels or ()),
            nudge_after=timedelta(minutes=self.nudge_after_minutes),
            due_soon_before=timedelta(minutes=self.due_soon_minutes),
            morning=self.morning_at,
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            digest_at=self.digest_at,
        )


class ReminderPreference(db.Model):
    """One person's channels per reminder kind; a kind not listed uses every channel.

    `channels` maps kind -> list of channels, e.g. {"nudge": ["in_app"], "overdue": []}.
    The organisation's policy still limits what is sent: a person can only narrow it.
    """

    __tablename__ = "reminder_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    channels: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def channels_for(self, kind: str) -> frozenset[str]:
        """The channels this person wants for `kind`."""
        chosen = (self.channels or {}).get(kind)
        return frozenset(policy.CHANNELS if chosen is None else chosen)
