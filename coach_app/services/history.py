"""Correcting history: edit an interview round and its opportunity (deleting: deletion.py).

Deadlines are the playbook's (followup.reschedule_interview); this module checks the plain
data and records what changed. Nothing here commits: one request is one transaction.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from coach_app import playbook
from coach_app.models import Interview, Opportunity, User, audit
from coach_app.models.opportunities import INTERVIEW_FORMATS
from coach_app.services import ServiceError, followup


@dataclass
class InterviewChanges:
    """The corrected facts of an interview round and of its opportunity."""

    start_at: datetime
    duration_minutes: int
    timezone: str
    format: str
    company: str
    role: str
    industry: str | None = None
    next_step: str | None = None
    stated_decision_date: date | None = None


@dataclass
class EditResult:
    changed: list[str] = field(default_factory=list)
    tasks_rescheduled: int = 0


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def refuse_if_archived(opportunity: Opportunity) -> None:
    """Refuse corrections for an archived client (restore them first)."""
    # An archived client's reminders are cancelled; an edit would plan them again.
    if opportunity.client.archived_at is not None:
        raise ServiceError("Restore this client before changing their interviews.")


def _required(text: str | None, limit: int, field_name: str, label: str) -> str:
    cleaned = (text or "").replace("\x00", "").strip()
    if not cleaned:
        raise ServiceError(f"Enter the {label}.", field_name)
    if len(cleaned) > limit:
        raise ServiceError(f"Keep the {label} to {limit} characters or fewer.", field_name)
    return cleaned


def _optional(text: str | None) -> str | None:
    return (text or "").replace("\x00", "").strip() or None


def edit_interview(
    *, interview: Interview, data: InterviewChanges, actor: User, now: datetime | None = None
) -> EditResult:
    """Correct an interview round (and its opportunity's company, role, industry).

    Its tasks are rescheduled by the playbook, completed ones included; see
    followup.reschedule_interview for what is refused.
    """
    now = _now(now)
    opportunity = interview.opportunity
    refuse_if_archived(opportunity)
    company = _required(data.company, 200, "company", "company")
    role = _required(data.role, 200, "role", "role")
    industry = _optional(data.industry)
    if industry and len(industry) > 100:
        raise ServiceError("Keep the industry to 100 characters or fewer.", "industry")
    if data.format not in INTERVIEW_FORMATS:
        raise ServiceError("Choose a format from the list.", "format")
    try:
        playbook.zone(data.timezone)
    except playbook.PlaybookError:
        raise ServiceError(f"Unknown time zone: {data.timezone}", "timezone") from None
    before = {
        "start_at": interview.start_at,
        "duration_minutes": interview.duration_minutes,
        "timezone": interview.timezone,
        "format": interview.format,
        "next_step": interview.next_step,
        "stated_decision_date": interview.stated_decision_date,
        "company": opportunity.company,
        "role": opportunity.role,
        "industry": opportunity.industry,
    }
    rescheduled = followup.reschedule_interview(
        interview=interview,
        actor=actor,
        start_at=data.start_at,
        duration_minutes=data.duration_minutes,
        timezone=data.timezone,
        stated_decision_date=data.stated_decision_date,
        now=now,
        record=False,
    )
    interview.format = data.format
    interview.next_step = _optional(data.next_step)
    opportunity.company, opportunity.role, opportunity.industry = company, role, industry
    after = {
        "start_at": interview.start_at,
        "duration_minutes": interview.duration_minutes,
        "timezone": interview.timezone,
        "format": interview.format,
        "next_step": interview.next_step,
        "stated_decision_date": interview.stated_decision_date,
        "company": company,
        "role": role,
        "industry": industry,
    }
    changed = sorted(name for name in before if before[name] != after[name])
    if changed:
        followup.touch_client(opportunity.client_id, now)
        # Field names only: the audit log never copies what people typed.
        audit.record(
            organization_id=opportunity.organization_id,
            actor_id=actor.id,
            action="interview.edited",
            obj=interview,
            details={"changed": changed, "tasks_rescheduled": rescheduled},
        )
    return EditResult(changed=changed, tasks_rescheduled=rescheduled if changed else 0)
