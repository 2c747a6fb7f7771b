"""PLAYBOOK.md "Behaviour against outcomes" as pure rules for the analytics.

The analytics store each opportunity's reading of these rules with its facts (computed by
these functions when the facts are written) and only sum them in SQL, so there is no SQL
twin to keep in step. Plain data in, plain data out: no Flask, no session.
"""

from collections.abc import Mapping

from .compliance import Rate, compliance_band, compliance_from_counts
from .lifecycle import DECIDED, Outcome, as_outcome

ALL_ON_TIME = "all_on_time"
LATE_OR_MISSED = "late_or_missed"
RULE_GROUPS = (ALL_ON_TIME, LATE_OR_MISSED)
BANDS = ("low", "medium", "high")

# A rate resting on fewer than this many counted items (tasks for compliance, opportunities
# for the others) is shown with a "small sample" flag: 0 % of 2 says little, and its 95 %
# interval is wider than most of the scale. The figure is still shown (unlike the organisers'
# "too few", which is about privacy, not precision). docs/analytics.md, "Small samples".
SMALL_SAMPLE = 10

# Hours from interview end to the thank-you email: upper bounds (exclusive) and labels.
HOURS_BUCKETS = ((6, "0–6 h"), (12, "6–12 h"), (24, "12–24 h"), (48, "24–48 h"), (72, "48–72 h"))
HOURS_OVER = "72 h or more"
NOT_SENT = "not sent"
HOURS_LABELS = tuple(label for _, label in HOURS_BUCKETS) + (HOURS_OVER, NOT_SENT)


def is_small_sample(n: int | None) -> bool:
    """True when a rate rests on 1 to SMALL_SAMPLE - 1 items (nothing counted is no rate)."""
    return n is not None and 0 < n < SMALL_SAMPLE


def opportunity_band(on_time: int, late: int, missed: int) -> str | None:
    """Compliance band of one opportunity's tasks, None when none of them is counted."""
    return compliance_band(compliance_from_counts(on_time, late, missed).value)


def rule_group(on_time: int, late: int, missed: int) -> str | None:
    """ALL_ON_TIME when every counted task of a rule was on time, LATE_OR_MISSED when at
    least one was late or missed, None when the rule has no counted task (pending/waived)."""
    if late + missed > 0:
        return LATE_OR_MISSED
    if on_time > 0:
        return ALL_ON_TIME
    return None


def offer_rate_from_counts(counts: Mapping[Outcome | str, int]) -> Rate:
    """Offer rate from counts per outcome: offer / (offer + rejected + no_response)."""
    offers = decided = 0
    for outcome, count in counts.items():
        outcome = as_outcome(outcome)
        if outcome in DECIDED:
            decided += count
            offers += count if outcome is Outcome.OFFER else 0
    return Rate(offers, decided)


def hours_bucket(hours: float | None, *, unsent: bool) -> str | None:
    """Bucket label for hours from interview end to the thank-you email.

    `hours` is None unless the email was sent; then NOT_SENT when its task is still open
    (`unsent`), None when it was waived or there is no such task.
    """
    if hours is None:
        return NOT_SENT if unsent else None
    for upper, label in HOURS_BUCKETS:
        if hours < upper:
            return label
    return HOURS_OVER
