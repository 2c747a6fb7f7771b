"""A client's to-do list: due today, coming up, overdue but still worth doing; then history.

The buckets come from `playbook.triage_bucket`; this module only reads the tasks. Misses past
their rule's horizon stay misses in every figure; they are listed apart, newest first.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from coach_app import playbook
from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import ClientProfile, FollowUpTask, Opportunity, User
from coach_app.playbook.sql import past_worth_doing
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


def _open_tasks(client: ClientProfile, actor: User):
    return (
        scoped(FollowUpTask, actor)
        .join(FollowUpTask.opportunity)
        .options(contains_eager(FollowUpTask.opportunity), joinedload(FollowUpTask.referral))
        .where(
            FollowUpTask.client_id == client.id,
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
        )
    )


def _past_horizon(now: datetime):
    return past_worth_doing(rule=FollowUpTask.rule, due_at=FollowUpTask.due_at, now=now)


def _grouped(rows: list[TaskRow]) -> list[OpportunityGroup]:
    groups: dict[int, OpportunityGroup] = {}
    for row in rows:  # rows arrive soonest first, so groups are ordered by their first row
        opportunity = row.task.opportunity
        groups.setdefault(opportunity.id, OpportunityGroup(opportunity)).rows.append(row)
    return list(groups.values())


def todo_list(client: ClientProfile | None, actor: User, now: datetime) -> TodoList:
    """The client's open tasks in triage order (three queries, each bounded by the horizon)."""
    if client is None:
        return TodoList([], [], [], [], 0)
    tz_name = client.user.effective_timezone
    earliest = now - playbook.LONGEST_HORIZON - timedelta(seconds=1)
    current = db.session.scalars(
        _open_tasks(client, actor)
        .where(FollowUpTask.due_at > earliest, ~_past_horizon(now))
        .order_by(FollowUpTask.due_at, FollowUpTask.id)
    ).all()
    sections: dict[playbook.Bucket, list[TaskRow]] = {bucket: [] for bucket in playbook.Bucket}
    for task in current:
        bucket = playbook.triage_bucket(
            rule=task.rule, due_at=task.due_at, now=now, tz_name=tz_name
        )
        sections[bucket].append(task_row(task, now))
    history = _open_tasks(client, actor).where(_past_horizon(now))
    missed = db.session.scalars(
        history.order_by(FollowUpTask.due_at.desc(), FollowUpTask.id.desc()).limit(HISTORY_SHOWN)
    ).all()
    missed_total = db.session.scalar(select(func.count()).select_from(history.subquery()))
    return TodoList(
        today=_grouped(sections[playbook.Bucket.TODAY]),
        upcoming=_grouped(sections[playbook.Bucket.UPCOMING]),
        # The most recent misses first: the freshest are the likeliest to still land.
        overdue=_grouped(sections[playbook.Bucket.OVERDUE][::-1]),
        missed=[task_row(task, now) for task in missed],
        missed_total=missed_total,
    )
