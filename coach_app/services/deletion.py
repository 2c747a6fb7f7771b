"""Deleting a mistaken interview round or opportunity, with everything that hangs on it.

Decides what a deletion does to the rest: round numbers, the check-in a later round had
superseded, reminders and notifications (see docs/playbook.md, "Correcting history").
Nothing here commits: one request is one transaction, and a ServiceError (or any failure)
rolls all of it back. The analytics facts follow the ORM deletes on their own
(services/analytics_facts.py).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from coach_app import playbook
from coach_app.extensions import db
from coach_app.models import (
    FollowUpTask,
    Interview,
    Notification,
    Opportunity,
    OutboxMessage,
    User,
    audit,
)
from coach_app.playbook import Outcome, Rule
from coach_app.services import ServiceError, followup, reminders
from coach_app.services.history import refuse_if_archived

# Reminder rows kept after their task is deleted: what was actually delivered.
KEPT_STATUSES = ("sent",)


@dataclass
class DeleteResult:
    tasks: int = 0
    interviews: int = 0
    sent_reminders_kept: int = 0
    renumbered: int = 0
    restored: list[FollowUpTask] = field(default_factory=list)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _remove_tasks(tasks: list[FollowUpTask]) -> int:
    """Delete tasks with their unsent reminders and their notifications.

    Reminders already sent stay in the outbox as delivery history, unlinked from the task
    (task_id NULL, dedupe key renamed so a new task reusing the id never collides).
    Returns how many sent reminders were kept.
    """
    if not tasks:
        return 0
    ids = [task.id for task in tasks]
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.task_id.in_(ids))).all()
    if messages:
        # Notifications link to the task's page, which is about to disappear.
        for notification in db.session.scalars(
            select(Notification).where(Notification.outbox_id.in_([m.id for m in messages]))
        ):
            db.session.delete(notification)
        db.session.flush()
    kept = 0
    for message in messages:
        if message.status in KEPT_STATUSES:
            message.task_id = None
            message.dedupe_key = f"deleted:{message.id}:{message.dedupe_key}"[:120]
            kept += 1
        else:
            db.session.delete(message)
    # A call-back points at the check-in (or call-back) that asked for it: unlink first, so
    # the deletes need no particular order.
    for task in tasks:
        task.parent_task_id = None
    db.session.flush()
    for task in tasks:
        db.session.delete(task)
    db.session.flush()
    return kept


def _remove_interview_rows(interview: Interview) -> None:
    """Delete an interview's contacts and referrals, then the interview (tasks already gone)."""
    for row in [*interview.contacts, *interview.referrals]:
        db.session.delete(row)
    db.session.flush()
    db.session.expire(interview, ["contacts", "referrals"])
    db.session.delete(interview)
    db.session.flush()


def _rounds(opportunity: Opportunity) -> list[Interview]:
    """The opportunity's rounds in time order: the last one is the latest round."""
    return list(
        db.session.scalars(
            select(Interview)
            .where(Interview.opportunity_id == opportunity.id)
            .order_by(Interview.start_at, Interview.id)
        )
    )


def deletion_preview(interview: Interview) -> dict:
    """What deleting this round would do, for the confirmation page."""
    rounds = _rounds(interview.opportunity)
    tasks = db.session.scalars(
        select(FollowUpTask).where(FollowUpTask.interview_id == interview.id)
    ).all()
    return {
        "tasks": len(tasks),
        "done": sum(1 for t in tasks if t.completed_at is not None),
        "only_round": len(rounds) == 1,
        "is_latest": rounds[-1].id == interview.id,
        "later_rounds": sum(1 for r in rounds if r.round_number > interview.round_number),
        "refused": _only_round_refusal(interview.opportunity, rounds),
    }


def opportunity_preview(opportunity: Opportunity) -> dict:
    """What deleting this opportunity would take with it, for the confirmation page."""
    tasks = db.session.scalars(
        select(FollowUpTask).where(FollowUpTask.opportunity_id == opportunity.id)
    ).all()
    return {
        "rounds": len(_rounds(opportunity)),
        "tasks": len(tasks),
        "done": sum(1 for t in tasks if t.completed_at is not None),
    }


def _only_round_refusal(opportunity: Opportunity, rounds: list[Interview]) -> str | None:
    if len(rounds) == 1 and opportunity.outcome != Outcome.OPEN.value:
        return (
            "This is the only round of an opportunity with an outcome recorded. Delete the "
            "whole opportunity instead."
        )
    return None


def delete_interview(
    *, interview: Interview, actor: User, now: datetime | None = None
) -> DeleteResult:
    """Delete a mistaken interview round with its tasks, contacts and referrals.

    Later rounds are renumbered so rounds stay 1..n in the order they were logged. Deleting
    the latest round gives the previous one back its check-in (and call-back) that the
    deleted round had superseded, while the decision is still awaited and they are not due.
    """
    now = _now(now)
    opportunity = interview.opportunity
    refuse_if_archived(opportunity)
    rounds = _rounds(opportunity)
    refusal = _only_round_refusal(opportunity, rounds)
    if refusal:
        raise ServiceError(refusal)
    was_latest = rounds[-1].id == interview.id
    number = interview.round_number
    tasks = list(
        db.session.scalars(select(FollowUpTask).where(FollowUpTask.interview_id == interview.id))
    )
    # Recorded first, while the interview still has its id; no free text in the details.
    event = audit.record(
        organization_id=opportunity.organization_id,
        actor_id=actor.id,
        action="interview.deleted",
        obj=interview,
        details={"opportunity_id": opportunity.id, "round": number, "tasks": len(tasks)},
    )
    result = DeleteResult(tasks=len(tasks), interviews=1)
    result.sent_reminders_kept = _remove_tasks(tasks)
    _remove_interview_rows(interview)
    remaining = [r for r in rounds if r.id != interview.id]
    for other in remaining:
        if other.round_number > number:
            other.round_number -= 1
            result.renumbered += 1
    opportunity.rounds = len(remaining)  # the pipeline's stage reads it
    db.session.expire(opportunity, ["interviews"])
    if was_latest and remaining:
        result.restored = _restore_superseded(remaining[-1], opportunity, actor, now)
    db.session.flush()
    event.details = {
        **event.details,
        "renumbered": result.renumbered,
        "restored": len(result.restored),
        "sent_reminders_kept": result.sent_reminders_kept,
    }
    followup.touch_client(opportunity.client_id, now)
    return result


def _restore_superseded(
    latest: Interview, opportunity: Opportunity, actor: User, now: datetime
) -> list[FollowUpTask]:
    """Give the new latest round back its check-in and call-backs while they still matter.

    Only while no decision is known, and only tasks still ahead of their deadline: one that
    passed while waived stays waived, since counting it as missed would blame the client for
    a task they were told not to do. A round logged without a check-in (it was not the latest
    when logged) gets one, if its deadline is still ahead.
    """
    if Outcome(opportunity.outcome) in playbook.DECISIONS:
        return []
    tasks = db.session.scalars(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == latest.id,
            FollowUpTask.rule.in_([Rule.CHECK_IN.value, Rule.CALLBACK.value]),
        )
    ).all()
    restored = []
    for task in tasks:
        if (
            task.waived_reason == playbook.SUPERSEDED_REASON
            and task.completed_at is None
            and task.due_at > now
        ):
            task.waived_reason = task.waived_at = task.waived_by_id = None
            restored.append(task)
    if not any(task.rule == Rule.CHECK_IN for task in tasks):
        facts = playbook.InterviewFacts(
            start_at=latest.start_at,
            tz=latest.timezone,
            duration_minutes=latest.duration_minutes,
            stated_decision_date=latest.stated_decision_date,
        )
        planned = playbook.schedule_check_in(facts)
        if planned.due_at > now:
            check_in = followup.add_task(
                planned,
                key=f"interview:{latest.id}:check_in",
                interview=latest,
                opportunity=opportunity,
            )
            restored.append(check_in)
    if restored:
        db.session.flush()
        reminders.plan_for_tasks(restored, now=now, replace=True)
        for task in restored:
            audit.record(
                organization_id=opportunity.organization_id,
                actor_id=actor.id,
                action="task.restored",
                obj=task,
                details={"rule": task.rule, "why": "the later round was deleted"},
            )
    return restored


def delete_opportunity(
    *, opportunity: Opportunity, actor: User, now: datetime | None = None
) -> DeleteResult:
    """Delete a mistaken opportunity with every interview, task, contact and referral."""
    now = _now(now)
    refuse_if_archived(opportunity)
    rounds = _rounds(opportunity)
    tasks = list(
        db.session.scalars(
            select(FollowUpTask).where(FollowUpTask.opportunity_id == opportunity.id)
        )
    )
    event = audit.record(
        organization_id=opportunity.organization_id,
        actor_id=actor.id,
        action="opportunity.deleted",
        obj=opportunity,
        details={
            "outcome": opportunity.outcome,
            "interviews": len(rounds),
            "tasks": len(tasks),
        },
    )
    result = DeleteResult(tasks=len(tasks), interviews=len(rounds))
    result.sent_reminders_kept = _remove_tasks(tasks)
    for interview in rounds:
        _remove_interview_rows(interview)
    db.session.expire(opportunity, ["interviews"])
    client_id = opportunity.client_id
    db.session.delete(opportunity)
    db.session.flush()
    event.details = {**event.details, "sent_reminders_kept": result.sent_reminders_kept}
    followup.touch_client(client_id, now)
    return result
