"""Per-client pipeline figures computed from the tasks, and their stored copies' freshness.

`compute_summaries` is the one definition of a client's figures at an instant: the read model
stores its rows (services/read_model.py), and readers call it live for the few clients whose
stored row is not exact at their `now`. Status comes from the playbook's SQL CASE
(playbook/sql.py) and the same-day notes split from playbook/measures_sql.py, so the figures
are the playbook's own. The `live_*` expressions are the same figures as correlated
subqueries, for sorting and filtering a whole roster whose rows may be stale.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, and_, case, cast, func, or_, select
from sqlalchemy.sql.functions import coalesce

from coach_app.models import (
    ClientProfile,
    ClientSummary,
    FollowUpTask,
    Interview,
    Opportunity,
    Organization,
    User,
)
from coach_app.playbook import Rule, Status
from coach_app.playbook.measures_sql import (
    NOTES_CHECK,
    NOTES_SAME_DAY,
    notes_completed_same_day,
    task_notes_day_case,
)
from coach_app.playbook.sql import sql_constant, task_status_case

COMPLIANCE_WINDOW = timedelta(days=30)
_COUNTED = [Status.ON_TIME.value, Status.LATE.value, Status.MISSED.value]
_TASKS = FollowUpTask.__table__


def is_open(task=FollowUpTask):
    """Open = neither completed nor waived (`task`: the mapped class or a table's `.c`)."""
    return task.completed_at.is_(None) & task.waived_reason.is_(None)


def client_zone():
    """The client's own zone, else the organisation's: User.effective_timezone, in SQL."""
    return coalesce(User.timezone, Organization.timezone)


def _count(condition):
    return func.sum(case((condition, sql_constant(1)), else_=sql_constant(0)))


def _window_counts(task, now):
    """(on_time, counted) aggregates of tasks; the caller restricts them to the window."""
    status = task_status_case(task, now)
    return (
        _count(status == sql_constant(Status.ON_TIME.value)),
        _count(status.in_([sql_constant(s) for s in _COUNTED])),
    )


def compute_summaries(connection, client_ids: Iterable[int], at: datetime) -> list[dict]:
    """ClientSummary rows (as dicts) of these clients, exact at `at`; a fixed number of queries."""
    ids = sorted(set(client_ids))
    if not ids:
        return []
    since = at - COMPLIANCE_WINDOW
    rows = {row["client_id"]: row for row in _client_rows(connection, ids, at)}
    if not rows:
        return []
    to_check = _add_window(connection, rows, since, at)
    if to_check:
        _add_notes_checks(connection, rows, to_check, since, at)
    _add_stages(connection, rows)
    for row in rows.values():
        edge = row.pop("window_edge")
        leaves = edge + COMPLIANCE_WINDOW if edge is not None else None
        moments = [m for m in (_aware(row.pop("next_event")), leaves) if m is not None]
        row["fresh_until"] = min(moments) if moments else None
        row["as_of"] = at
    return [rows[client_id] for client_id in ids if client_id in rows]


def _client_rows(connection, ids: list[int], at: datetime) -> list[dict]:
    """Who the client is, their overdue count, next open task and next task deadline."""
    task = _TASKS.alias("t")
    mine = task.c.client_id == ClientProfile.id
    overdue = select(func.count()).where(mine, is_open(task.c), task.c.due_at < at)
    next_task_id = (
        select(task.c.id)
        .where(mine, is_open(task.c), task.c.due_at >= at)
        .order_by(task.c.due_at, task.c.id)
        .limit(1)
    )
    # The next deadline of any task that still counts (open, or completed early): the moment
    # it passes, the task turns missed or enters the window, and a figure moves.
    next_event = select(func.min(task.c.due_at)).where(
        mine, task.c.waived_reason.is_(None), task.c.due_at >= at
    )
    next_task = _TASKS.alias("next_task")
    statement = (
        select(
            ClientProfile.id.label("client_id"),
            ClientProfile.organization_id,
            ClientProfile.coach_id,
            ClientProfile.archived_at.is_not(None).label("archived"),
            client_zone().label("timezone"),
            overdue.scalar_subquery().label("overdue"),
            next_task.c.id.label("next_task_id"),
            next_task.c.rule.label("next_rule"),
            next_task.c.due_at.label("next_due_at"),
            next_event.scalar_subquery().label("next_event"),
        )
        .join(User, User.id == ClientProfile.user_id)
        .join(Organization, Organization.id == ClientProfile.organization_id)
        .outerjoin(next_task, next_task.c.id == next_task_id.scalar_subquery())
        .where(ClientProfile.id.in_(ids))
    )
    found = []
    for row in connection.execute(statement).mappings().all():
        found.append({**row, "archived": bool(row["archived"]), "overdue": int(row["overdue"])})
    return found


def _add_window(connection, rows: dict, since: datetime, at: datetime) -> list[int]:
    """The 30-day window's counts into `rows`; returns the clients with notes to check."""
    on_time, counted = _window_counts(FollowUpTask, at)
    # CASE evaluates lazily: the notes split only runs for notes tasks (one in eight rows).
    is_notes = FollowUpTask.rule == sql_constant(Rule.NOTES.value)
    notes = case((is_notes, task_notes_day_case(FollowUpTask, at)))
    counts_kept = FollowUpTask.waived_reason.is_(None)
    statement = (
        select(
            FollowUpTask.client_id,
            on_time,
            counted,
            _count(notes == sql_constant(NOTES_SAME_DAY)),
            _count(notes.is_not(None)),
            _count(notes == sql_constant(NOTES_CHECK)),
            # The oldest task that counts: the window's figures move when it leaves.
            func.min(case((counts_kept, FollowUpTask.due_at))),
        )
        .where(
            FollowUpTask.client_id.in_(list(rows)),
            FollowUpTask.due_at > since,
            FollowUpTask.due_at <= at,
        )
        .group_by(FollowUpTask.client_id)
    )
    for row in rows.values():
        row.update(on_time=0, counted=0, notes_same_day=0, notes_counted=0, window_edge=None)
    to_check = []
    for client_id, n_on_time, n_counted, same_day, n_notes, checks, edge in connection.execute(
        statement
    ):
        rows[client_id].update(
            on_time=int(n_on_time),
            counted=int(n_counted),
            notes_same_day=int(same_day),
            notes_counted=int(n_notes),
            window_edge=_aware(edge),
        )
        if checks:
            to_check.append(client_id)
    return to_check


def _aware(moment):
    # An aggregate over a CASE may come back untyped on some drivers: naive UTC, or text.
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _add_notes_checks(connection, rows: dict, to_check: list[int], since, at) -> None:
    """Notes completed 22-26 hours before their deadline: the zone decides the day."""
    statement = (
        select(
            FollowUpTask.client_id,
            FollowUpTask.due_at,
            FollowUpTask.completed_at,
            Interview.timezone,
        )
        .join(Interview, Interview.id == FollowUpTask.interview_id)
        .where(
            FollowUpTask.client_id.in_(to_check),
            FollowUpTask.rule == sql_constant(Rule.NOTES.value),
            FollowUpTask.due_at > since,
            FollowUpTask.due_at <= at,
            task_notes_day_case(FollowUpTask, at) == sql_constant(NOTES_CHECK),
        )
    )
    for client_id, due_at, completed_at, tz in connection.execute(statement):
        if notes_completed_same_day(due_at=due_at, completed_at=completed_at, tz=tz):
            rows[client_id]["notes_same_day"] += 1


def _add_stages(connection, rows: dict) -> None:
    """Open opportunities by latest round ([[1, 2], [2, 1]]) and decided counts."""
    stages: dict[int, dict[int, int]] = defaultdict(dict)
    decided: dict[int, dict[str, int]] = defaultdict(dict)
    statement = (
        select(Opportunity.client_id, Opportunity.outcome, Opportunity.rounds, func.count())
        .where(Opportunity.client_id.in_(list(rows)))
        .group_by(Opportunity.client_id, Opportunity.outcome, Opportunity.rounds)
    )
    for client_id, outcome, round_number, count in connection.execute(statement):
        if outcome == "open":
            stages[client_id][round_number or 0] = count
        else:
            decided[client_id][outcome] = decided[client_id].get(outcome, 0) + count
    for client_id, row in rows.items():
        row["stages"] = [list(pair) for pair in sorted(stages[client_id].items())]
        row["decided"] = [list(pair) for pair in sorted(decided[client_id].items())]


# --- stored or live: the sort and filter keys of a whole roster --------------------------------


def fresh(now: datetime):
    """True where the stored summary is exact at `now` (NULL, i.e. not, where there is none)."""
    return and_(
        ClientSummary.as_of <= now,
        or_(ClientSummary.fresh_until.is_(None), ClientSummary.fresh_until > now),
    )


def _stored_or_live(now: datetime, stored, live):
    return case((fresh(now), stored), else_=live.scalar_subquery())


def overdue_key(now: datetime):
    """A client's overdue count at `now` (ClientSummary outer-joined to ClientProfile)."""
    live = select(func.count()).where(
        FollowUpTask.client_id == ClientProfile.id, is_open(), FollowUpTask.due_at < now
    )
    return _stored_or_live(now, ClientSummary.overdue, live)


def next_due_key(now: datetime):
    """The due time of a client's next open task at `now` (NULL if none)."""
    live = select(func.min(FollowUpTask.due_at)).where(
        FollowUpTask.client_id == ClientProfile.id, is_open(), FollowUpTask.due_at >= now
    )
    return _stored_or_live(now, ClientSummary.next_due_at, live)


def compliance_key(now: datetime):
    """On time / counted over the 30-day window at `now` (NULL when nothing is counted)."""
    on_time, counted = _window_counts(FollowUpTask, now)
    live = select(cast(on_time, Float) / func.nullif(counted, 0)).where(
        FollowUpTask.client_id == ClientProfile.id,
        FollowUpTask.due_at > now - COMPLIANCE_WINDOW,
        FollowUpTask.due_at <= now,
    )
    stored = cast(ClientSummary.on_time, Float) / func.nullif(ClientSummary.counted, 0)
    return _stored_or_live(now, stored, live)
