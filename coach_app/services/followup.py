"""The playbook wired to the models: interviews, tasks, outcomes and their life cycle.

Every function adds to the caller's session and leaves the commit to the caller, so a
change and everything it implies (tasks, waivers, reminder rows, audit) land together.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from coach_app import playbook
from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    FollowUpTask,
    Interview,
    InterviewContact,
    Opportunity,
    Referral,
    User,
    audit,
)
from coach_app.playbook import Outcome, PlaybookError, Rule
from coach_app.services import ServiceError, reminders


@dataclass
class ContactInput:
    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    card_collected: bool = False
    interests: str | None = None


@dataclass
class InterviewInput:
    start_at: datetime
    duration_minutes: int = playbook.DEFAULT_DURATION_MINUTES
    format: str = "in_person"
    timezone: str | None = None
    next_step: str | None = None
    stated_decision_date: date | None = None
    contacts: list[ContactInput] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def touch_client(client_id: int, now: datetime) -> None:
    """Note the client's latest activity (the pipeline's "last activity"); caller commits."""
    client = db.session.get(ClientProfile, client_id)
    if client is not None:
        client.last_activity_at = now


def add_task(planned: playbook.PlannedTask, *, key: str, interview=None, opportunity, **extra):
    """Add the task a playbook plan describes, keyed so it is never created twice."""
    task = FollowUpTask(
        key=key,
        rule=planned.rule.value,
        client_id=opportunity.client_id,
        opportunity_id=opportunity.id,
        interview_id=interview.id if interview else None,
        due_at=planned.due_at,
        window_opens_at=planned.window_opens_at,
        **extra,
    )
    db.session.add(task)
    return task


def _facts(interview: Interview, opportunity: Opportunity, *, is_latest: bool, referrals=0):
    return playbook.InterviewFacts(
        start_at=interview.start_at,
        tz=interview.timezone,
        duration_minutes=interview.duration_minutes,
        referral_count=referrals,
        stated_decision_date=interview.stated_decision_date,
        is_latest_round=is_latest,
        decision_known=Outcome(opportunity.outcome) in playbook.DECISIONS,
    )


def interview_end(interview: Interview) -> datetime:
    """When the interview ended (start + duration)."""
    return _facts(interview, interview.opportunity, is_latest=False).end_at


def open_opportunity(
    *, client: ClientProfile, company: str, role: str, industry: str | None, actor: User
) -> Opportunity:
    """Start tracking an opportunity (company + role) for a client."""
    company, role = (company or "").strip(), (role or "").strip()
    if not company:
        raise ServiceError("Enter the company.", "company")
    if not role:
        raise ServiceError("Enter the role.", "role")
    opportunity = Opportunity(
        organization_id=client.organization_id,
        client_id=client.id,
        company=company,
        role=role,
        industry=(industry or "").strip() or None,
    )
    db.session.add(opportunity)
    db.session.flush()
    audit.record(
        organization_id=client.organization_id,
        actor_id=actor.id,
        action="opportunity.created",
        obj=opportunity,
    )
    return opportunity


def log_interview(
    *, opportunity: Opportunity, data: InterviewInput, actor: User, now: datetime | None = None
) -> Interview:
    """Record an interview round and create its playbook tasks in the same transaction."""
    now = _now(now)
    client = opportunity.client
    if Outcome(opportunity.outcome) in playbook.DECISIONS:
        raise ServiceError(
            f"This opportunity is already closed ({opportunity.outcome}); "
            "start a new one for a new application."
        )
    tz = data.timezone or client.timezone
    latest_start = db.session.scalar(
        select(func.max(Interview.start_at)).where(Interview.opportunity_id == opportunity.id)
    )
    if latest_start is not None and latest_start.tzinfo is None:
        latest_start = latest_start.replace(tzinfo=UTC)
    is_latest = latest_start is None or data.start_at >= latest_start
    facts = playbook.InterviewFacts(
        start_at=data.start_at,
        tz=tz,
        duration_minutes=data.duration_minutes,
        referral_count=len(data.referrals),
        stated_decision_date=data.stated_decision_date,
        is_latest_round=is_latest,
    )
    try:
        planned = playbook.schedule_interview(facts)
    except PlaybookError as error:
        raise ServiceError(str(error), _field_for(str(error))) from None
    interview = Interview(
        opportunity_id=opportunity.id,
        client_id=opportunity.client_id,
        round_number=opportunity.rounds + 1,
        start_at=data.start_at,
        duration_minutes=data.duration_minutes,
        timezone=tz,
        format=data.format,
        next_step=(data.next_step or "").strip() or None,
        stated_decision_date=data.stated_decision_date,
        created_by_id=actor.id,
    )
    db.session.add(interview)
    opportunity.rounds = interview.round_number  # the pipeline's stages read it
    db.session.flush()
    if is_latest:
        _waive_moot_tasks(opportunity, playbook.SUPERSEDED_REASON, actor, now)
    for contact in data.contacts:
        db.session.add(InterviewContact(interview_id=interview.id, **contact.__dict__))
    referral_rows = []
    for name in data.referrals:
        referral = Referral(interview_id=interview.id, name=name.strip())
        db.session.add(referral)
        referral_rows.append(referral)
    db.session.flush()
    tasks = []
    for item in planned:
        if item.rule is Rule.REFERRAL:
            referral = referral_rows[item.referral_index]
            key = f"referral:{referral.id}"
            tasks.append(
                add_task(
                    item,
                    key=key,
                    interview=interview,
                    opportunity=opportunity,
                    referral_id=referral.id,
                )
            )
        else:
            key = f"interview:{interview.id}:{item.rule.value}"
            tasks.append(add_task(item, key=key, interview=interview, opportunity=opportunity))
    db.session.flush()
    reminders.plan_for_tasks(tasks, now=now)
    touch_client(opportunity.client_id, now)
    audit.record(
        organization_id=opportunity.organization_id,
        actor_id=actor.id,
        action="interview.logged",
        obj=interview,
        details={"round": interview.round_number, "tasks": len(tasks)},
    )
    return interview


def _field_for(message: str) -> str | None:
    lowered = message.lower()
    for needle, name in (
        ("decision date", "stated_decision_date"),
        ("duration", "duration_minutes"),
        ("time zone", "timezone"),
        ("start", "start_at"),
    ):
        if needle in lowered:
            return name
    return None


def _waive_moot_tasks(
    opportunity: Opportunity, reason: str, actor, now, outcome: Outcome | None = None
) -> int:
    """Waive the opportunity's pending tasks that a later round or a decision made moot.

    Without `outcome` the event is a later round (check-ins and call-backs); with it, the
    decision's row of the playbook's life-cycle table. Misses stay misses.
    """
    rules = playbook.AUTO_WAIVABLE_RULES if outcome is None else playbook.rules_waived_by(outcome)
    if not rules:
        return 0
    waived = 0
    candidates = db.session.scalars(
        select(FollowUpTask).where(
            FollowUpTask.opportunity_id == opportunity.id,
            FollowUpTask.rule.in_([r.value for r in rules]),
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
        )
    )
    for task in candidates:
        if playbook.auto_waivable(
            rule=task.rule,
            due_at=task.due_at,
            completed_at=task.completed_at,
            waived=False,
            now=now,
            outcome=outcome,
        ):
            task.waived_reason, task.waived_at = reason, now
            task.waived_by_id = actor.id if actor else None
            reminders.cancel_for_task(task)
            waived += 1
    return waived


def add_referral(
    *, interview: Interview, name: str, note: str | None, actor: User, now: datetime | None = None
) -> FollowUpTask:
    """Record a referral given at an interview and create its follow-up task."""
    now = _now(now)
    name = (name or "").strip()
    if not name:
        raise ServiceError("Enter who you were referred to.", "name")
    referral = Referral(interview_id=interview.id, name=name, note=(note or "").strip() or None)
    db.session.add(referral)
    db.session.flush()
    facts = _facts(interview, interview.opportunity, is_latest=False, referrals=1)
    planned = playbook.schedule_referral(facts, 0)
    task = add_task(
        planned,
        key=f"referral:{referral.id}",
        interview=interview,
        opportunity=interview.opportunity,
        referral_id=referral.id,
    )
    db.session.flush()
    reminders.plan_for_tasks([task], now=now)
    audit.record(
        organization_id=interview.opportunity.organization_id,
        actor_id=actor.id,
        action="referral.added",
        obj=referral,
    )
    return task


def complete_task(
    *,
    task: FollowUpTask,
    actor: User,
    evidence: dict | None = None,
    completed_at: datetime | None = None,
    callback_date: date | None = None,
    now: datetime | None = None,
) -> FollowUpTask | None:
    """Mark a task done with its evidence; a check-in with a call-back date creates a call-back.

    Returns the new call-back task, if any.
    """
    now = _now(now)
    completed_at = completed_at or now
    start = task_start(task)
    try:
        playbook.can_complete(
            completed_at=completed_at,
            interview_start_at=start,
            waived=task.waived_reason is not None,
            already_completed=task.completed_at is not None,
            now=now,
        )
    except PlaybookError as error:
        raise ServiceError(str(error)) from None
    callback = None
    if callback_date is not None:
        if task.rule not in (Rule.CHECK_IN, Rule.CALLBACK):
            raise ServiceError("Only a check-in or call-back can set a call-back date.")
        try:
            planned = playbook.schedule_callback(
                callback_date, task.opportunity.client.timezone, asked_at=completed_at
            )
        except PlaybookError as error:
            raise ServiceError(str(error), "callback_date") from None
        callback = add_task(
            planned,
            key=f"callback:{task.id}",
            interview=task.interview,
            opportunity=task.opportunity,
            parent_task_id=task.id,
        )
    task.completed_at = completed_at
    task.completed_by_id = actor.id
    task.evidence = evidence or None
    reminders.cancel_for_task(task)
    if callback is not None:
        db.session.flush()
        reminders.plan_for_tasks([callback], now=now)
    touch_client(task.client_id, now)
    audit.record(
        organization_id=task.opportunity.organization_id,
        actor_id=actor.id,
        action="task.completed",
        obj=task,
        details={"rule": task.rule, "callback_date": str(callback_date) if callback_date else None},
    )
    return callback


def task_start(task: FollowUpTask) -> datetime:
    """When work on a task can begin: its interview's start (the first, for rejection thanks)."""
    if task.interview is not None:
        return task.interview.start_at
    # Rejection thanks belong to the opportunity: its first interview is the earliest moment.
    first = db.session.scalar(
        select(func.min(Interview.start_at)).where(Interview.opportunity_id == task.opportunity_id)
    )
    return first.replace(tzinfo=UTC) if first.tzinfo is None else first


def waive_task(*, task: FollowUpTask, actor: User, reason: str, now=None) -> None:
    """Waive a task with a reason; a waived task counts nowhere."""
    now = _now(now)
    if task.waived_reason is not None:
        raise ServiceError("This task is already waived.")
    try:
        status = playbook.task_status(
            due_at=task.due_at, completed_at=task.completed_at, waived=False, now=now
        )
        cleaned = playbook.can_waive(
            already_completed=task.completed_at is not None,
            reason=reason,
            missed=status is playbook.Status.MISSED,
            by_client=actor.role == "client",
        )
    except PlaybookError as error:
        raise ServiceError(str(error), "reason") from None
    task.waived_reason, task.waived_at, task.waived_by_id = cleaned, now, actor.id
    reminders.cancel_for_task(task)
    audit.record(
        organization_id=task.opportunity.organization_id,
        actor_id=actor.id,
        action="task.waived",
        obj=task,
        details={"reason": cleaned},
    )


def unwaive_task(*, task: FollowUpTask, actor: User, now=None) -> None:
    """Undo a waiver: the task counts again with its original deadline."""
    now = _now(now)
    try:
        playbook.can_unwaive(waived=task.waived_reason is not None)
    except PlaybookError as error:
        raise ServiceError(str(error)) from None
    task.waived_reason = task.waived_at = task.waived_by_id = None
    reminders.plan_for_tasks([task], now=now, replace=True)
    audit.record(
        organization_id=task.opportunity.organization_id,
        actor_id=actor.id,
        action="task.unwaived",
        obj=task,
    )


UNDONE_REASON = "the check-in that asked for it was undone"


def undo_completion(*, task: FollowUpTask, actor: User, now=None) -> None:
    """Reopen a task marked done by mistake: it counts again as pending or missed.

    A call-back that the completion asked for is waived with it (it counts nowhere) while
    nobody has acted on it yet; once that call-back is done, undo it first.
    """
    now = _now(now)
    if task.completed_at is None:
        raise ServiceError("This task is not marked done.")
    callback = db.session.scalar(
        select(FollowUpTask).where(FollowUpTask.key == f"callback:{task.id}")
    )
    if callback is not None:
        if callback.completed_at is not None:
            raise ServiceError("Undo the call-back this created first; it is already done.")
        if callback.waived_reason is None:
            callback.waived_reason, callback.waived_at = UNDONE_REASON, now
            callback.waived_by_id = actor.id
            reminders.cancel_for_task(callback)
    was_done_at = task.completed_at
    task.completed_at = task.completed_by_id = task.evidence = None
    db.session.flush()
    reminders.plan_for_tasks([task], now=now, replace=True)
    touch_client(task.client_id, now)
    audit.record(
        organization_id=task.opportunity.organization_id,
        actor_id=actor.id,
        action="task.completion_undone",
        obj=task,
        details={"rule": task.rule, "was_done_at": was_done_at.isoformat()},
    )


def record_outcome(
    *, opportunity: Opportunity, outcome: str, actor: User | None, now: datetime | None = None
) -> FollowUpTask | None:
    """Set the outcome; a decision waives the tasks it made moot, a rejection adds thanks."""
    now = _now(now)
    try:
        new = playbook.lifecycle.as_outcome(outcome)
    except PlaybookError as error:
        raise ServiceError(str(error), "outcome") from None
    if opportunity.outcome == new.value:
        return None
    if Outcome(opportunity.outcome) in playbook.DECISIONS and new is not Outcome.OPEN:
        raise ServiceError(f"This opportunity is already decided ({opportunity.outcome}).")
    has_interview = db.session.scalar(
        select(func.count(Interview.id)).where(Interview.opportunity_id == opportunity.id)
    )
    if new is not Outcome.OPEN and not has_interview:
        raise ServiceError("Log an interview before recording an outcome.", "outcome")
    opportunity.outcome = new.value
    opportunity.decided_at = None if new is Outcome.OPEN else now
    thanks = None
    if new in playbook.DECISIONS:
        _waive_moot_tasks(opportunity, playbook.DECISION_REASON, actor, now, outcome=new)
    if new is Outcome.REJECTED:
        key = f"opportunity:{opportunity.id}:rejection_thanks"
        thanks = db.session.scalar(select(FollowUpTask).where(FollowUpTask.key == key))
        if thanks is None:
            planned = playbook.schedule_rejection_thanks(now, opportunity.client.timezone)
            thanks = add_task(planned, key=key, opportunity=opportunity)
            db.session.flush()
            reminders.plan_for_tasks([thanks], now=now)
    touch_client(opportunity.client_id, now)
    audit.record(
        organization_id=opportunity.organization_id,
        actor_id=actor.id if actor else None,
        action="opportunity.outcome",
        obj=opportunity,
        details={"outcome": new.value},
    )
    return thanks


UNCHANGED = object()  # "leave as it is", for arguments where None is a meaningful value


def reschedule_interview(
    *,
    interview: Interview,
    actor: User,
    start_at: datetime | None = None,
    duration_minutes: int | None = None,
    timezone: str | None = None,
    stated_decision_date=UNCHANGED,
    now: datetime | None = None,
    record: bool = True,
) -> int:
    """Change an interview's time, zone or stated decision date and move its tasks' deadlines.

    Every task of the round is rescheduled by the playbook, completed ones too (their evidence
    and completion time stay, so on time or late is judged against the corrected deadline);
    call-backs keep the date the employer gave. Refused when the change would make another
    round the latest one, or put the start after work already recorded for it. Reminders of
    open tasks are planned again. Returns the number of tasks rescheduled.
    """
    now = _now(now)
    opportunity = interview.opportunity
    decision = (
        interview.stated_decision_date
        if stated_decision_date is UNCHANGED
        else stated_decision_date
    )
    candidate = playbook.InterviewFacts(
        start_at=start_at or interview.start_at,
        tz=timezone or interview.timezone,
        duration_minutes=duration_minutes or interview.duration_minutes,
        stated_decision_date=decision,
        is_latest_round=True,
        decision_known=Outcome(opportunity.outcome) in playbook.DECISIONS,
    )
    try:
        playbook.validate_interview(candidate)
    except PlaybookError as error:
        raise ServiceError(str(error), _field_for(str(error))) from None
    _keep_round_order(interview, candidate.start_at)
    tasks = db.session.scalars(
        select(FollowUpTask)
        .where(FollowUpTask.interview_id == interview.id)
        .order_by(FollowUpTask.id)
    ).all()
    _refuse_start_after_recorded_work(tasks, candidate)
    interview.start_at = candidate.start_at
    interview.duration_minutes = candidate.duration_minutes
    interview.timezone = candidate.tz
    interview.stated_decision_date = decision
    by_rule = {p.rule.value: p for p in playbook.schedule_interview(candidate)}
    changed = 0
    for task in tasks:
        if task.rule == Rule.CALLBACK:
            continue  # due on the day the employer suggested, whatever the interview's time
        if task.rule == Rule.CHECK_IN:
            planned = playbook.schedule_check_in(candidate)
        elif task.rule == Rule.REFERRAL:
            planned = playbook.schedule_referral(candidate, 0)
        else:
            planned = by_rule[task.rule]
        task.due_at, task.window_opens_at = planned.due_at, planned.window_opens_at
        changed += 1
    db.session.flush()
    reminders.plan_for_tasks(tasks, now=now, replace=True)
    if record:
        audit.record(
            organization_id=opportunity.organization_id,
            actor_id=actor.id,
            action="interview.rescheduled",
            obj=interview,
            details={"tasks_recomputed": changed},
        )
    return changed


def _keep_round_order(interview: Interview, new_start: datetime) -> None:
    """Refuse a new start that would change which round of the opportunity is the latest.

    The latest round owns the check-in and the earlier rounds' check-ins were waived for it;
    swapping that role by an edit would rewrite history the client acted on.
    """
    others = db.session.execute(
        select(Interview.id, Interview.start_at, Interview.round_number).where(
            Interview.opportunity_id == interview.opportunity_id, Interview.id != interview.id
        )
    ).all()
    if not others:
        return
    latest_other = max(others, key=lambda o: (o.start_at, o.id))

    def is_latest(start: datetime) -> bool:
        return (start, interview.id) > (latest_other.start_at, latest_other.id)

    was, will_be = is_latest(interview.start_at), is_latest(new_start)
    if was != will_be:
        where = "before" if was else "after"
        raise ServiceError(
            f"That would put round {interview.round_number} {where} round "
            f"{latest_other.round_number}, and rounds keep their order when edited. If the "
            "rounds were logged in the wrong order, delete the wrong one and log it again.",
            "start_at",
        )


def _refuse_start_after_recorded_work(tasks, candidate: playbook.InterviewFacts) -> None:
    # Follow-up can't be done before the interview starts (playbook.can_complete): a start
    # after recorded work would make that work impossible. Undoing it first is explicit.
    for task in tasks:
        if task.completed_at is not None and task.completed_at < candidate.start_at:
            title = playbook.RULES[Rule(task.rule)].title
            done = task.completed_at.astimezone(playbook.zone(candidate.tz))
            raise ServiceError(
                f"“{title}” was marked done on {done:%d %b %Y at %H:%M}, before this start. "
                "Check the date and time, or undo that task first if it was marked by mistake.",
                "start_at",
            )


def mark_no_response(now: datetime | None = None) -> int:
    """Mark open opportunities no_response 30 days after their latest interview (daily job)."""
    now = _now(now)
    cutoff = playbook.no_response_cutoff(now)
    latest = (
        select(Interview.opportunity_id, func.max(Interview.start_at).label("latest_start"))
        .group_by(Interview.opportunity_id)
        .subquery()
    )
    # The start is a cheap SQL pre-filter; the exact end (start + duration) is checked below.
    candidates = db.session.scalars(
        select(Opportunity)
        .join(latest, latest.c.opportunity_id == Opportunity.id)
        .where(Opportunity.outcome == Outcome.OPEN.value, latest.c.latest_start <= cutoff)
    ).all()
    marked = 0
    for opportunity in candidates:
        last = max(opportunity.interviews, key=lambda i: i.start_at)
        pending_callback = db.session.scalar(
            select(func.count(FollowUpTask.id)).where(
                FollowUpTask.opportunity_id == opportunity.id,
                FollowUpTask.rule == Rule.CALLBACK.value,
                FollowUpTask.completed_at.is_(None),
                FollowUpTask.waived_reason.is_(None),
                FollowUpTask.due_at >= now,
            )
        )
        if playbook.is_no_response_due(
            outcome=opportunity.outcome,
            latest_interview_end_at=interview_end(last),
            has_pending_callback=bool(pending_callback),
            now=now,
        ):
            record_outcome(
                opportunity=opportunity, outcome=Outcome.NO_RESPONSE.value, actor=None, now=now
            )
            marked += 1
    return marked
