"""`flask demo --refresh`: move a synthetic demo forward so it looks as if it was loaded today.

The anchor is the synthetic organisation's `created_at` (build_demo stamps it with the `now`
it builds around). Every stored date and time of that organisation's rows moves forward by
the same number of WHOLE days elapsed since then, in one transaction:

- One shift for everything keeps every relation between rows: a task's deadline stays the
  same time after its interview, a completion the same time before its deadline, so each
  status (done on time, late, missed, due today) is what it was when the demo was loaded.
- Whole days, because some columns are local calendar dates (an interview's stated decision
  date, a cohort's start and end): a date can only move by whole days, and moving the times
  by the same whole days keeps each of them on the same local date relative to its day
  (deadlines are "end of the local day"). Times of day are kept in UTC, so across a change
  of daylight saving time a local time reads an hour earlier or later.
- Rounded down, so nothing that had happened lands in the future: the demo looks as if
  loaded less than a day ago, and a second refresh the same day moves nothing.

Reminders not yet sent are planned again from the moved deadlines (their text names the
deadline); those whose moment has passed are dropped, as build_demo does, instead of all
firing at the next sweep. The analytics facts are rebuilt at the end. Rows added by hand
after loading move with the rest. Free-form JSON (audit details, task evidence) is left as
written. Sessions, sign-in links and second-factor rows are not moved (`NOT_MOVED`).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Date, DateTime, Table, exists, func, literal_column, or_, select
from sqlalchemy.orm import selectinload

from coach_app.extensions import db
from coach_app.models import FollowUpTask, Notification, Opportunity, Organization, OutboxMessage

# Tables tied to an organisation by an email address rather than a foreign key.
BY_EMAIL = {"login_attempts"}
# Credentials and sign-in state live in real time, not in the demo's story: moving their
# expiry forward would bring expired sessions, reset and invitation links back to life.
NOT_MOVED = frozenset(
    {
        "user_sessions",
        "password_resets",
        "email_changes",
        "invitations",
        "login_attempts",
        "two_factor",
        "recovery_codes",
        "trusted_devices",
    }
)
# An open task's reminders all fall within this long after its deadline (the overdue one
# goes out the next morning), so older open tasks have nothing left to plan.
REMINDERS_AFTER_DUE = timedelta(days=3)


@dataclass
class RefreshSummary:
    moved: list = field(default_factory=list)  # (organisation name, days, rows updated)
    reminders_dropped: int = 0
    reminders_planned: int = 0
    facts: int = 0

    def __str__(self) -> str:
        if not self.moved:
            return "No demo to move: none loaded, or it was loaded today."
        lines = [
            f"Moved “{name}” forward by {days} day{'' if days == 1 else 's'} ({rows} rows)."
            for name, days, rows in self.moved
        ]
        lines.append(
            f"Reminders: {self.reminders_dropped} not yet sent dropped, "
            f"{self.reminders_planned} planned from the new deadlines; "
            f"analytics facts rebuilt for {self.facts} opportunities."
        )
        return "\n".join(lines)


def date_columns(table: Table) -> list:
    """The table's date and datetime columns (UTCDateTime is a DateTime underneath)."""
    return [c for c in table.columns if isinstance(c.type, Date | DateTime) or _is_utc(c)]


def _is_utc(column) -> bool:
    return isinstance(getattr(column.type, "impl_instance", None), DateTime)


def rows_of(table: Table, org_id: int, _path: tuple = ()):
    """A WHERE clause for the organisation's rows of `table`, or None when nothing ties them.

    Directly by `organization_id`, else through a foreign key (required ones first) to a
    table that is tied, so tables added later are covered without being listed here.
    """
    if table.name == "organizations":
        return table.c.id == org_id
    if "organization_id" in table.c:
        return table.c.organization_id == org_id
    users = db.metadata.tables["users"]
    if table.name in BY_EMAIL:
        return table.c.email.in_(select(users.c.email).where(users.c.organization_id == org_id))
    for fk in sorted(table.foreign_keys, key=lambda k: (k.parent.nullable, k.parent.name)):
        parent = fk.column.table
        if parent is table or parent.name in _path:
            continue
        where = rows_of(parent, org_id, (*_path, table.name))
        if where is not None:
            return fk.parent.in_(select(fk.column).where(where))
    return None


def _shifted(column, days: int, dialect: str):
    """SQL for `column` moved forward by `days` whole days, on SQLite or PostgreSQL."""
    is_date = isinstance(column.type, Date)
    if dialect == "sqlite":
        if is_date:
            return func.date(column, f"+{days} days")
        # Stored as text 'YYYY-MM-DD HH:MM:SS.ffffff': shift the first 19 characters and keep
        # the fraction, which SQLite's datetime() would drop.
        return func.datetime(func.substr(column, 1, 19), f"+{days} days").concat(
            func.substr(column, 20)
        )
    if is_date:
        return column + literal_column(str(int(days)))
    return column + literal_column(f"interval '{int(days)} days'")


def refresh_demo(now: datetime | None = None) -> RefreshSummary:
    """Move every synthetic organisation forward to `now` (whole days) and commit."""
    from coach_app.services import analytics_facts
    from coach_app.services.reminders import plan_for_tasks

    now = now or datetime.now(UTC)
    summary = RefreshSummary()
    dialect = db.session.get_bind().dialect.name
    orgs = db.session.scalars(
        select(Organization).where(Organization.is_synthetic.is_(True)).order_by(Organization.id)
    ).all()
    plans = [(org.id, org.name, (now - org.created_at) // timedelta(days=1)) for org in orgs]
    plans = [plan for plan in plans if plan[2] > 0]
    if not plans:
        return summary
    with analytics_facts.paused():
        for org_id, name, days in plans:
            rows = 0
            for table in db.metadata.sorted_tables:
                columns = date_columns(table)
                if not columns or table.name in NOT_MOVED:
                    continue
                where = rows_of(table, org_id)
                if where is None:
                    raise RuntimeError(f"{table.name} has dates but no tie to an organisation")
                # One UPDATE per table, every date column at once: a column left out with an
                # `onupdate` (updated_at) would otherwise be stamped with the real time.
                values = {c.name: _shifted(c, days, dialect) for c in columns}
                rows += db.session.execute(table.update().where(where).values(values)).rowcount
            summary.moved.append((name, days, rows))
        db.session.expire_all()
        org_ids = [org_id for org_id, _, _ in plans]
        dropped, planned = _replan_reminders(org_ids, now, plan_for_tasks)
        summary.reminders_dropped, summary.reminders_planned = dropped, planned
        for org_id in org_ids:
            summary.facts += analytics_facts.rebuild_facts(org_id)
    db.session.commit()
    analytics_facts.analyze()
    return summary


def _replan_reminders(org_ids: list[int], now: datetime, plan_for_tasks) -> tuple[int, int]:
    """Drop reminders not yet sent and plan the open tasks' again from their moved deadlines.

    Task reminders are all rewritten because their text names the old deadline; the
    planner skips moments already past, so a demo refreshed today does not send a
    backlog at the next sweep. Other pending rows (digests, invitations) keep their text
    and go only if their moment has passed, as build_demo does.
    """
    pending = OutboxMessage.__table__
    in_orgs = pending.c.organization_id.in_(org_ids)
    dropped = db.session.execute(
        pending.delete().where(
            in_orgs,
            pending.c.status == "pending",
            or_(pending.c.task_id.is_not(None), pending.c.due_at < now),
            # A row put off after its in-app part went out keeps its notification's link.
            ~exists().where(Notification.outbox_id == pending.c.id),
        )
    ).rowcount
    tasks = db.session.scalars(
        select(FollowUpTask)
        .join(Opportunity, Opportunity.id == FollowUpTask.opportunity_id)
        .where(
            Opportunity.organization_id.in_(org_ids),
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
            or_(
                FollowUpTask.due_at > now - REMINDERS_AFTER_DUE,
                FollowUpTask.snoozed_until > now,
            ),
        )
        .options(selectinload(FollowUpTask.interview), selectinload(FollowUpTask.opportunity))
    ).all()
    planned = plan_for_tasks(tasks, now=now) if tasks else 0
    return dropped, planned
