"""Opportunity outcomes and which pending tasks a later round or a decision makes moot."""

from datetime import datetime, timedelta
from enum import StrEnum

from .clock import PlaybookError, require_aware
from .rules import Rule
from .status import Status, task_status


class Outcome(StrEnum):
    """The single outcome of an opportunity (company + role)."""

    OPEN = "open"
    OFFER = "offer"
    REJECTED = "rejected"
    NO_RESPONSE = "no_response"
    WITHDRAWN = "withdrawn"


# Outcomes that end the wait, so pending check-ins and call-backs no longer apply.
DECISIONS = frozenset({Outcome.OFFER, Outcome.REJECTED, Outcome.WITHDRAWN})
# Outcomes counted by the offer rate; open and withdrawn are left out.
DECIDED = frozenset({Outcome.OFFER, Outcome.REJECTED, Outcome.NO_RESPONSE})

NO_RESPONSE_AFTER = timedelta(days=30)
SUPERSEDED_REASON = "superseded by a later round"
DECISION_REASON = "decision recorded"
# A later round makes the earlier round's wait for a decision moot.
AUTO_WAIVABLE_RULES = frozenset({Rule.CHECK_IN, Rule.CALLBACK})
# The life-cycle table of PLAYBOOK.md: what each decision waives while still pending. A
# rejection also ends the ordinary thanks, since the rejection thanks takes their place; a
# withdrawal keeps only the client's own records and the referrals they were given.
DECISION_WAIVES: dict[Outcome, frozenset[Rule]] = {
    Outcome.OFFER: frozenset({Rule.CHECK_IN, Rule.CALLBACK, Rule.SECOND_INTERVIEW}),
    Outcome.REJECTED: frozenset(
        {
            Rule.CHECK_IN,
            Rule.CALLBACK,
            Rule.SECOND_INTERVIEW,
            Rule.THANK_YOU_EMAIL,
            Rule.THANK_YOU_NOTE,
            Rule.INFO_GIFT,
        }
    ),
    Outcome.WITHDRAWN: frozenset(Rule) - {Rule.NOTES, Rule.CONTACTS, Rule.REFERRAL},
}


def as_outcome(value: Outcome | str) -> Outcome:
    """Return value as an Outcome, or raise PlaybookError for an unknown outcome."""
    try:
        return Outcome(value)
    except ValueError:
        raise PlaybookError(f"Unknown outcome: {value}") from None


def as_rule(value: Rule | str) -> Rule:
    """Return value as a Rule, or raise PlaybookError for an unknown rule id."""
    try:
        return Rule(value)
    except ValueError:
        raise PlaybookError(f"Unknown rule: {value}") from None


def is_decision(outcome: Outcome | str) -> bool:
    """True when this outcome ends the wait (offer, rejected, withdrawn): it waives moot tasks."""
    return as_outcome(outcome) in DECISIONS


def rules_waived_by(outcome: Outcome | str) -> frozenset[Rule]:
    """The rules whose pending tasks recording this outcome waives (none for open, no_response)."""
    return DECISION_WAIVES.get(as_outcome(outcome), frozenset())


def auto_waivable(
    *,
    rule: Rule | str,
    due_at: datetime,
    completed_at: datetime | None,
    waived: bool,
    now: datetime,
    outcome: Outcome | str | None = None,
) -> bool:
    """True when an event at now should waive this task (pending only).

    With `outcome`, the event is that decision (PLAYBOOK.md's life-cycle table); without it,
    a later interview round, which waives the waiting check-ins and call-backs.
    """
    waives = AUTO_WAIVABLE_RULES if outcome is None else rules_waived_by(outcome)
    if as_rule(rule) not in waives:
        return False
    # A miss stays a miss and completed work stays done: only pending tasks are waived.
    status = task_status(due_at=due_at, completed_at=completed_at, waived=waived, now=now)
    return status is Status.PENDING


def is_no_response_due(
    *,
    outcome: Outcome | str,
    latest_interview_end_at: datetime | None,
    has_pending_callback: bool,
    now: datetime,
) -> bool:
    """True when an open opportunity should become no_response (30 days, no pending call-back)."""
    current = require_aware(now, "current time")
    if as_outcome(outcome) is not Outcome.OPEN or latest_interview_end_at is None:
        return False
    if has_pending_callback:
        return False
    return current >= require_aware(latest_interview_end_at, "interview end") + NO_RESPONSE_AFTER


def no_response_cutoff(now: datetime) -> datetime:
    """Return now - 30 days: latest interviews ending at or before it are due for no_response."""
    return require_aware(now, "current time") - NO_RESPONSE_AFTER
