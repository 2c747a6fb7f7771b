"""The organisation's audit log as an admin reads it: filters, readable rows, CSV pages.

Every query starts from `scoped(AuditEvent, user)`, so only an admin's own organisation is
ever read. Newest first on (organization_id, created_at) or, filtered by person, on
(organization_id, actor_id, created_at): both are indexes.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import AuditEvent, ClientProfile, Invitation, Role, User, audit
from coach_app.services.people_lists import Page

PER_PAGE = 50
CSV_CHUNK = 1000
MAX_ACTION_LENGTH = 64
MAX_ID = 2**31 - 1

# Readable labels; an action not listed here is shown by its raw name.
ACTION_LABELS = {
    "auth.sign_in": "Signed in",
    "auth.sign_in_failed": "Sign-in failed",
    "auth.sign_out": "Signed out",
    "auth.sessions_revoked": "Signed out everywhere",
    "password.changed": "Changed password",
    "password.reset_requested": "Asked for a password reset",
    "password.reset": "Reset password",
    "two_factor.enabled": "Turned on two-step sign-in",
    "two_factor.disabled": "Turned off two-step sign-in",
    "user.created": "Created an account",
    "user.deactivated": "Deactivated an account",
    "user.reactivated": "Reactivated an account",
    "user.role_changed": "Changed a role",
    "invitation.accepted": "Accepted an invitation",
    "invitation.resent": "Sent a fresh invitation",
    "invitation.revoked": "Revoked an invitation",
    "client.archived": "Archived a client",
    "client.restored": "Restored a client",
    "client.moved": "Moved a client to another coach",
    "coaching_note.added": "Added a coaching note",
    "opportunity.created": "Opened an opportunity",
    "opportunity.outcome": "Recorded an outcome",
    "interview.logged": "Logged an interview",
    "interview.rescheduled": "Rescheduled an interview",
    "interview.contacts_added": "Added interview contacts",
    "referral.added": "Added a referral",
    "task.completed": "Completed a task",
    "task.waived": "Waived a task",
    "task.unwaived": "Took back a waiver",
    "task.snoozed": "Snoozed a task's reminders",
    "cohort.created": "Created a cohort",
    "cohort.member_invited": "Invited a client into a cohort",
    "cohort.member_removed": "Took a client out of a cohort",
    "cohort.request_sent": "Asked a coach for cohort members",
    "cohort.request_approved": "Added clients to a cohort",
    "cohort.request_declined": "Declined a cohort request",
    "outbox.retried": "Retried a failed message",
    "reminders.policy_changed": "Changed the reminder policy",
    "reminders.unsubscribed": "Unsubscribed from reminder emails",
    "preferences.changed": "Changed reminder preferences",
    "export.downloaded": "Downloaded an export",
    "audit.exported": "Downloaded the audit log",
}

OBJECT_LABELS = {
    "User": "Person",
    "ClientProfile": "Client",
    "Invitation": "Invitation",
    "FollowUpTask": "Task",
    "Organization": "Organisation",
}


def action_label(action: str) -> str:
    """A readable label for an action, or its raw name when none is known."""
    return ACTION_LABELS.get(action, action)


@dataclass
class AuditFilters:
    """What the audit page is narrowed to; `errors` says which inputs were ignored."""

    actor_id: int | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        """Read the query string; malformed values are ignored and reported, never raised."""
        filters = cls()
        actor = (args.get("actor") or "").strip()
        if actor:
            # Within a 32-bit id: a larger number is no one, and PostgreSQL's integer refuses it.
            if actor.isdigit() and len(actor) <= 10 and int(actor) <= MAX_ID:
                filters.actor_id = int(actor)
            else:
                filters.errors["actor"] = "Choose a person from the list."
        action = (args.get("action") or "").strip()
        if action:
            if len(action) <= MAX_ACTION_LENGTH and action.isprintable():
                filters.action = action
            else:
                filters.errors["action"] = "Choose an action from the list."
        for name in ("start", "end"):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    setattr(filters, name, date.fromisoformat(raw))
                except ValueError:
                    filters.errors[name] = "Enter a date as YYYY-MM-DD."
        if filters.start and filters.end and filters.start > filters.end:
            filters.errors["end"] = "The end date is before the start date."
            filters.end = None
        return filters

    def as_args(self) -> dict:
        """The filters as query arguments (for pager and download links)."""
        return {
            "actor": self.actor_id,
            "action": self.action,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }

    def as_details(self) -> dict:
        """The filters in an audit event's details (what was exported)."""
        return {key: value for key, value in self.as_args().items() if value is not None}


def _local_midnight(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz_name))


def events_query(user, filters: AuditFilters, tz_name: str):
    """The filtered events `user` may see, newest first (dates are days in `tz_name`)."""
    query = scoped(AuditEvent, user)
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action)
    if filters.start is not None:
        query = query.where(AuditEvent.created_at >= _local_midnight(filters.start, tz_name))
    if filters.end is not None:
        next_day = _local_midnight(filters.end + timedelta(days=1), tz_name)
        query = query.where(AuditEvent.created_at < next_day)
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


@dataclass
class AuditRow:
    """One event as the page shows it."""

    event: AuditEvent
    actor_name: str | None
    actor_email: str | None
    object_label: str

    @property
    def label(self) -> str:
        """The action's readable label."""
        return action_label(self.event.action)


def _names(model_ids: dict[str, set[int]], organization_id: int) -> dict[tuple[str, int], str]:
    """Readable names of the objects on a page, a query per kind (own organisation only)."""
    names = {}
    if model_ids.get("User"):
        for user_id, name in db.session.execute(
            select(User.id, User.name).where(
                User.id.in_(model_ids["User"]), User.organization_id == organization_id
            )
        ):
            names[("User", user_id)] = name
    if model_ids.get("ClientProfile"):
        for profile_id, name in db.session.execute(
            select(ClientProfile.id, User.name)
            .join(User, User.id == ClientProfile.user_id)
            .where(
                ClientProfile.id.in_(model_ids["ClientProfile"]),
                ClientProfile.organization_id == organization_id,
            )
        ):
            names[("ClientProfile", profile_id)] = name
    if model_ids.get("Invitation"):
        for invitation_id, name in db.session.execute(
            select(Invitation.id, User.name)
            .join(User, User.id == Invitation.user_id)
            .where(
                Invitation.id.in_(model_ids["Invitation"]),
                Invitation.organization_id == organization_id,
            )
        ):
            names[("Invitation", invitation_id)] = f"for {name}"
    return names


def _rows(events, organization_id: int) -> list[AuditRow]:
    actors = {e.actor_id for e in events if e.actor_id is not None}
    objects: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_id is not None:
            objects[event.object_type].add(event.object_id)
    objects["User"] |= actors
    people = {}
    if objects["User"]:
        for user_id, name, email in db.session.execute(
            select(User.id, User.name, User.email).where(
                User.id.in_(objects["User"]), User.organization_id == organization_id
            )
        ):
            people[user_id] = (name, email)
    names = _names(objects, organization_id)
    rows = []
    for event in events:
        kind = OBJECT_LABELS.get(event.object_type, event.object_type)
        name = names.get((event.object_type, event.object_id))
        if name:
            label = f"{kind} {name}" if event.object_type == "Invitation" else f"{kind}: {name}"
        else:
            label = kind if event.object_id is None else f"{kind} #{event.object_id}"
        actor_name, actor_email = people.get(event.actor_id, (None, None))
        rows.append(AuditRow(event, actor_name, actor_email, label))
    return rows


def page_of_events(user, filters: AuditFilters, *, page: int = 1, per_page: int = PER_PAGE):
    """One page of readable rows and the total count."""
    tz_name = user.effective_timezone
    query = events_query(user, filters, tz_name)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    events = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows=_rows(events, user.organization_id), total=total, page=page, per_page=per_page)


def csv_chunks(user, filters: AuditFilters):
    """The filtered log as lists of plain dicts, CSV_CHUNK events at a time (keyset paging)."""
    from coach_app.timefmt import local_datetime

    tz_name = user.effective_timezone
    query = events_query(user, filters, tz_name)
    last = None
    while True:
        chunk_query = query
        if last is not None:
            # Keyset paging on (created_at, id): each chunk is an index range, however deep.
            chunk_query = chunk_query.where(
                (AuditEvent.created_at < last[0])
                | ((AuditEvent.created_at == last[0]) & (AuditEvent.id < last[1]))
            )
        events = db.session.scalars(chunk_query.limit(CSV_CHUNK)).all()
        if not events:
            return
        last = (events[-1].created_at, events[-1].id)
        yield [
            {
                "when": local_datetime(row.event.created_at, tz_name, "%Y-%m-%d %H:%M:%S %Z"),
                "who": row.actor_name or "",
                "who_email": row.actor_email or "",
                "action": row.event.action,
                "what": row.label,
                "object": row.object_label,
                "object_type": row.event.object_type,
                "object_id": row.event.object_id,
                "details": details_text(row.event.details),
            }
            for row in _rows(events, user.organization_id)
        ]
        if len(events) < CSV_CHUNK:
            return


def details_text(details) -> str:
    """An event's details as one short line (`key=value; ...`)."""
    if not details:
        return ""
    if not isinstance(details, dict):
        return str(details)
    return "; ".join(f"{key}={value}" for key, value in sorted(details.items()))


def actor_choices(user, selected: int | None = None) -> list[tuple[int, str]]:
    """Staff of the admin's organisation for the person filter (plus a selected client)."""
    rows = list(
        db.session.execute(
            select(User.id, User.name)
            .where(User.organization_id == user.organization_id, User.role != Role.CLIENT.value)
            .order_by(User.name, User.id)
        ).all()
    )
    if selected is not None and selected not in {user_id for user_id, _ in rows}:
        extra = db.session.execute(
            select(User.id, User.name).where(
                User.id == selected, User.organization_id == user.organization_id
            )
        ).first()
        if extra is not None:
            rows.insert(0, tuple(extra))
    return [(user_id, name) for user_id, name in rows]


def record_export(user, filters: AuditFilters) -> None:
    """Note in the log itself that the log was downloaded, with the filters used."""
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="audit.exported",
        obj=user.organization,
        details=filters.as_details() or None,
    )
