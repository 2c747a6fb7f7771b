"""When reminders go out: the reminder policy, as pure functions (see docs/reminders.md).

Client reminders for an open task (times local to the task's time zone):
- `nudge`: 2 hours after the interview ends, for the same-day tasks (notes, contacts,
  next step);
- `due_morning`: 09:00 on the day the task is due;
- `due_soon`: 2 hours before the deadline;
- `overdue`: 09:00 on the morning after the deadline.
The coach gets a `digest` at 08:00 coach-local of clients' overdue items and the check-ins
due in the next two days.

Quiet hours run 21:00-08:00: a reminder that falls inside moves to the next 08:00. A
reminder meant to come before a deadline that would then land at or after it is dropped,
except `due_soon`, which moves back to 20:00 (an hour before quiet hours) on the evening
before the deadline. Reminders whose moment has passed, or that would land before the
interview ended, are dropped; a snooze holds reminders until it ends. One task never gets
two reminders within the same 10 minutes: the more urgent kind wins. Every time and kind
can be changed per organisation (`ReminderPolicy`).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .clock import UTC, as_zone, require_aware
from .rules import Rule, RuleSpec

NUDGE = "nudge"
DUE_MORNING = "due_morning"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
DIGEST = "digest"
TASK_KINDS = (NUDGE, DUE_MORNING, DUE_SOON, OVERDUE)
CLIENT_KINDS = TASK_KINDS
COACH_KINDS = (DIGEST,)
KINDS = TASK_KINDS + COACH_KINDS
# Kinds that warn about a deadline still ahead: they make no sense once it has passed.
BEFORE_DEADLINE = frozenset({NUDGE, DUE_MORNING, DUE_SOON})
# When two reminders of one task land within the coalescing window, the first listed wins.
URGENCY = (OVERDUE, DUE_SOON, NUDGE, DUE_MORNING)

KIND_LABELS = {
    NUDGE: "Nudge after an interview",
    DUE_MORNING: "Morning of the due day",
    DUE_SOON: "Two hours before a deadline",
    OVERDUE: "Overdue, the next morning",
    DIGEST: "Coach's daily digest",
}

EMAIL = "email"
IN_APP = "in_app"
CHANNELS = (EMAIL, IN_APP)
CHANNEL_LABELS = {EMAIL: "Email", IN_APP: "In the portal"}

SAME_DAY_RULES = frozenset({Rule.NOTES, Rule.CONTACTS, Rule.NEXT_STEP})
# Several reminders for one recipient due within this span go out as one message.
COALESCE_WINDOW = timedelta(minutes=10)
SNOOZE_FOR = timedelta(days=1)
# The due_soon fallback for early-morning deadlines: this long before quiet hours begin.
EVENING_LEAD = timedelta(hours=1)
DIGEST_CHECK_IN_AHEAD = timedelta(days=2)
# Older misses are history (shown on the client page), not news for this morning.
DIGEST_OVERDUE_LOOKBACK = timedelta(days=14)

NUDGE_AFTER = timedelta(hours=2)
DUE_SOON_BEFORE = timedelta(hours=2)
MORNING = time(9, 0)
QUIET_START = time(21, 0)
QUIET_END = time(8, 0)
DIGEST_AT = time(8, 0)
MAX_OFFSET = timedelta(hours=24)


@dataclass(frozen=True)
class ReminderPolicy:
    """An organisation's reminder settings; the defaults are the playbook's."""

    kinds: frozenset[str] = field(default_factory=lambda: frozenset(KINDS))
    channels: frozenset[str] = field(default_factory=lambda: frozenset(CHANNELS))
    nudge_after: timedelta = NUDGE_AFTER
    due_soon_before: timedelta = DUE_SOON_BEFORE
    morning: time = MORNING
    quiet_start: time = QUIET_START
    quiet_end: time = QUIET_END
    digest_at: time = DIGEST_AT


DEFAULT_POLICY = ReminderPolicy()


def policy_errors(policy: ReminderPolicy) -> dict[str, str]:
    """Field name -> message for settings that cannot work (empty when the policy is sound)."""
    errors = {}
    if unknown := set(policy.kinds) - set(KINDS):
        errors["kinds"] = f"Unknown reminder kinds: {', '.join(sorted(unknown))}."
    if unknown := set(policy.channels) - set(CHANNELS):
        errors["channels"] = f"Unknown channels: {', '.join(sorted(unknown))}."
    for name in ("nudge_after", "due_soon_before"):
        value = getattr(policy, name)
        if not timedelta(minutes=1) <= value <= MAX_OFFSET:
            errors[name] = "Choose between 1 minute and 24 hours."
    if policy.quiet_start == policy.quiet_end:
        errors["quiet_end"] = "Quiet hours need a start and an end that differ."
    return errors


def _local(moment: datetime, tz) -> datetime:
    return require_aware(moment, "reminder time").astimezone(as_zone(tz))


def _at(day: date, wall: time, tz) -> datetime:
    """Local wall time on `day` as UTC (a time skipped by DST maps to just after the jump)."""
    return datetime.combine(day, wall, tzinfo=as_zone(tz)).astimezone(UTC)


def in_quiet_hours(moment: datetime, tz, policy: ReminderPolicy = DEFAULT_POLICY) -> bool:
    """True when `moment` falls inside the quiet hours, local to `tz`."""
    wall = _local(moment, tz).time()
    start, end = policy.quiet_start, policy.quiet_end
    if start > end:  # the usual case: the quiet span crosses midnight
        return wall >= start or wall < end
    return start <= wall < end


def out_of_quiet_hours(moment: datetime, tz, policy: ReminderPolicy = DEFAULT_POLICY) -> datetime:
    """Move a moment inside the quiet hours to their end (08:00 local); UTC in, UTC out."""
    moment = require_aware(moment, "reminder time")
    if not in_quiet_hours(moment, tz, policy):
        return moment
    local = _local(moment, tz)
    day = local.date()
    if policy.quiet_start > policy.quiet_end and local.time() >= policy.quiet_start:
        day += timedelta(days=1)
    return _at(day, policy.quiet_end, tz)


def evening_before(deadline: datetime, tz, policy: ReminderPolicy = DEFAULT_POLICY) -> datetime:
    """The last 'an hour before quiet hours' moment before `deadline` (20:00 by default)."""
    local = _local(deadline, tz)
    wall = (datetime.combine(local.date(), policy.quiet_start) - EVENING_LEAD).time()
    candidate = _at(local.date(), wall, tz)
    if candidate >= deadline:
        candidate = _at(local.date() - timedelta(days=1), wall, tz)
    return candidate


def place(
    kind: str,
    planned: datetime,
    *,
    due_at: datetime,
    tz,
    now: datetime,
    policy: ReminderPolicy = DEFAULT_POLICY,
    not_before: datetime | None = None,
    earliest: datetime | None = None,
) -> datetime | None:
    """Where a reminder planned for `planned` really goes, or None when it is dropped.

    `not_before` (a snooze's end) holds the reminder until then instead of dropping it;
    a reminder that would land before `earliest` (the interview's end) is dropped.
    """
    now = require_aware(now, "current time")
    due = require_aware(due_at, "due time")
    planned = require_aware(planned, "reminder time")
    floor = now
    if not_before is not None:
        not_before = require_aware(not_before, "snooze end")
        planned = max(planned, not_before)
        floor = max(floor, not_before)
    if planned < now:
        return None
    moment = out_of_quiet_hours(planned, tz, policy)
    if kind in BEFORE_DEADLINE and moment >= due:
        if kind != DUE_SOON:
            return None
        # Quiet hours pushed it past an early-morning deadline: warn the evening before.
        moment = evening_before(due, tz, policy)
        if in_quiet_hours(moment, tz, policy) or moment < floor:
            return None
    if earliest is not None and moment < require_aware(earliest, "interview end"):
        return None
    return moment


def reminder_times(
    *,
    rule: str,
    due_at: datetime,
    interview_end_at: datetime | None,
    tz,
    now: datetime,
    policy: ReminderPolicy = DEFAULT_POLICY,
    snoozed_until: datetime | None = None,
) -> list[tuple[str, datetime]]:
    """The (kind, UTC moment) reminders one open task should get, every rule applied."""
    due = require_aware(due_at, "due time")
    due_day = _local(due, tz).date()
    planned: list[tuple[str, datetime]] = []
    ended = require_aware(interview_end_at, "interview end") if interview_end_at else None
    if Rule(rule) in SAME_DAY_RULES and ended is not None:
        planned.append((NUDGE, ended + policy.nudge_after))
    planned.append((DUE_MORNING, _at(due_day, policy.morning, tz)))
    planned.append((DUE_SOON, due - policy.due_soon_before))
    planned.append((OVERDUE, _at(due_day + timedelta(days=1), policy.morning, tz)))
    placed: dict[str, datetime] = {}
    for kind, moment in planned:
        if kind not in policy.kinds:
            continue
        where = place(
            kind,
            moment,
            due_at=due,
            tz=tz,
            now=now,
            policy=policy,
            not_before=snoozed_until,
            earliest=ended,
        )
        if where is not None:
            placed[kind] = where
    kept: list[tuple[str, datetime]] = []
    for kind in URGENCY:  # most urgent first, so a clash keeps the more urgent reminder
        if kind not in placed:
            continue
        if all(abs(placed[kind] - other) >= COALESCE_WINDOW for _, other in kept):
            kept.append((kind, placed[kind]))
    return sorted(kept, key=lambda item: (item[1], TASK_KINDS.index(item[0])))


def quiet_hours_deferral(
    now: datetime, tz, policy: ReminderPolicy = DEFAULT_POLICY
) -> datetime | None:
    """When a reminder comes due late (an outage) inside quiet hours: the moment to wait for."""
    if not in_quiet_hours(now, tz, policy):
        return None
    return out_of_quiet_hours(now, tz, policy)


def digest_date(now: datetime, tz, policy: ReminderPolicy = DEFAULT_POLICY) -> date | None:
    """The coach-local date whose digest is due at `now`, or None before its time or at night."""
    local = _local(now, tz)
    if local.time() < policy.digest_at or in_quiet_hours(now, tz, policy):
        return None
    return local.date()


def digest_moment(day: date, tz, policy: ReminderPolicy = DEFAULT_POLICY) -> datetime:
    """The UTC moment of the digest for a coach-local date (08:00 by default)."""
    return _at(day, policy.digest_at, tz)


def digest_window(now: datetime) -> tuple[datetime, datetime]:
    """(since, until): overdue items due since `since`, check-ins due before `until`."""
    now = require_aware(now, "current time")
    return now - DIGEST_OVERDUE_LOOKBACK, now + DIGEST_CHECK_IN_AHEAD


def body_text(kind: str, spec: RuleSpec) -> str:
    """The plain-text body of a task reminder."""
    lead = {
        NUDGE: "Your interview ended a little while ago. While it is fresh:",
        DUE_MORNING: "This is due today:",
        DUE_SOON: "The deadline for this one is close:",
        OVERDUE: "This passed its deadline. Doing it late still counts for more than not at all:",
    }[kind]
    return f"{lead}\n\n{spec.title}. {spec.todo}\n"
