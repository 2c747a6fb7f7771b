"""Which reminders a task implies, and writing them to the outbox.

The timing rules (nudge, morning of the due day, two hours before, overdue, quiet hours)
live in coach_app.playbook.reminders; this module turns them into outbox rows in the
caller's transaction and cancels rows a change has made pointless.
"""

from datetime import UTC, datetime

from sqlalchemy import select, update

from coach_app.extensions import db
from coach_app.models import ClientProfile, FollowUpTask, OutboxMessage, User
from coach_app.playbook import RULES, Rule
from coach_app.playbook import reminders as policy
from coach_app.urls import absolute_url


def _task_link(task: FollowUpTask) -> str:
    return absolute_url("client.task", task_id=task.id)


def _subject(kind: str, task: FollowUpTask, opportunity) -> str:
    title = RULES[Rule(task.rule)].title
    where = f"{opportunity.company}"
    return {
        policy.NUDGE: f"Today's follow-up for {where}: {title.lower()}",
        policy.DUE_MORNING: f"Due today for {where}: {title.lower()}",
        policy.DUE_SOON: f"Two hours left for {where}: {title.lower()}",
        policy.OVERDUE: f"Overdue for {where}: {title.lower()}",
    }[kind]


def plan_for_tasks(tasks, *, now: datetime | None = None, replace: bool = False) -> int:
    """Write the outbox rows each open task implies (idempotent per task and kind)."""
    now = now or datetime.now(UTC)
    tasks = [t for t in tasks if t.completed_at is None and t.waived_reason is None]
    if not tasks:
        return 0
    client_ids = {t.client_id for t in tasks}
    people = dict(
        db.session.execute(
            select(ClientProfile.id, User)
            .join(User, User.id == ClientProfile.user_id)
            .where(ClientProfile.id.in_(client_ids))
        ).all()
    )
    task_ids = [t.id for t in tasks]
    if replace:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.task_id.in_(task_ids), OutboxMessage.status == "pending")
            .values(status="cancelled")
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            OutboxMessage.__table__.delete().where(
                OutboxMessage.task_id.in_(task_ids), OutboxMessage.status == "cancelled"
            )
        )
    existing = set(
        db.session.execute(
            select(OutboxMessage.task_id, OutboxMessage.kind).where(
                OutboxMessage.task_id.in_(task_ids)
            )
        ).all()
    )
    written = 0
    for task in tasks:
        user = people[task.client_id]
        tz = task.interview.timezone if task.interview else user.effective_timezone
        interview_end = None
        if task.interview is not None:
            from coach_app.services.followup import interview_end as end_of

            interview_end = end_of(task.interview)
        for kind, when in policy.reminder_times(
            rule=task.rule, due_at=task.due_at, interview_end_at=interview_end, tz=tz, now=now
        ):
            if (task.id, kind) in existing:
                continue
            db.session.add(
                OutboxMessage(
                    dedupe_key=f"task:{task.id}:{kind}",
                    organization_id=user.organization_id,
                    recipient_id=user.id,
                    to_email=user.email,
                    kind=kind,
                    channel="both",
                    task_id=task.id,
                    subject=_subject(kind, task, task.opportunity),
                    body_text=policy.body_text(kind, RULES[Rule(task.rule)]),
                    link=_task_link(task),
                    due_at=when,
                )
            )
            written += 1
    return written


def cancel_for_task(task: FollowUpTask) -> int:
    """Cancel the task's reminders that have not gone out (the task is done or waived)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.task_id == task.id, OutboxMessage.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
