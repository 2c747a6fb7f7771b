"""The exceptions queue: open tasks due today, coming up this week, or overdue but still
worth doing, grouped by rule and kind (coach_app/playbook/triage.py).

Each client's "today" is their own local day. Their effective time zone, coach and archive
flag are read from their summary row (models/summaries.py): the zones in play come from an
index of the summaries alone, with no DISTINCT over the roster joined to users and
organisations.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, false, func, literal, select, union_all

from coach_app.access import summary_scope
from coach_app.extensions import db
from coach_app.models import ClientProfile, ClientSummary, FollowUpTask, Opportunity, Role, User
from coach_app.playbook import LONGEST_HORIZON, RULES, PlaybookError
from coach_app.playbook.clock import end_of_local_day, local_date
from coach_app.playbook.sql import past_worth_doing
from coach_app.services.pipeline.rows import rule_title
from coach_app.services.summary_sql import is_open

EXCEPTION_ROWS_PER_GROUP = 10
OVERDUE, DUE_TODAY, COMING_UP = "overdue", "due_today", "coming_up"
# In the order the queue shows them: today's work, what comes next, then what slipped.
KINDS = (DUE_TODAY, COMING_UP, OVERDUE)
# How far ahead "coming up" looks: the week a coach plans their nudges for.
COMING_UP_DAYS = 7


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
    the first `limit` rows of each group (or one group's rows from `offset`, to page through),
    the last two over the same candidate tasks, selected once.
    """
    now = now or datetime.now(UTC)
    conditions = [summary_scope(user), ClientSummary.archived == false()]
    if user.role == Role.ADMIN and coach_id:
        conditions.append(ClientSummary.coach_id == coach_id)
    zone = ClientSummary.timezone
    zones = list(db.session.scalars(select(zone).where(*conditions).distinct()))
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
            .join(ClientSummary, ClientSummary.client_id == FollowUpTask.client_id)
            .where(is_open(), *conditions)
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
            stmt = stmt.where(
                FollowUpTask.due_at >= now,
                FollowUpTask.due_at <= max(ends.values()),  # lets the index bound the scan
                FollowUpTask.due_at <= end_of_today,
            )
        else:  # coming up: after the client's today, within the week
            stmt = stmt.where(
                FollowUpTask.due_at > now,
                FollowUpTask.due_at <= now + timedelta(days=COMING_UP_DAYS),
                FollowUpTask.due_at > end_of_today,
            )
        return stmt.where(FollowUpTask.rule == rule) if rule else stmt

    kinds = [kind] if kind in KINDS else list(KINDS)
    # The queue's open tasks, selected once: the counts and the rows shown both read them.
    candidates = union_all(
        *[
            tasks_of(k).with_only_columns(
                FollowUpTask.id.label("task_id"),
                FollowUpTask.rule.label("rule"),
                literal(k).label("kind"),
                FollowUpTask.client_id.label("client_id"),
                FollowUpTask.due_at.label("due_at"),
            )
            for k in kinds
        ]
    ).cte("candidates")
    counts = db.session.execute(
        select(
            candidates.c.rule,
            candidates.c.kind,
            func.count(func.distinct(candidates.c.client_id)),
            func.count(),
        ).group_by(candidates.c.rule, candidates.c.kind)
    ).all()
    groups = {
        (r, k): ExceptionGroup(rule=r, title=rule_title(r), kind=k, clients=c, tasks=t)
        for r, k, c, t in counts
    }
    if not groups:
        return []

    # Each group's rows from `offset`, numbered within the group by a window: overdue most
    # recently missed first (the most actionable), the others soonest first.
    group_by = (candidates.c.rule, candidates.c.kind)
    newest = func.row_number().over(
        partition_by=group_by, order_by=(candidates.c.due_at.desc(), candidates.c.task_id.desc())
    )
    soonest = func.row_number().over(
        partition_by=group_by, order_by=(candidates.c.due_at, candidates.c.task_id)
    )
    position = case((candidates.c.kind == OVERDUE, newest), else_=soonest)
    numbered = select(
        candidates.c.task_id, candidates.c.rule, candidates.c.kind, position.label("n")
    ).subquery()
    ranked = (
        select(numbered.c.task_id, numbered.c.rule, numbered.c.kind)
        .where(numbered.c.n > offset, numbered.c.n <= offset + limit)
        .subquery()
    )
    # Only the rows shown are joined to their client and opportunity.
    stmt = (
        select(
            ranked.c.task_id,
            ranked.c.rule,
            ranked.c.kind,
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
        .join(ClientSummary, ClientSummary.client_id == ClientProfile.id)
        .join(Opportunity, Opportunity.id == FollowUpTask.opportunity_id)
    )
    for r in db.session.execute(stmt):
        groups[(r.rule, r.kind)].items.append(
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
