"""Small builders for test data that go through the real services."""

from datetime import UTC, datetime, timedelta

from coach_app.extensions import db
from coach_app.services.followup import (
    ContactInput,
    InterviewInput,
    log_interview,
    open_opportunity,
)


def zone_where_it_is(hour: int, now: datetime | None = None) -> str:
    """A fixed-offset zone (UTC-9 to UTC+14) where the local time is now hour:xx.

    For tests whose outcome depends on the local time of day (same-day deadlines, morning
    reminders): pinning it makes them pass whatever hour the suite runs at.
    """
    now = now or datetime.now(UTC)
    offset = (hour - now.hour) % 24
    if offset > 14:
        offset -= 24
    # POSIX sign convention: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def interview_for(
    profile,
    actor,
    *,
    start_at=None,
    company="Harbor Analytics",
    role="Data analyst",
    opportunity=None,
    referrals=(),
    stated_decision_date=None,
    duration_minutes=60,
    now=None,
    commit=True,
):
    """Log an interview (opening the opportunity if needed) through the services."""
    start_at = start_at or datetime.now(UTC) - timedelta(hours=3)
    if opportunity is None:
        opportunity = open_opportunity(
            client=profile, company=company, role=role, industry=None, actor=actor
        )
    interview = log_interview(
        opportunity=opportunity,
        actor=actor,
        now=now,
        data=InterviewInput(
            start_at=start_at,
            duration_minutes=duration_minutes,
            contacts=[ContactInput(name="Dana Reyes", title="Hiring manager", interests="sailing")],
            referrals=list(referrals),
            stated_decision_date=stated_decision_date,
        ),
    )
    if commit:
        db.session.commit()
    return interview
