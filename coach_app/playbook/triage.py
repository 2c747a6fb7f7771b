"""Which open tasks belong on a to-do list today, and which are history.

A missed task still counts as missed everywhere (PLAYBOOK.md); triage only decides whether
doing it now still helps. A thank-you email a week late reads as an afterthought, while a
check-in stays useful until the employer decides. Past its rule's horizon a miss leaves the
to-do list for the "Missed" history, so today's work is what people see first.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from .clock import local_date, require_aware
from .rules import Rule
from .status import Status, task_status


class Bucket(StrEnum):
    """Where an open task stands on a to-do list, in the order lists show them."""

    TODAY = "today"
    UPCOMING = "upcoming"
    OVERDUE = "overdue"  # missed, but still worth doing
    MISSED = "missed"  # missed past its rule's horizon: history only


# How long after its deadline a missed task is still worth doing, and why (docs/playbook.md).
STILL_WORTH_DOING: dict[Rule, timedelta] = {
    # Memory of the conversation fades within a couple of days.
    Rule.NOTES: timedelta(days=2),
    # Names and titles can be looked up and recorded for a while.
    Rule.CONTACTS: timedelta(days=7),
    Rule.NEXT_STEP: timedelta(days=3),
    # A thank-you a few days late still lands; after that it reads as an afterthought.
    Rule.THANK_YOU_EMAIL: timedelta(days=3),
    Rule.THANK_YOU_NOTE: timedelta(days=5),
    Rule.INFO_GIFT: timedelta(days=7),
    Rule.SECOND_INTERVIEW: timedelta(days=3),
    # A referral is a person who expects the call; late is far better than never.
    Rule.REFERRAL: timedelta(days=14),
    # Worth asking until the opportunity turns no_response, 30 days after the interview
    # (the check-in is due at the end of day 10).
    Rule.CHECK_IN: timedelta(days=20),
    Rule.CALLBACK: timedelta(days=3),
    Rule.REJECTION_THANKS: timedelta(days=7),
}

# The longest horizon: a query for the to-do list need not read deadlines older than this.
LONGEST_HORIZON = max(STILL_WORTH_DOING.values())


def triage_bucket(*, rule: Rule | str, due_at: datetime, now: datetime, tz_name: str) -> Bucket:
    """Bucket of an open (not completed, not waived) task at `now` in the person's zone."""
    status = task_status(due_at=due_at, completed_at=None, waived=False, now=now)
    if status is Status.PENDING:
        if local_date(due_at, tz_name) == local_date(now, tz_name):
            return Bucket.TODAY
        return Bucket.UPCOMING
    late_by = require_aware(now, "current time") - due_at
    if late_by <= STILL_WORTH_DOING[Rule(rule)]:
        return Bucket.OVERDUE
    return Bucket.MISSED
