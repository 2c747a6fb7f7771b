"""Rates: compliance, the headline measures, offer rate, bands and Wilson intervals."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .clock import PlaybookError
from .lifecycle import DECIDED, Outcome, as_outcome
from .status import COUNTED, Status

# Groups of fewer opportunities than this are shown to workshop organisers as "too few".
MIN_GROUP_SIZE = 5
NO_VALUE = "—"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Return the Wilson score interval for successes out of n, or None when n is 0."""
    if n < 0 or successes < 0 or successes > n:
        raise PlaybookError(f"A rate needs 0 <= successes <= n; got {successes} of {n}.")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Rounding can push the ends a hair past the observed rate or past [0, 1] (10 of 10 gave
    # 0.9999999999999999); pin them so the interval always holds p and stays a proportion.
    low = 0.0 if successes == 0 else max(0.0, min(centre - half, p))
    high = 1.0 if successes == n else min(1.0, max(centre + half, p))
    return low, high


@dataclass(frozen=True)
class Rate:
    """A proportion kept as its counts, so it can be shown with n and an interval."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if not 0 <= self.numerator <= self.denominator:
            raise PlaybookError(
                f"A rate needs 0 <= numerator <= denominator; got {self.numerator}/"
                f"{self.denominator}."
            )

    @property
    def value(self) -> float | None:
        """The proportion, or None when nothing was counted."""
        return None if self.denominator == 0 else self.numerator / self.denominator

    def display(self) -> str:
        """Return the rate as whole percent ("67 %"), or "—" when there is nothing to count."""
        value = self.value
        if value is None:
            return NO_VALUE
        percent = math.floor(value * 100 + 0.5)
        # Rounding must not claim perfection or total failure that the counts don't show.
        if percent == 100 and self.numerator < self.denominator:
            percent = 99
        elif percent == 0 and self.numerator > 0:
            percent = 1
        return f"{percent} %"

    def wilson(self, z: float = 1.96) -> tuple[float, float] | None:
        """Return the 95 % Wilson score interval, or None when nothing was counted."""
        return wilson_interval(self.numerator, self.denominator, z)


def _as_status(value: Status | str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise PlaybookError(f"Unknown task status: {value}") from None


def compliance_from_counts(on_time: int, late: int, missed: int) -> Rate:
    """Return compliance from status counts: on_time / (on_time + late + missed)."""
    if min(on_time, late, missed) < 0:
        raise PlaybookError("Status counts can't be negative.")
    return Rate(on_time, on_time + late + missed)


def compliance(statuses: Iterable[Status | str]) -> Rate:
    """Return compliance of a set of task statuses; pending and waived are left out."""
    on_time = counted = 0
    for status in map(_as_status, statuses):
        if status in COUNTED:
            counted += 1
            on_time += status is Status.ON_TIME
    return Rate(on_time, counted)


def on_time_rate(statuses: Iterable[Status | str]) -> Rate:
    """Return on-time tasks over tasks neither pending nor waived (check-in, rejection thanks)."""
    return compliance(statuses)


def compliance_band(value: float | None) -> str | None:
    """Return "low" (< 50 %), "medium" (50 % to < 80 %) or "high" (>= 80 %), None for None."""
    if value is None:
        return None
    if value < 0.5:
        return "low"
    if value < 0.8:
        return "medium"
    return "high"


@dataclass(frozen=True)
class NotesFact:
    """One interview's notes task, reduced to what the same-day notes rate needs."""

    status: Status
    completed_local_date: date | None
    interview_local_date: date


def same_day_notes_rate(facts: Iterable[NotesFact]) -> Rate:
    """Return interviews with notes done on the interview's local date over counted notes tasks."""
    same_day = counted = 0
    for fact in facts:
        if _as_status(fact.status) not in COUNTED:
            continue
        counted += 1
        same_day += fact.completed_local_date == fact.interview_local_date
    return Rate(same_day, counted)


def offer_rate(outcomes: Iterable[Outcome | str]) -> Rate:
    """Return offer / (offer + rejected + no_response); open and withdrawn are left out."""
    offers = decided = 0
    for outcome in map(as_outcome, outcomes):
        if outcome in DECIDED:
            decided += 1
            offers += outcome is Outcome.OFFER
    return Rate(offers, decided)
