"""Reminders as data: outbox rows per task, coach digests, policies, preferences, snoozes.

The timing rules (nudge, morning of the due day, two hours before, overdue, quiet hours,
digest time) live in coach_app.playbook.reminders; this module turns them into outbox rows
in the caller's transaction and cancels rows a change has made pointless. Nothing here
sends anything: the workers do (workers/delivery.py).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import case, func, select, update

from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    FollowUpTask,
    Organization,
    OrganizationReminderPolicy,
    OutboxMessage,
    ReminderPreference,
    Role,
    User,
    audit,
)
from coach_app.playbook import RULES, Rule, Status
from coach_app.playbook import reminders as policy
from coach_app.playbook.sql import task_status_case
from coach_app.services import ServiceError
from coach_app.timefmt import local_datetime
from coach_app.urls import absolute_url

BOTH = "both"
# Long IN (...) lists are split so neither SQLite nor PostgreSQL meets a parameter limit.
CHUNK = 500


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- policies and preferences -------------------------------------------------------------


def policies_for(organization_ids: Iterable[int]) -> dict[int, policy.ReminderPolicy]:
    """Each organisation's reminder policy (the playbook's defaults where none is saved)."""
    ids = set(organization_ids)
    found = {
        row.organization_id: row.to_policy()
        for row in db.session.scalars(
            select(OrganizationReminderPolicy).where(
                OrganizationReminderPolicy.organization_id.in_(ids)
            )
        )
    }
    return {org_id: found.get(org_id, policy.DEFAULT_POLICY) for org_id in ids}


def policy_for(organization_id: int) -> policy.ReminderPolicy:
    """One organisation's reminder policy."""
    return policies_for([organization_id])[organization_id]


def policy_row(organization_id: int) -> OrganizationReminderPolicy:
    """The saved policy row, or an unsaved one holding the defaults (for the settings form)."""
    row = db.session.get(OrganizationReminderPolicy, organization_id)
    if row is None:
        defaults = policy.DEFAULT_POLICY
        row = OrganizationReminderPolicy(
            organization_id=organization_id,
            kinds=list(policy.KINDS),
            channels=list(policy.CHANNELS),
            nudge_after_minutes=int(defaults.nudge_after.total_seconds() // 60),
            due_soon_minutes=int(defaults.due_soon_before.total_seconds() // 60),
            morning_at=defaults.morning,
            quiet_start=defaults.quiet_start,
            quiet_end=defaults.quiet_end,
            digest_at=defaults.digest_at,
        )
    return row


_POLICY_FIELDS = {"nudge_after": "nudge_after_minutes", "due_soon_before": "due_soon_minutes"}


def save_policy(
    *,
    admin: User,
    kinds: Iterable[str],
    channels: Iterable[str],
    nudge_after_minutes: int,
    due_soon_minutes: int,
    morning_at: time,
    quiet_start: time,
    quiet_end: time,
    digest_at: time,
) -> OrganizationReminderPolicy:
    """Change the admin's organisation's reminder policy (reminders planned afterwards use it)."""
    row = policy_row(admin.organization_id)
    row.kinds = [k for k in policy.KINDS if k in set(kinds)]
    row.channels = [c for c in policy.CHANNELS if c in set(channels)]
    row.nudge_after_minutes, row.due_soon_minutes = nudge_after_minutes, due_soon_minutes
    row.morning_at, row.quiet_start, row.quiet_end = morning_at, quiet_start, quiet_end
    row.digest_at, row.updated_by_id = digest_at, admin.id
    errors = policy.policy_errors(row.to_policy())
    if errors:
        name, message = next(iter(errors.items()))
        raise ServiceError(message, _POLICY_FIELDS.get(name, name))
    db.session.add(row)
    audit.record(
        organization_id=admin.organization_id,
        actor_id=admin.id,
        action="reminders.policy_changed",
        obj=admin.organization,
        details={"kinds": row.kinds, "channels": row.channels},
    )
    return row


def kinds_for_role(role: str) -> tuple[str, ...]:
    """The reminder kinds a person in `role` can receive."""
    if role == Role.CLIENT:
        return policy.CLIENT_KINDS
    if role == Role.COACH:
        return policy.COACH_KINDS
    return ()


def preferences_for(user_ids: Iterable[int]) -> dict[int, ReminderPreference]:
    """Saved preferences by user id (people without a row use every channel)."""
    ids = list(set(user_ids))
    found: dict[int, ReminderPreference] = {}
    for chunk in _chunks(ids):
        for user_id, channels in db.session.execute(
            select(ReminderPreference.user_id, ReminderPreference.channels).where(
                ReminderPreference.user_id.in_(chunk)
            )
        ):
            # Unsaved read-only copies: delivery commits once per email, and each commit
            # would expire (and later re-read) preferences kept in the session.
            found[user_id] = ReminderPreference(user_id=user_id, channels=channels)
    return found


def wanted_channels(user: User) -> dict[str, frozenset[str]]:
    """kind -> the channels `user` chose (before the organisation's limits)."""
    pref = db.session.get(ReminderPreference, user.id)
    return {
        kind: pref.channels_for(kind) if pref else frozenset(policy.CHANNELS)
        for kind in kinds_for_role(user.role)
    }


def save_preferences(user: User, choices: dict[str, Iterable[str]]) -> ReminderPreference:
    """Store the channels `user` wants per kind (kinds of other roles are ignored)."""
    pref = db.session.get(ReminderPreference, user.id) or ReminderPreference(
        user_id=user.id, channels={}
    )
    stored = dict(pref.channels or {})
    changed = {}
    for kind in kinds_for_role(user.role):
        chosen = set(choices.get(kind, ()))
        stored[kind] = [c for c in policy.CHANNELS if c in chosen]
        if set(stored[kind]) != pref.channels_for(kind):
            changed[kind] = stored[kind]
    pref.channels = stored
    db.session.add(pref)
    # Audited in the service, so every way of saving preferences (page, API) is recorded.
    if changed:
        audit.record(
            organization_id=user.organization_id,
            actor_id=user.id,
            action="preferences.changed",
            obj=user,
            details={"channels": changed},
        )
    return pref


def effective_channels(
    kind: str,
    intended: str,
    pref: ReminderPreference | None,
    org_policy: policy.ReminderPolicy,
) -> frozenset[str]:
    """Channels a row really goes out on: intended, narrowed by the person and the organisation.

    Kinds outside the reminder policy (invitations) are transactional and go as intended.
    """
    base = frozenset(policy.CHANNELS) if intended == BOTH else frozenset({intended})
    if kind not in policy.KINDS:
        return base
    if kind not in org_policy.kinds:
        return frozenset()
    wanted = pref.channels_for(kind) if pref else frozenset(policy.CHANNELS)
    return base & wanted & org_policy.channels


UNSUBSCRIBE_SALT = "reminders-unsubscribe"
UNSUBSCRIBE_MAX_AGE_DAYS = 365
UNSUBSCRIBE_VALID, UNSUBSCRIBE_EXPIRED, UNSUBSCRIBE_INVALID = "valid", "expired", "invalid"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kinds: Iterable[str]) -> str:
    """A signed, dated token that turns off email for these kinds for this person (no login)."""
    return _serializer().dumps([user_id, sorted(set(kinds))])


def _payload(value) -> tuple[int, list[str]] | None:
    if not isinstance(value, list) or len(value) != 2:
        return None
    user_id, kinds = value
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(kinds, list):
        return None
    kinds = [k for k in kinds if isinstance(k, str) and k in policy.KINDS]
    return (user_id, kinds) if kinds else None


def check_unsubscribe_token(token: str) -> tuple[str, tuple[int, list[str]] | None]:
    """(status, (user id, kinds)): valid, expired (older than a year) or invalid.

    Links sent before tokens were dated carry no date, so their age is unknown: they count
    as expired, which sends the person to sign in rather than honouring a link forever.
    """
    max_age = current_app.config.get("UNSUBSCRIBE_MAX_AGE_DAYS", UNSUBSCRIBE_MAX_AGE_DAYS)
    try:
        payload = _payload(_serializer().loads(token, max_age=max_age * 86400))
        return (UNSUBSCRIBE_VALID, payload) if payload else (UNSUBSCRIBE_INVALID, None)
    except SignatureExpired:
        return UNSUBSCRIBE_EXPIRED, None
    except (BadSignature, ValueError, TypeError):
        pass
    try:
        URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return UNSUBSCRIBE_INVALID, None
    return UNSUBSCRIBE_EXPIRED, None


def read_unsubscribe_token(token: str) -> tuple[int, list[str]] | None:
    """(user id, kinds) from a token, or None when it is forged, malformed or expired."""
    status, payload = check_unsubscribe_token(token)
    return payload if status == UNSUBSCRIBE_VALID else None


def unsubscribe_link(user_id: int, kinds: Iterable[str]) -> str:
    """Absolute URL of the one-click unsubscribe page for these kinds."""
    return absolute_url("reminders.unsubscribe", token=unsubscribe_token(user_id, kinds))


def unsubscribe(user: User, kinds: Iterable[str]) -> list[str]:
    """Turn off email for the given kinds; returns the kinds changed (idempotent)."""
    pref = db.session.get(ReminderPreference, user.id) or ReminderPreference(
        user_id=user.id, channels={}
    )
    stored = dict(pref.channels or {})
    changed = []
    for kind in kinds:
        current = pref.channels_for(kind)
        if policy.EMAIL in current:
            changed.append(kind)
        stored[kind] = [c for c in policy.CHANNELS if c in current and c != policy.EMAIL]
    pref.channels = stored
    db.session.add(pref)
    if changed:
        audit.record(
            organization_id=user.organization_id,
            actor_id=user.id,
            action="preferences.changed",
            obj=user,
            details={"via": "unsubscribe link", "kinds": changed, "email": "off"},
        )
    return changed


# --- task reminders ---------------------------------------------------------------------


def _task_link(task: FollowUpTask) -> str:
    return absolute_url("client.task", task_id=task.id)


def _subject(kind: str, task: FollowUpTask, opportunity) -> str:
    title = RULES[Rule(task.rule)].title.lower()
    where = opportunity.company
    return {
        policy.NUDGE: f"Today's follow-up for {where}: {title}",
        policy.DUE_MORNING: f"Due today for {where}: {title}",
        policy.DUE_SOON: f"Due soon for {where}: {title}",
        policy.OVERDUE: f"Overdue for {where}: {title}",
    }[kind]


def task_zone(task: FollowUpTask, user: User) -> str:
    """The zone a task's reminders are timed in: its interview's, else the client's."""
    return task.interview.timezone if task.interview is not None else user.effective_timezone


def plan_for_tasks(tasks, *, now: datetime | None = None, replace: bool = False) -> int:
    """Write the outbox rows each open task implies (idempotent per task and kind).

    With `replace`, reminders not yet sent are recomputed (new deadline, snooze, policy).
    """
    from coach_app.services.followup import interview_end

    now = now or datetime.now(UTC)
    tasks = [t for t in tasks if t.completed_at is None and t.waived_reason is None]
    if not tasks:
        return 0
    people = dict(
        db.session.execute(
            select(ClientProfile.id, User)
            .join(User, User.id == ClientProfile.user_id)
            .where(ClientProfile.id.in_({t.client_id for t in tasks}))
        ).all()
    )
    policies = policies_for({user.organization_id for user in people.values()})
    task_ids = [t.id for t in tasks]
    if replace:
        db.session.execute(
            OutboxMessage.__table__.delete().where(
                OutboxMessage.task_id.in_(task_ids),
                OutboxMessage.status.in_(("pending", "cancelled")),
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
        org_policy = policies[user.organization_id]
        tz = task_zone(task, user)
        snoozed = task.snoozed_until if task.snoozed_until and task.snoozed_until > now else None
        times = policy.reminder_times(
            rule=task.rule,
            due_at=task.due_at,
            interview_end_at=interview_end(task.interview) if task.interview else None,
            tz=tz,
            now=now,
            policy=org_policy,
            snoozed_until=snoozed,
        )
        spec = RULES[Rule(task.rule)]
        due_text = local_datetime(task.due_at, tz)
        for kind, when in times:
            if (task.id, kind) in existing:
                continue
            db.session.add(
                OutboxMessage(
                    dedupe_key=f"task:{task.id}:{kind}",
                    organization_id=user.organization_id,
                    recipient_id=user.id,
                    to_email=user.email,
                    kind=kind,
                    channel=BOTH,
                    task_id=task.id,
                    subject=_subject(kind, task, task.opportunity),
                    body_text=policy.body_text(kind, spec) + f"Deadline: {due_text}\n",
                    link=_task_link(task),
                    due_at=when,
                )
            )
            written += 1
    return written


def cancel_for_task(task: FollowUpTask) -> int:
    """Cancel the task's reminders that have not gone out (the task is done or waived)."""
    reason = "task completed" if task.completed_at is not None else "task waived"
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.task_id == task.id, OutboxMessage.status == "pending")
        .values(status="cancelled", status_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def snooze_task(*, task: FollowUpTask, actor: User, now: datetime | None = None) -> datetime:
    """Hold a task's reminders for a day (SNOOZE_FOR); returns when they resume."""
    now = now or datetime.now(UTC)
    if not task.is_open:
        raise ServiceError("This task is done or waived, so it has no reminders to snooze.")
    task.snoozed_until = now + policy.SNOOZE_FOR
    db.session.flush()
    plan_for_tasks([task], now=now, replace=True)
    audit.record(
        organization_id=task.opportunity.organization_id,
        actor_id=actor.id,
        action="task.snoozed",
        obj=task,
        details={"until": task.snoozed_until.isoformat()},
    )
    return task.snoozed_until


def upcoming_for(user: User, limit: int = 20) -> list[tuple[FollowUpTask, datetime]]:
    """The user's open tasks with reminders still to come, with the next one's time."""
    from coach_app.access import scoped

    next_due = (
        select(OutboxMessage.task_id, func.min(OutboxMessage.due_at).label("next_at"))
        .where(OutboxMessage.recipient_id == user.id, OutboxMessage.status == "pending")
        .group_by(OutboxMessage.task_id)
        .subquery()
    )
    rows = db.session.execute(
        scoped(FollowUpTask, user)
        .add_columns(next_due.c.next_at)
        .join(next_due, next_due.c.task_id == FollowUpTask.id)
        .where(FollowUpTask.completed_at.is_(None), FollowUpTask.waived_reason.is_(None))
        .order_by(next_due.c.next_at)
        .limit(limit)
    ).all()
    return [(task, next_at) for task, next_at in rows]


# --- the coach digest -------------------------------------------------------------------


def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING, on SQLite and PostgreSQL alike."""
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(OutboxMessage.__table__)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.__table__.c.id)
    )
    # rowcount is -1 for executemany on PostgreSQL: count the rows actually inserted.
    return len(db.session.execute(statement, rows).all())


def digest_counts(coach_ids: list[int], now: datetime) -> dict[int, list[tuple]]:
    """coach id -> [(client id, name, overdue items, check-ins due soon)], from one GROUP BY."""
    status = task_status_case(FollowUpTask, now)
    since, until = policy.digest_window(now)
    overdue = func.sum(case((status == Status.MISSED.value, 1), else_=0))
    check_ins = func.sum(
        case(
            (
                (FollowUpTask.rule == Rule.CHECK_IN.value) & (status == Status.PENDING.value),
                1,
            ),
            else_=0,
        )
    )
    result: dict[int, list[tuple]] = defaultdict(list)
    for chunk in _chunks(coach_ids):
        rows = db.session.execute(
            select(
                ClientProfile.coach_id,
                ClientProfile.id,
                User.name,
                overdue.label("overdue"),
                check_ins.label("check_ins"),
            )
            .join(FollowUpTask, FollowUpTask.client_id == ClientProfile.id)
            .join(User, User.id == ClientProfile.user_id)
            .where(
                ClientProfile.coach_id.in_(chunk),
                ClientProfile.archived_at.is_(None),
                # Open tasks only, in a due-time range: the partial index on open tasks.
                FollowUpTask.completed_at.is_(None),
                FollowUpTask.waived_reason.is_(None),
                FollowUpTask.due_at >= since,
                FollowUpTask.due_at <= until,
            )
            .group_by(ClientProfile.coach_id, ClientProfile.id, User.name)
            .having((overdue > 0) | (check_ins > 0))
            .order_by(ClientProfile.coach_id, User.name)
        ).all()
        for coach_id, client_id, name, late, soon in rows:
            result[coach_id].append((client_id, name, int(late or 0), int(soon or 0)))
    return result


def _digest_text(name: str, items: list[tuple]) -> tuple[str, str]:
    overdue = [(cid, who, n) for cid, who, n, _ in items if n]
    soon = [(cid, who, n) for cid, who, _, n in items if n]
    total_late, total_soon = sum(n for *_, n in overdue), sum(n for *_, n in soon)
    subject = (
        f"Your clients today: {total_late} overdue, {total_soon} check-in"
        f"{'' if total_soon == 1 else 's'} due soon"
    )
    lines = [f"Good morning, {name}.", ""]
    if overdue:
        lines.append("Overdue follow-up (last two weeks):")
        for cid, who, n in overdue:
            link = absolute_url("coach.client_detail", client_id=cid)
            lines.append(f"- {who}: {n} item{'' if n == 1 else 's'}  {link}")
        lines.append("")
    if soon:
        lines.append("Check-ins due in the next two days:")
        for cid, who, n in soon:
            link = absolute_url("coach.client_detail", client_id=cid)
            lines.append(f"- {who}: {n}  {link}")
        lines.append("")
    return subject, "\n".join(lines)


def plan_digests(now: datetime | None = None) -> int:
    """Write today's digest row for every coach whose digest time has come (idempotent).

    Each coach gets at most one row per coach-local date (dedupe_key digest:<id>:<date>);
    a coach with nothing to report gets a cancelled row, so the work is done once a day.
    """
    now = now or datetime.now(UTC)
    coaches = db.session.execute(
        select(
            User.id,
            User.organization_id,
            User.name,
            User.email,
            func.coalesce(User.timezone, Organization.timezone),
        )
        .join(Organization, Organization.id == User.organization_id)
        .where(User.role == Role.COACH.value, User.active.is_(True))
    ).all()
    if not coaches:
        return 0
    policies = policies_for({org_id for _, org_id, *_ in coaches})
    due_day: dict[tuple[int, str], date | None] = {}
    candidates = {}
    for coach_id, org_id, name, email, tz in coaches:
        org_policy = policies[org_id]
        if policy.DIGEST not in org_policy.kinds:
            continue
        key = (org_id, tz)
        if key not in due_day:
            due_day[key] = policy.digest_date(now, tz, org_policy)
        day = due_day[key]
        if day is not None:
            dedupe = f"digest:{coach_id}:{day.isoformat()}"
            moment = policy.digest_moment(day, tz, org_policy)
            candidates[dedupe] = (coach_id, org_id, name, email, moment)
    keys = list(candidates)
    for chunk in _chunks(keys):
        for done in db.session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
        ):
            candidates.pop(done, None)
    if not candidates:
        return 0
    counts = digest_counts([c[0] for c in candidates.values()], now)
    link = absolute_url("main.index")
    rows = []
    for dedupe, (coach_id, org_id, name, email, moment) in candidates.items():
        items = counts.get(coach_id, [])
        subject, text = _digest_text(name, items)
        rows.append(
            {
                "dedupe_key": dedupe,
                "organization_id": org_id,
                "recipient_id": coach_id,
                "to_email": email,
                "kind": policy.DIGEST,
                "channel": BOTH,
                "task_id": None,
                "subject": subject[:300],
                "body_text": text,
                "link": link,
                "due_at": max(moment, now) if items else now,
                "status": "pending" if items else "cancelled",
                "status_reason": None if items else "nothing to report",
                "attempts": 0,
                "created_at": now,
            }
        )
    return _insert_ignoring_duplicates(rows)
