"""Opportunity outcomes and what life-cycle events do to open check-in and call-back tasks."""

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
AUTO_WAIVABLE_RULES = frozenset({Rule.CHECK_IN, Rule.CALLBACK})


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
    """True when recording this outcome waives pending check-ins and call-backs."""
    return as_outcome(outcome) in DECISIONS


def auto_waivable(
    *,
    rule: Rule | str,
    due_at: datetime,
    completed_at: datetime | None,
    waived: bool,
    now: datetime,
) -> bool:
    """True when a later round or a decision at now should waive this task (pending only)."""
    if as_rule(rule) not in AUTO_WAIVABLE_RULES:
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
