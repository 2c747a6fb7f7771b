"""Deadlines for each rule, computed in the client's time zone and returned in UTC."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from .clock import (
    PlaybookError,
    as_zone,
    end_of_local_day,
    local_date,
    require_aware,
    start_of_local_day,
    zone,
)
from .rules import Rule

DEFAULT_DURATION_MINUTES = 60
MAX_DURATION_MINUTES = 24 * 60
THANK_YOU_EMAIL_AFTER = timedelta(hours=24)
REFERRAL_AFTER = timedelta(hours=72)
CHECK_IN_OPENS_DAY = 7
CHECK_IN_DUE_DAY = 10


@dataclass(frozen=True)
class InterviewFacts:
    """What the schedule needs to know about one interview round."""

    start_at: datetime
    tz: str
    duration_minutes: int = DEFAULT_DURATION_MINUTES
    referral_count: int = 0
    stated_decision_date: date | None = None
    is_latest_round: bool = True
    decision_known: bool = False

    @property
    def end_at(self) -> datetime:
        """Interview end in UTC: start + duration (60 minutes when not given)."""
        return require_aware(self.start_at, "interview start") + timedelta(minutes=_duration(self))

    @property
    def local_day(self) -> date:
        """The interview's local day: the client's calendar date on which it ends (day 0)."""
        return local_date(self.end_at, zone(self.tz))


@dataclass(frozen=True)
class PlannedTask:
    """A task the playbook asks for, with its UTC deadline (and window for check-ins)."""

    rule: Rule
    due_at: datetime
    window_opens_at: datetime | None = None
    referral_index: int | None = None


def _duration(facts: InterviewFacts) -> int:
    # A nullable database column may hand us None: the playbook says 60 minutes if not given.
    return DEFAULT_DURATION_MINUTES if facts.duration_minutes is None else facts.duration_minutes


def _is_int(value: object) -> bool:
    # bool is an int subclass; True minutes or True referrals is a caller bug, not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_interview(facts: InterviewFacts) -> None:
    """Raise PlaybookError with a readable message if the interview facts cannot be scheduled."""
    require_aware(facts.start_at, "interview start")
    zone(facts.tz)
    duration = _duration(facts)
    if not _is_int(duration):
        raise PlaybookError("The interview duration must be a whole number of minutes.")
    if duration <= 0:
        raise PlaybookError("The interview duration must be at least one minute.")
    if duration > MAX_DURATION_MINUTES:
        raise PlaybookError("The interview duration can't be longer than 24 hours.")
    if not _is_int(facts.referral_count):
        raise PlaybookError("The number of referrals must be a whole number.")
    if facts.referral_count < 0:
        raise PlaybookError("The number of referrals can't be negative.")
    decision = facts.stated_decision_date
    if decision is not None:
        if not isinstance(decision, date) or isinstance(decision, datetime):
            raise PlaybookError("The stated decision date must be a calendar date.")
        if decision < facts.local_day:
            raise PlaybookError(
                f"The stated decision date ({decision.isoformat()}) is before the interview "
                f"({facts.local_day.isoformat()})."
            )


def _day(facts: InterviewFacts, n: int) -> date:
    return facts.local_day + timedelta(days=n)


def _window(opens_on: date, tz: tzinfo, due_at: datetime) -> datetime:
    # On a calendar date the zone skipped (Samoa, 2011-12-30) the day's start falls one second
    # after its end; never let a window open after its task is due.
    return min(start_of_local_day(opens_on, tz), due_at)


def schedule_interview(facts: InterviewFacts) -> list[PlannedTask]:
    """Return every task one interview round creates, in playbook order."""
    validate_interview(facts)
    tz = zone(facts.tz)
    day0 = end_of_local_day(_day(facts, 0), tz)
    day1 = end_of_local_day(_day(facts, 1), tz)
    tasks = [
        PlannedTask(Rule.NOTES, day0),
        PlannedTask(Rule.CONTACTS, day0),
        PlannedTask(Rule.NEXT_STEP, day0),
        PlannedTask(Rule.THANK_YOU_EMAIL, facts.end_at + THANK_YOU_EMAIL_AFTER),
        PlannedTask(Rule.THANK_YOU_NOTE, day1),
        PlannedTask(Rule.INFO_GIFT, day1),
        PlannedTask(Rule.SECOND_INTERVIEW, day1),
    ]
    tasks.extend(schedule_referral(facts, i) for i in range(facts.referral_count))
    if facts.is_latest_round and not facts.decision_known:
        tasks.append(schedule_check_in(facts))
    return tasks


def schedule_check_in(facts: InterviewFacts) -> PlannedTask:
    """Return the check-in task: window from day 7 to day 10, earlier if the employer said so."""
    validate_interview(facts)
    tz = zone(facts.tz)
    opens_on = _day(facts, CHECK_IN_OPENS_DAY)
    due_on = _day(facts, CHECK_IN_DUE_DAY)
    decision = facts.stated_decision_date
    # Only an earlier stated date changes the window; a later one leaves the "a week to ten
    # days" inquiry in place, since staying in touch while they decide is the point.
    if decision is not None and decision < opens_on:
        opens_on = due_on = decision + timedelta(days=1)
    due_at = end_of_local_day(due_on, tz)
    return PlannedTask(Rule.CHECK_IN, due_at, window_opens_at=_window(opens_on, tz, due_at))


def schedule_referral(facts: InterviewFacts, index: int) -> PlannedTask:
    """Return the task for the referral at position index: due 72 hours after the interview."""
    validate_interview(facts)
    if not _is_int(index) or index < 0:
        raise PlaybookError("The referral index must be a whole number, 0 or more.")
    return PlannedTask(Rule.REFERRAL, facts.end_at + REFERRAL_AFTER, referral_index=index)


def schedule_callback(callback_date: date, tz: str | tzinfo, *, asked_at: datetime) -> PlannedTask:
    """Return the call-back task, due at the end of callback_date in the client's zone."""
    zone_ = as_zone(tz)
    asked_on = local_date(asked_at, zone_)
    if not isinstance(callback_date, date) or isinstance(callback_date, datetime):
        raise PlaybookError("The call-back date must be a calendar date.")
    if callback_date < asked_on:
        raise PlaybookError(
            f"The call-back date ({callback_date.isoformat()}) is before the day the check-in "
            f"was made ({asked_on.isoformat()})."
        )
    # The window opens on the suggested day: calling earlier ignores what the employer asked.
    due_at = end_of_local_day(callback_date, zone_)
    return PlannedTask(Rule.CALLBACK, due_at, window_opens_at=_window(callback_date, zone_, due_at))


def schedule_rejection_thanks(recorded_at: datetime, tz: str | tzinfo) -> PlannedTask:
    """Return the thank-you-after-rejection task, due at the end of the next local day."""
    zone_ = as_zone(tz)
    next_day = local_date(recorded_at, zone_) + timedelta(days=1)
    return PlannedTask(Rule.REJECTION_THANKS, end_of_local_day(next_day, zone_))
