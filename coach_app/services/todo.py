"""A client's to-do list: due today, coming up, overdue but still worth doing; then history.

The buckets come from `playbook.triage_bucket`; this module only reads the tasks. Misses past
their rule's horizon stay misses in every figure; they are listed apart, newest first.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from types import SimpleNamespace

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager, joinedload

from coach_app import playbook
from coach_app.access import bound_scoped, scope_params
from coach_app.extensions import db
from coach_app.models import ClientProfile, FollowUpTask, Opportunity, User
from coach_app.services.checklist import TaskRow, task_row

HISTORY_SHOWN = 20


@dataclass
class OpportunityGroup:
    """One opportunity's rows within a section of the list."""

    opportunity: Opportunity
    rows: list[TaskRow] = field(default_factory=list)


@dataclass
class TodoList:
    """The sections of a to-do list, each grouped by opportunity, soonest deadline first."""

    today: list[OpportunityGroup]
    upcoming: list[OpportunityGroup]
    overdue: list[OpportunityGroup]
    missed: list[TaskRow]
    missed_total: int

    @property
    def is_empty(self) -> bool:
        return not (self.today or self.upcoming or self.overdue)

    def count(self, section: str) -> int:
        """How many tasks a section holds."""
        return sum(len(group.rows) for group in getattr(self, section))


@cache
def _statements(role: str) -> SimpleNamespace:
    """The to-do list's statements for one role, built once per process.

    Values (the user's ids, the client, the clock) are bind parameters: building these
    expressions (joins, eager loads, the access scope) cost more Python time per request
    than running them.
    """
    cutoff = bindparam("cutoff", type_=FollowUpTask.due_at.type)
    open_tasks = bound_scoped(FollowUpTask, role).where(
        FollowUpTask.client_id == bindparam("client_id"),
        FollowUpTask.completed_at.is_(None),
        FollowUpTask.waived_reason.is_(None),
    )
    loaded = open_tasks.join(FollowUpTask.opportunity).options(
        contains_eager(FollowUpTask.opportunity), joinedload(FollowUpTask.referral)
    )
    return SimpleNamespace(
        recent=loaded.where(FollowUpTask.due_at > cutoff).order_by(
            FollowUpTask.due_at, FollowUpTask.id
        ),
        older=loaded.where(FollowUpTask.due_at <= cutoff)
        .order_by(FollowUpTask.due_at.desc(), FollowUpTask.id.desc())
        .limit(HISTORY_SHOWN),
        older_count=select(func.count()).select_from(
            open_tasks.where(FollowUpTask.due_at <= cutoff).subquery()
        ),
    )


def _grouped(rows: list[TaskRow]) -> list[OpportunityGroup]:
    groups: dict[int, OpportunityGroup] = {}
    for row in rows:  # rows arrive soonest first, so groups are ordered by their first row
        opportunity = row.task.opportunity
        groups.setdefault(opportunity.id, OpportunityGroup(opportunity)).rows.append(row)
    return list(groups.values())


def todo_list(client: ClientProfile | None, actor: User, now: datetime) -> TodoList:
    """The client's open tasks in triage order (two or three queries, whatever the history).

    Open tasks due within the longest horizon are read and sorted into buckets here; older
    ones are all past their horizon (missed), so only the newest HISTORY_SHOWN are read, and
    counted only when there may be more.
    """
    if client is None:
        return TodoList([], [], [], [], 0)
    tz_name = client.user.effective_timezone
    statements = _statements(actor.role)
    params = {
        **scope_params(actor),
        "client_id": client.id,
        "cutoff": now - playbook.LONGEST_HORIZON - timedelta(seconds=1),
    }
    recent = db.session.scalars(statements.recent, params).all()
    sections: dict[playbook.Bucket, list[TaskRow]] = {bucket: [] for bucket in playbook.Bucket}
    for task in recent:
        bucket = playbook.triage_bucket(
            rule=task.rule, due_at=task.due_at, now=now, tz_name=tz_name
        )
        sections[bucket].append(task_row(task, now))
    # Newest first: the recent misses (past their own rule's horizon), then the older ones.
    missed = sections[playbook.Bucket.MISSED][::-1]
    older = db.session.scalars(statements.older, params).all()
    older_total = len(older)
    if older_total == HISTORY_SHOWN:
        older_total = db.session.scalar(statements.older_count, params)
    missed += [task_row(task, now) for task in older]
    return TodoList(
        today=_grouped(sections[playbook.Bucket.TODAY]),
        upcoming=_grouped(sections[playbook.Bucket.UPCOMING]),
        # The most recent misses first: the freshest are the likeliest to still land.
        overdue=_grouped(sections[playbook.Bucket.OVERDUE][::-1]),
        missed=missed[:HISTORY_SHOWN],
        missed_total=len(sections[playbook.Bucket.MISSED]) + older_total,
    )
