"""Read-side queries for coaches: the client pipeline and the exceptions queue.

Both pages answer with a fixed number of SQL statements whatever the number of clients:
per-client figures come from GROUP BY aggregates over the task table, with the playbook's
status as a SQL CASE (coach_app.playbook.sql) and the same-day notes split from
coach_app.playbook.measures_sql. Only the rows of the page being shown are ever loaded.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from types import SimpleNamespace

from sqlalchemy import Float, Integer, bindparam, case, cast, func, literal, or_, select, union_all
from sqlalchemy.sql.functions import coalesce

from coach_app.access import bound_scope_user, client_scope, scope_params
from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    Cohort,
    CohortMember,
    FollowUpTask,
    Interview,
    Opportunity,
    Organization,
    Role,
    User,
)
from coach_app.playbook import LONGEST_HORIZON, RULES, PlaybookError, Rate, Rule, Status
from coach_app.playbook.clock import end_of_local_day, local_date
from coach_app.playbook.measures_sql import (
    NOTES_CHECK,
    NOTES_SAME_DAY,
    notes_completed_same_day,
    task_notes_day_case,
)
from coach_app.playbook.sql import past_worth_doing, sql_constant, task_status_case

COMPLIANCE_WINDOW = timedelta(days=30)
SORTS = ("name", "compliance", "overdue", "next_due", "last_activity")
ARCHIVE_FILTERS = ("active", "archived", "all")
# Rows a coach may choose per page; the default is PAGE_SIZE (25).
PAGE_SIZES = (25, 50, 100)
EXCEPTION_ROWS_PER_GROUP = 10
OVERDUE, DUE_TODAY, COMING_UP = "overdue", "due_today", "coming_up"
# In the order the queue shows them: today's work, what comes next, then what slipped.
KINDS = (DUE_TODAY, COMING_UP, OVERDUE)
# How far ahead "coming up" looks: the week a coach plans their nudges for.
COMING_UP_DAYS = 7
LIKE_ESCAPE = "/"

_COUNTED = [Status.ON_TIME.value, Status.LATE.value, Status.MISSED.value]


def _open(task=FollowUpTask):
    # `task` is the mapped class or a table alias's `.c`: both name the same columns.
    return task.completed_at.is_(None) & task.waived_reason.is_(None)


def _client_zone():
    # The client's own zone, else the organisation's: User.effective_timezone, in SQL.
    return coalesce(User.timezone, Organization.timezone)


@dataclass(frozen=True)
class PipelineQuery:
    """What the coach asked to see: filters, sort and page (already cleaned)."""

    sort: str = "name"
    descending: bool = False
    q: str = ""
    cohort_id: int | None = None
    coach_id: int | None = None
    overdue_only: bool = False
    archived: str = "active"
    page: int = 1
    per_page: int | None = None  # one of PAGE_SIZES, or the configured default

    @classmethod
    def from_args(cls, args) -> "PipelineQuery":
        """Build from request.args, ignoring anything malformed (a filter never errors)."""
        sort = args.get("sort", "name")
        archived = args.get("archived", "active")
        per_page = _int_or_none(args.get("per_page"))
        return cls(
            sort=sort if sort in SORTS else "name",
            descending=args.get("dir") == "desc",
            q=(args.get("q") or "").strip()[:100],
            cohort_id=_int_or_none(args.get("cohort")),
            coach_id=_int_or_none(args.get("coach")),
            overdue_only=args.get("overdue") in ("1", "on", "true", "y"),
            archived=archived if archived in ARCHIVE_FILTERS else "active",
            page=max(1, _int_or_none(args.get("page")) or 1),
            per_page=per_page if per_page in PAGE_SIZES else None,
        )


def _int_or_none(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # Larger ids can't exist and would overflow PostgreSQL's integer parameters.
    return number if 0 < number < 2**31 else None


@dataclass
class NextDue:
    task_id: int
    rule: str
    title: str
    due_at: datetime


@dataclass
class PipelineRow:
    """One client's line in the pipeline."""

    client_id: int
    name: str
    email: str
    timezone: str
    signed_up: bool
    archived_at: datetime | None
    coach_name: str
    last_activity_at: datetime | None
    compliance: Rate
    notes_rate: Rate
    overdue: int
    next_due: NextDue | None = None
    # Open opportunities by their latest round: (round number, count); round 0 = none yet.
    stages: list[tuple[int, int]] = field(default_factory=list)
    decided: list[tuple[str, int]] = field(default_factory=list)

    @property
    def stages_text(self) -> str:
        """'2 open: round 1, round 2' or '3 open: 2 in round 1, 1 in round 2' ('' if none)."""
        total = sum(count for _round, count in self.stages)
        if not total:
            return ""
        if all(count == 1 for _round, count in self.stages):
            parts = [f"round {n}" if n else "no interview yet" for n, _count in self.stages]
        else:
            parts = [
                f"{count} in round {n}" if n else f"{count} with no interview yet"
                for n, count in self.stages
            ]
        return f"{total} open: " + ", ".join(parts)

    @property
    def decided_text(self) -> str:
        """'1 offer, 2 no response' (empty when nothing is decided)."""
        return ", ".join(f"{count} {outcome.replace('_', ' ')}" for outcome, count in self.decided)


@dataclass
class PipelinePage:
    rows: list[PipelineRow]
    total: int
    page: int
    pages: int
    per_page: int


def _scope_conditions(user, shape: "_Shape") -> list:
    """Where-clauses on ClientProfile (and User, for the name search) for this pipeline.

    Built once per shape with a bound stand-in user; the values arrive as parameters.
    """
    conditions = [client_scope(user)]
    if shape.by_coach:
        conditions.append(ClientProfile.coach_id == bindparam("coach_id"))
    if shape.archived == "active":
        conditions.append(ClientProfile.archived_at.is_(None))
    elif shape.archived == "archived":
        conditions.append(ClientProfile.archived_at.is_not(None))
    if shape.by_cohort:
        members = select(CohortMember.client_id).where(
            CohortMember.cohort_id == bindparam("cohort_id")
        )
        conditions.append(ClientProfile.id.in_(members))
    if shape.by_name:
        pattern = bindparam("name_pattern")
        conditions.append(
            or_(
                User.name.icontains(pattern, escape=LIKE_ESCAPE),
                User.email.icontains(pattern, escape=LIKE_ESCAPE),
            )
        )
    return conditions


def _scope_ids(user, shape: "_Shape"):
    """Subquery of the client ids on this pipeline (tenancy, coach, archive, cohort, name)."""
    stmt = select(ClientProfile.id).where(*_scope_conditions(user, shape))
    if shape.by_name:
        stmt = stmt.join(User, User.id == ClientProfile.user_id)
    return stmt


def _like_escaped(text: str) -> str:
    """`text` with LIKE's wildcards escaped, to be matched literally."""
    for special in (LIKE_ESCAPE, "%", "_"):  # the escape character itself first
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def _task_aggregates(ids, now, since, *, with_notes: bool = True):
    """Per-client counts over the compliance window (tasks due in (since, now])."""
    status = task_status_case(FollowUpTask, now)
    one, zero = sql_constant(1), sql_constant(0)

    def count(condition):
        return func.sum(case((condition, one), else_=zero))

    columns = [
        FollowUpTask.client_id.label("client_id"),
        count(status == sql_constant(Status.ON_TIME.value)).label("on_time"),
        count(status.in_([sql_constant(s) for s in _COUNTED])).label("counted"),
    ]
    if with_notes:
        # CASE evaluates lazily: the notes split only runs for notes tasks (one in eight rows).
        is_notes = FollowUpTask.rule == sql_constant(Rule.NOTES.value)
        notes = case((is_notes, task_notes_day_case(FollowUpTask, now)))
        columns += [
            count(notes == sql_constant(NOTES_SAME_DAY)).label("notes_same_day"),
            count(notes.is_not(None)).label("notes_counted"),
            count(notes == sql_constant(NOTES_CHECK)).label("notes_to_check"),
        ]
    return (
        select(*columns)
        .where(
            FollowUpTask.client_id.in_(ids),
            FollowUpTask.due_at > since,
            FollowUpTask.due_at <= now,
        )
        .group_by(FollowUpTask.client_id)
        .subquery("window_agg")
    )


def _open_aggregates(ids, now):
    """Per-client overdue count and next deadline, from open tasks only (partial index)."""
    return (
        select(
            FollowUpTask.client_id.label("client_id"),
            func.sum(case((FollowUpTask.due_at < now, 1), else_=0)).label("overdue"),
            func.min(case((FollowUpTask.due_at >= now, FollowUpTask.due_at))).label("next_due"),
        )
        .where(FollowUpTask.client_id.in_(ids), _open())
        .group_by(FollowUpTask.client_id)
        .subquery("open_agg")
    )


@dataclass(frozen=True)
class _Shape:
    """What decides the pipeline's SQL (not its values): one pair of statements per shape."""

    role: str
    by_coach: bool
    archived: str
    by_cohort: bool
    by_name: bool
    sort: str
    descending: bool
    overdue_only: bool

    @classmethod
    def of(cls, user, query: PipelineQuery) -> "_Shape":
        """The shape of `query` as asked by `user`."""
        return cls(
            role=user.role,
            by_coach=user.role == Role.ADMIN and query.coach_id is not None,
            archived=query.archived,
            by_cohort=query.cohort_id is not None,
            by_name=bool(query.q),
            sort=query.sort,
            descending=query.descending,
            overdue_only=query.overdue_only,
        )


@cache
def _roster_statements(shape: _Shape) -> SimpleNamespace:
    """The count and the page of client ids for one shape, built once per process.

    Values (the user's ids, filters, clock, page) are bind parameters: building these
    expressions cost more Python time per request than running them.
    """
    user = bound_scope_user(shape.role)
    now = bindparam("now", type_=FollowUpTask.due_at.type)
    ids = _scope_ids(user, shape)
    # The filters apply to the clients directly: an IN over a subquery of the same table
    # made PostgreSQL hash the whole client table against the coach's few hundred ids.
    order = select(ClientProfile.id).join(User, User.id == ClientProfile.user_id)
    order = order.where(*_scope_conditions(user, shape))
    sort_key = {"name": func.lower(User.name), "last_activity": ClientProfile.last_activity_at}
    needs_open = shape.overdue_only or shape.sort in ("overdue", "next_due")
    if needs_open:
        open_ = _open_aggregates(ids, now)
        sort_key["overdue"] = coalesce(open_.c.overdue, 0)
        sort_key["next_due"] = open_.c.next_due
    # The count needs the filters only: never the aggregates a sort uses, and the users
    # table only to search by name.
    counted = ids
    if shape.overdue_only:
        order = order.join(open_, open_.c.client_id == ClientProfile.id)
        order = order.where(open_.c.overdue > 0)
        counted = counted.join(open_, open_.c.client_id == ClientProfile.id)
        counted = counted.where(open_.c.overdue > 0)
    count = select(func.count()).select_from(counted.subquery())
    if needs_open and not shape.overdue_only:
        order = order.outerjoin(open_, open_.c.client_id == ClientProfile.id)
    if shape.sort == "compliance":
        since = bindparam("since", type_=FollowUpTask.due_at.type)
        window = _task_aggregates(ids, now, since, with_notes=False)
        order = order.outerjoin(window, window.c.client_id == ClientProfile.id)
        sort_key["compliance"] = cast(window.c.on_time, Float) / func.nullif(window.c.counted, 0)
    key = sort_key[shape.sort]
    ordering = [key.desc() if shape.descending else key.asc()]
    if shape.sort in ("compliance", "next_due", "last_activity"):
        # Clients without a value (no counted task, nothing due) go last in both directions.
        ordering.insert(0, key.is_(None))
    if shape.sort != "name":
        ordering.append(sort_key["name"])
    # The total rides along as an uncorrelated subquery, which the database runs once; a
    # count(*) OVER () window made SQLite buffer every client of the roster first.
    page = (
        order.add_columns(count.scalar_subquery().label("total"))
        .order_by(*ordering, ClientProfile.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    return SimpleNamespace(count=count, page=page)


def pipeline(user, query: PipelineQuery, *, per_page: int, now: datetime | None = None):
    """The page of the pipeline `user` asked for; a fixed number of queries for any roster.

    The whole roster is aggregated only for what the sort or filter needs (open tasks for
    overdue / next due, the 30-day window for compliance); the figures shown are computed for
    the page's clients alone, so sorting by name costs the same for 50 clients or 5,000.
    """
    now = now or datetime.now(UTC)
    statements = _roster_statements(_Shape.of(user, query))
    params = {
        **scope_params(user),
        "coach_id": query.coach_id,
        "cohort_id": query.cohort_id,
        "name_pattern": _like_escaped(query.q),
        "now": now,
        "since": now - COMPLIANCE_WINDOW,
    }
    # Core execution on the session's connection: these rows are plain values, and the
    # ORM's result machinery cost more than the SQL here.
    connection = db.session.connection()
    page = query.page
    params.update(limit=per_page, offset=(page - 1) * per_page)
    found = connection.execute(statements.page, params).all()
    if found:
        total = found[0][1]  # (id, total): counted by the same statement, before its LIMIT
    else:
        # No one here, or a page past the last one: count, then show the last page.
        total = connection.execute(statements.count, params).scalar_one()
        page = min(page, max(1, math.ceil(total / per_page)))
        if total:
            params.update(offset=(page - 1) * per_page)
            found = connection.execute(statements.page, params).all()
    pages = max(1, math.ceil(total / per_page))
    page_ids = [client_id for client_id, _total in found]
    rows = _page_rows(page_ids, now) if page_ids else []
    return PipelinePage(rows=rows, total=total, page=page, pages=pages, per_page=per_page)


@cache
def _page_statements() -> SimpleNamespace:
    """The figures of one page of clients, as statements built once per process.

    Building these expressions (the playbook's status and notes CASEs) costs more Python
    time than running them; with bound parameters for the ids and the clock, each request
    only executes them (and SQLAlchemy reuses their compiled SQL).
    """
    ids = bindparam("ids", expanding=True)
    now = bindparam("now", type_=FollowUpTask.due_at.type)
    since = bindparam("since", type_=FollowUpTask.due_at.type)
    window = _task_aggregates(ids, now, since)
    zero = sql_constant(0)
    # The rare notes completions near a local-day boundary, decided with the playbook clock.
    notes_checks = (
        select(
            FollowUpTask.client_id,
            FollowUpTask.due_at,
            FollowUpTask.completed_at,
            Interview.timezone,
        )
        .join(Interview, Interview.id == FollowUpTask.interview_id)
        .where(
            FollowUpTask.client_id.in_(ids),
            FollowUpTask.rule == sql_constant(Rule.NOTES.value),
            FollowUpTask.due_at > since,
            FollowUpTask.due_at <= now,
            task_notes_day_case(FollowUpTask, now) == sql_constant(NOTES_CHECK),
        )
    )
    # Per client, correlated on the open-task index: the overdue count, and the earliest
    # open task not yet due (its id, then the task itself by primary key). Fifty index
    # probes cost less than grouping every open task of the page and joining the groups.
    open_task = FollowUpTask.__table__.alias("open_task")
    is_open = _open(open_task.c)
    overdue = (
        select(func.count())
        .where(open_task.c.client_id == ClientProfile.id, is_open, open_task.c.due_at < now)
        .scalar_subquery()
    )
    next_task_id = (
        select(open_task.c.id)
        .where(open_task.c.client_id == ClientProfile.id, is_open, open_task.c.due_at >= now)
        .order_by(open_task.c.due_at, open_task.c.id)
        .limit(1)
        .scalar_subquery()
    )
    next_task = FollowUpTask.__table__.alias("next_task")
    coach = User.__table__.alias("coach")
    rows = (
        select(
            ClientProfile.id,
            User.name,
            User.email,
            _client_zone().label("tz"),
            User.password_hash.is_not(None).label("signed_up"),
            ClientProfile.archived_at,
            ClientProfile.last_activity_at,
            coach.c.name.label("coach_name"),
            coalesce(window.c.on_time, zero).label("on_time"),
            coalesce(window.c.counted, zero).label("counted"),
            coalesce(window.c.notes_same_day, zero).label("notes_same_day"),
            coalesce(window.c.notes_counted, zero).label("notes_counted"),
            window.c.notes_to_check,
            overdue.label("overdue"),
            next_task.c.id.label("next_task_id"),
            next_task.c.rule.label("next_rule"),
            next_task.c.due_at.label("next_due_at"),
        )
        .join(User, User.id == ClientProfile.user_id)
        .join(Organization, Organization.id == ClientProfile.organization_id)
        .join(coach, coach.c.id == ClientProfile.coach_id)
        .outerjoin(window, window.c.client_id == ClientProfile.id)
        .outerjoin(next_task, next_task.c.id == next_task_id)
        .where(ClientProfile.id.in_(ids))
    )
    # Opportunities by outcome and latest round (an index-only read).
    stages = (
        select(Opportunity.client_id, Opportunity.outcome, Opportunity.rounds, func.count())
        .where(Opportunity.client_id.in_(ids))
        .group_by(Opportunity.client_id, Opportunity.outcome, Opportunity.rounds)
    )
    return SimpleNamespace(rows=rows, notes_checks=notes_checks, stages=stages)


def _page_rows(page_ids: list[int], now: datetime) -> list[PipelineRow]:
    """The page's clients with their figures, in page order (two or three statements)."""
    statements = _page_statements()
    params = {"ids": page_ids, "now": now, "since": now - COMPLIANCE_WINDOW}
    connection = db.session.connection()
    by_id: dict[int, PipelineRow] = {}
    to_check = []
    # Unpacked by position, in the statement's column order: looking up 17 columns by name
    # on each Row cost more than building the rows themselves.
    for (
        client_id, name, email, tz, signed_up, archived_at, last_activity_at, coach_name,
        on_time, counted, notes_same_day, notes_counted, notes_to_check, overdue,
        next_task_id, next_rule, next_due_at,
    ) in connection.execute(statements.rows, params).all():  # fmt: skip
        by_id[client_id] = PipelineRow(
            client_id=client_id,
            name=name,
            email=email,
            timezone=tz,
            signed_up=bool(signed_up),
            archived_at=archived_at,
            coach_name=coach_name,
            last_activity_at=last_activity_at,
            compliance=Rate(int(on_time), int(counted)),
            notes_rate=Rate(int(notes_same_day), int(notes_counted)),
            overdue=int(overdue),
            next_due=_next_due(next_task_id, next_rule, next_due_at),
        )
        if notes_to_check:
            to_check.append(client_id)
    # Notes completed 22-26 hours before their deadline need the client's zone to tell the
    # day; they are rare, so their rows are fetched only for the clients that have them.
    if to_check:
        checks = connection.execute(statements.notes_checks, {**params, "ids": to_check})
        for client_id, due_at, completed_at, tz in checks.all():
            if notes_completed_same_day(due_at=due_at, completed_at=completed_at, tz=tz):
                row = by_id[client_id]
                row.notes_rate = Rate(row.notes_rate.numerator + 1, row.notes_rate.denominator)
    _add_stages(by_id, connection.execute(statements.stages, params).all())
    return [by_id[client_id] for client_id in page_ids if client_id in by_id]


def _next_due(task_id: int | None, rule: str | None, due_at: datetime | None) -> NextDue | None:
    if task_id is None:
        return None
    return NextDue(task_id, rule, rule_title(rule), due_at)


def rule_title(rule: str) -> str:
    """The playbook's title for a stored rule id (the raw id if it is unknown)."""
    try:
        return RULES[Rule(rule)].title
    except ValueError:
        return rule


def _add_stages(by_id: dict[int, PipelineRow], counts) -> None:
    """Open opportunities by their latest round ([(1, 2), (2, 1)]) and decided counts."""
    stages: dict[int, dict[int, int]] = {client_id: {} for client_id in by_id}
    decided: dict[int, dict[str, int]] = {client_id: {} for client_id in by_id}
    for client_id, outcome, round_number, count in counts:
        if outcome == "open":
            stages[client_id][round_number or 0] = count
        else:
            decided[client_id][outcome] = decided[client_id].get(outcome, 0) + count
    for client_id, row in by_id.items():
        row.stages = sorted(stages[client_id].items())
        row.decided = sorted(decided[client_id].items())


def cohort_choices(user) -> list[tuple[int, str]]:
    """Cohorts the pipeline can filter by: those holding at least one client in scope."""
    statement = _cohort_choices_statement(user.role)
    return list(db.session.connection().execute(statement, scope_params(user)).all())


@cache
def _cohort_choices_statement(role: str):
    user = bound_scope_user(role)
    # Driven by the organisation's cohorts (a few), each probed for one member in scope: an
    # IN list over the members of every client in scope read the whole roster each time.
    has_member_in_scope = (
        select(CohortMember.client_id)
        .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
        .where(CohortMember.cohort_id == Cohort.id, client_scope(user))
        .exists()
    )
    return (
        select(Cohort.id, Cohort.name)
        .where(Cohort.organization_id == user.organization_id, has_member_in_scope)
        .order_by(Cohort.name)
    )


def coach_choices(organization_id: int) -> list[tuple[int, str]]:
    """The organisation's coaches, for filters and select boxes."""
    return list(
        db.session.execute(
            select(User.id, User.name)
            .where(User.organization_id == organization_id, User.role == Role.COACH)
            .order_by(User.name)
        ).all()
    )


# --- exceptions queue -----------------------------------------------------------------------


@dataclass
class ExceptionItem:
    task_id: int
    client_id: int
    client_name: str
    company: str
    role: str
    due_at: datetime
    timezone: str


@dataclass
class ExceptionGroup:
    rule: str
    title: str
    kind: str
    clients: int
    tasks: int
    items: list[ExceptionItem] = field(default_factory=list)

    @property
    def heading(self) -> str:
        """'Thank-you email overdue: 3 clients'."""
        when = {OVERDUE: "overdue", DUE_TODAY: "due today", COMING_UP: "coming up"}[self.kind]
        noun = "client" if self.clients == 1 else "clients"
        return f"{self.title} {when}: {self.clients} {noun}"


def _end_of_today_by_zone(zones: list[str], now: datetime) -> dict[str, datetime]:
    ends = {}
    for name in zones:
        try:
            ends[name] = end_of_local_day(local_date(now, name), name)
        except PlaybookError:  # an unknown stored zone: fall back to UTC's day
            ends[name] = end_of_local_day(local_date(now, "UTC"), "UTC")
    return ends


def exceptions(
    user,
    *,
    coach_id: int | None = None,
    rule: str | None = None,
    kind: str | None = None,
    limit: int = EXCEPTION_ROWS_PER_GROUP,
    offset: int = 0,
    now: datetime | None = None,
) -> list[ExceptionGroup]:
    """Open tasks due today (each client's local day), coming up this week, or overdue but
    still worth doing, grouped by rule and kind.

    Three queries whatever the roster: the clients' distinct zones, the group counts, and
    the first `limit` rows of each group (or one group's rows from `offset`, to page through).
    """
    now = now or datetime.now(UTC)
    conditions = [client_scope(user), ClientProfile.archived_at.is_(None)]
    if user.role == Role.ADMIN and coach_id:
        conditions.append(ClientProfile.coach_id == coach_id)
    zone = _client_zone()
    zones = list(
        db.session.scalars(
            select(zone)
            .select_from(ClientProfile)
            .join(User, User.id == ClientProfile.user_id)
            .join(Organization, Organization.id == ClientProfile.organization_id)
            .where(*conditions)
            .distinct()
        )
    )
    if not zones:
        return []
    ends = _end_of_today_by_zone(zones, now)
    stamp = FollowUpTask.due_at.type  # binds as naive UTC, like the column itself
    end_of_today = case(
        *[(zone == name, literal(end, stamp)) for name, end in ends.items()],
        else_=literal(now, stamp),
    )

    def tasks_of(which: str):
        """Open tasks of one kind; only "due today" needs each client's zone (few rows)."""
        stmt = (
            select(FollowUpTask.id)
            .join(ClientProfile, ClientProfile.id == FollowUpTask.client_id)
            .where(_open(), *conditions)
        )
        if which == OVERDUE:
            # Misses still worth doing only: the queue is a to-do list, and months-old misses
            # would bury today's work (they stay on the client's page and in compliance).
            stmt = stmt.where(
                FollowUpTask.due_at >= now - LONGEST_HORIZON,  # lets the index bound the scan
                FollowUpTask.due_at < now,
                ~past_worth_doing(rule=FollowUpTask.rule, due_at=FollowUpTask.due_at, now=now),
            )
        elif which == DUE_TODAY:
            stmt = (
                stmt.join(User, User.id == ClientProfile.user_id)
                .join(Organization, Organization.id == ClientProfile.organization_id)
                .where(
                    FollowUpTask.due_at >= now,
                    FollowUpTask.due_at <= max(ends.values()),  # lets the index bound the scan
                    FollowUpTask.due_at <= end_of_today,
                )
            )
        else:  # coming up: after the client's today, within the week
            stmt = (
                stmt.join(User, User.id == ClientProfile.user_id)
                .join(Organization, Organization.id == ClientProfile.organization_id)
                .where(
                    FollowUpTask.due_at > now,
                    FollowUpTask.due_at <= now + timedelta(days=COMING_UP_DAYS),
                    FollowUpTask.due_at > end_of_today,
                )
            )
        return stmt.where(FollowUpTask.rule == rule) if rule else stmt

    kinds = [kind] if kind in KINDS else list(KINDS)
    flat = union_all(
        *[
            tasks_of(k).with_only_columns(
                FollowUpTask.rule.label("rule"),
                literal(k).label("kind"),
                FollowUpTask.client_id.label("client_id"),
            )
            for k in kinds
        ]
    ).subquery()
    counts = db.session.execute(
        select(
            flat.c.rule,
            flat.c.kind,
            func.count(func.distinct(flat.c.client_id)),
            func.count(),
        ).group_by(flat.c.rule, flat.c.kind)
    ).all()
    groups = {
        (r, k): ExceptionGroup(rule=r, title=rule_title(r), kind=k, clients=c, tasks=t)
        for r, k, c, t in counts
    }
    if not groups:
        return []

    # One statement, one small part per group (at most two per rule), each sorted and cut
    # to its first rows before anything is joined to it.
    # Overdue: most recently missed first (the most actionable); due today: soonest first.
    parts = []
    for position, (group_rule, group_kind) in enumerate(sorted(groups)):
        part = (
            tasks_of(group_kind)
            .with_only_columns(FollowUpTask.id.label("task_id"), literal(position).label("part"))
            .where(FollowUpTask.rule == group_rule)
        )
        if group_kind == OVERDUE:
            part = part.order_by(FollowUpTask.due_at.desc(), FollowUpTask.id.desc())
        else:
            part = part.order_by(FollowUpTask.due_at, FollowUpTask.id)
        parts.append(select(part.limit(limit).offset(offset).subquery()))
    ranked = union_all(*parts).subquery()
    # Only the rows shown are joined to their client and opportunity.
    stmt = (
        select(
            ranked.c.task_id,
            ranked.c.part,
            FollowUpTask.due_at,
            ClientProfile.id.label("client_id"),
            User.name.label("client_name"),
            zone.label("tz"),
            Opportunity.company,
            Opportunity.role,
        )
        .join(FollowUpTask, FollowUpTask.id == ranked.c.task_id)
        .join(ClientProfile, ClientProfile.id == FollowUpTask.client_id)
        .join(User, User.id == ClientProfile.user_id)
        .join(Organization, Organization.id == ClientProfile.organization_id)
        .join(Opportunity, Opportunity.id == FollowUpTask.opportunity_id)
    )
    keys = sorted(groups)
    for r in db.session.execute(stmt):
        groups[keys[r.part]].items.append(
            ExceptionItem(r.task_id, r.client_id, r.client_name, r.company, r.role, r.due_at, r.tz)
        )
    for group in groups.values():  # the join does not keep each part's order
        newest_first = group.kind == OVERDUE
        group.items.sort(key=lambda item: (item.due_at, item.task_id), reverse=newest_first)
    rule_order = {rule_id.value: i for i, rule_id in enumerate(RULES)}
    return sorted(
        groups.values(),
        key=lambda g: (KINDS.index(g.kind), rule_order.get(g.rule, len(rule_order)), g.rule),
    )
