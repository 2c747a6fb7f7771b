"""When reminders go out for a task: the reminder policy, as pure functions.

Client reminders for a task (all times local to the task's time zone):
- `nudge`: 2 hours after the interview ends, for the same-day tasks (notes, contacts,
  next step);
- `due_morning`: 09:00 on the day the task is due;
- `due_soon`: 2 hours before the deadline;
- `overdue`: 09:00 on the morning after the deadline.
Quiet hours run 21:00-08:00: a reminder that falls inside moves to the next 08:00. A
reminder that would then arrive after the deadline it warns about is dropped (the overdue
reminder covers it), and so is any reminder whose moment has already passed.
"""

from datetime import datetime, time, timedelta

from .clock import as_zone, require_aware
from .rules import Rule, RuleSpec

NUDGE = "nudge"
DUE_MORNING = "due_morning"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
KINDS = (NUDGE, DUE_MORNING, DUE_SOON, OVERDUE)

SAME_DAY_RULES = frozenset({Rule.NOTES, Rule.CONTACTS, Rule.NEXT_STEP})
NUDGE_AFTER = timedelta(hours=2)
DUE_SOON_BEFORE = timedelta(hours=2)
MORNING = time(9, 0)
QUIET_START = time(21, 0)
QUIET_END = time(8, 0)


def out_of_quiet_hours(moment: datetime, tz) -> datetime:
    """Move a moment inside 21:00-08:00 local to the next 08:00 local (UTC in, UTC out)."""
    zone = as_zone(tz)
    local = require_aware(moment, "reminder time").astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return moment
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=zone).astimezone(moment.tzinfo)


def _local_at(day, at: time, zone) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def reminder_times(
    *, rule: str, due_at: datetime, interview_end_at: datetime | None, tz, now: datetime
) -> list[tuple[str, datetime]]:
    """The (kind, UTC moment) reminders one open task should get, quiet hours applied."""
    zone = as_zone(tz)
    due = require_aware(due_at, "due time")
    utc = due.tzinfo
    due_local = due.astimezone(zone)
    planned: list[tuple[str, datetime]] = []
    if Rule(rule) in SAME_DAY_RULES and interview_end_at is not None:
        planned.append((NUDGE, interview_end_at + NUDGE_AFTER))
    planned.append((DUE_MORNING, _local_at(due_local.date(), MORNING, zone).astimezone(utc)))
    planned.append((DUE_SOON, due - DUE_SOON_BEFORE))
    overdue_day = due_local.date() + timedelta(days=1)
    planned.append((OVERDUE, _local_at(overdue_day, MORNING, zone).astimezone(utc)))
    result = []
    for kind, moment in planned:
        moment = out_of_quiet_hours(moment, zone)
        if kind != OVERDUE and moment >= due:
            continue
        if moment < now:
            continue
        result.append((kind, moment))
    return result


def body_text(kind: str, spec: RuleSpec) -> str:
    """The plain-text body of a task reminder."""
    lead = {
        NUDGE: "Your interview ended a little while ago. While it is fresh:",
        DUE_MORNING: "This is due today:",
        DUE_SOON: "Two hours left for this one:",
        OVERDUE: "This passed its deadline. Doing it late still counts for more than not at all:",
    }[kind]
    return f"{lead}\n\n{spec.title}: the playbook step where the client {spec.does}.\n"
