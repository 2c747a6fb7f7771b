"""Per-opportunity facts that the analytics dashboard aggregates (see docs/analytics.md).

One row per opportunity with at least one interview, kept up to date in the same
transaction as every change to its tasks, interviews or outcome
(coach_app/services/analytics_facts.py). Nothing here depends on the clock:

- per rule, how many tasks were completed on time, completed late, or are still open;
- the "settled" reading of the row, true once every open task is past due (open = missed):
  compliance band, per-rule groups as bit masks, and the headline counters, each pair of
  counters packed into one integer (numerator << 32 | denominator) so the dashboard's GROUP
  BY sums half as many columns;
- `open_due_max`, the latest due time of an open task. Rows with open_due_max < now are
  settled and read from the covering indexes below;
- the reading *as of the row's computation* (`updated_at`): the same measures with the open
  tasks then past due missed and the others pending (the `*_asof` columns), and
  `next_open_due`, the earliest due time among those pending ones. A row that is not
  settled is still exact in this reading while `updated_at <= now <= next_open_due` (no
  deadline has passed since): those are summed in SQL too. Only the rows with a deadline
  between their computation and now are read one by one and split at read time.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coach_app.extensions import db
from coach_app.models.types import UTCDateTime, utcnow
from coach_app.playbook import Rule

FACT_RULES = tuple(rule.value for rule in Rule)
STATUS_PARTS = ("on_time", "late", "open")
PAIR_SHIFT = 32  # each packed counter stays below 2**31, so sums of pairs never overflow
PAIRS = (
    "pair_compliance",  # tasks on time << 32 | tasks counted
    "pair_notes",  # notes done on the interview's local date << 32 | notes tasks counted
    "pair_check_in",  # check-ins on time << 32 | check-ins counted
    "pair_thanks",  # post-rejection thanks on time << 32 | counted
    "pair_opps_a",  # (any task counted) << 32 | (any notes task counted)
    "pair_opps_b",  # (any check-in counted) << 32 | (any post-rejection thanks counted)
    "pair_outcome",  # offer << 32 | decided (offer, rejected, no_response)
)
# The time-dependent part of the reading, stored a second time as of the row's computation.
ASOF = {
    "band": "band_asof",
    "ok_mask": "ok_mask_asof",
    "bad_mask": "bad_mask_asof",
    **{pair: f"{pair}_asof" for pair in PAIRS if pair != "pair_outcome"},
}
# Columns the settled queries filter on; every covering index carries them.
_FILTERS = ("open_due_max", "first_interview_on", "coach_id", "rounds", "industry", "client_id")


def fact_column(rule: str, part: str) -> str:
    """Column name holding `part` (on_time, late, open) counts for `rule` ("notes_late")."""
    return f"{rule}_{part}"


def pack(high: int, low: int) -> int:
    """Two counters in one integer: high << 32 | low."""
    return (int(high) << PAIR_SHIFT) | int(low)


def unpack(value: int) -> tuple[int, int]:
    """The two counters of a packed integer (or of a sum of packed integers)."""
    value = int(value or 0)
    return value >> PAIR_SHIFT, value & ((1 << PAIR_SHIFT) - 1)


class OpportunityFact(db.Model):
    """Behaviour and outcome of one opportunity, reduced to counts (a read model)."""

    __tablename__ = "analytics_opportunity_facts"
    __table_args__ = (
        # Covering indexes, each in the order of one GROUP BY, so SQLite aggregates while it
        # walks the index: no sort, no table lookups (docs/analytics.md, "Performance").
        Index(
            "ix_analytics_facts_main",
            "organization_id",
            "interview_month",
            "outcome",
            "band",
            "hours_bucket",
            *_FILTERS,
            *PAIRS[:6],
        ),
        Index(
            "ix_analytics_facts_rules",
            "organization_id",
            "is_decided",
            "is_offer",
            "ok_mask",
            "bad_mask",
            *_FILTERS,
        ),
        Index(
            "ix_analytics_facts_coach",
            "organization_id",
            "coach_id",
            *[c for c in _FILTERS if c != "coach_id"],
            "interview_month",
            *PAIRS,
        ),
        Index(
            "ix_analytics_facts_client",
            "client_id",
            "organization_id",
            *[c for c in _FILTERS if c != "client_id"],
            *PAIRS,
        ),
        # Finds the few rows with a task not yet due, whose open counts need splitting.
        Index("ix_analytics_facts_org_open_due", "organization_id", "open_due_max"),
    )

    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int] = mapped_column(Integer)
    coach_id: Mapped[int] = mapped_column(Integer)
    industry: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_decided: Mapped[int] = mapped_column(Integer, default=0)
    is_offer: Mapped[int] = mapped_column(Integer, default=0)
    # The local date (and "YYYY-MM") of the first round: the date filter and the month view.
    first_interview_on: Mapped[date] = mapped_column(Date)
    interview_month: Mapped[str] = mapped_column(String(7))
    rounds: Mapped[int] = mapped_column(Integer)
    all_on_time: Mapped[int] = mapped_column(Integer, default=0)
    all_late: Mapped[int] = mapped_column(Integer, default=0)
    all_open: Mapped[int] = mapped_column(Integer, default=0)
    # Interviews whose notes were completed on the interview's local date (fixed once done).
    notes_same_day: Mapped[int] = mapped_column(Integer, default=0)
    # First round's thank-you email: hours from interview end, when it was sent.
    thank_you_hours: Mapped[float | None] = mapped_column(Float)
    hours_bucket: Mapped[str | None] = mapped_column(String(16))
    # The settled reading (every open task missed): band and per-rule groups as bit masks.
    band: Mapped[str | None] = mapped_column(String(8))
    ok_mask: Mapped[int] = mapped_column(Integer, default=0)
    bad_mask: Mapped[int] = mapped_column(Integer, default=0)
    pair_compliance: Mapped[int] = mapped_column(BigInteger, default=0)
    pair_notes: Mapped[int] = mapped_column(BigInteger, default=0)
    pair_check_in: Mapped[int] = mapped_column(BigInteger, default=0)
    pair_thanks: Mapped[int] = mapped_column(BigInteger, default=0)
    pair_opps_a: Mapped[int] = mapped_column(BigInteger, default=0)
    pair_opps_b: Mapped[int] = mapped_column(BigInteger, default=0)
    pair_outcome: Mapped[int] = mapped_column(BigInteger, default=0)
    open_due_max: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reading as of updated_at (nullable: rows written before these columns existed
    # have none, and are read one by one until `flask rebuild-analytics` fills them).
    next_open_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    band_asof: Mapped[str | None] = mapped_column(String(8))
    ok_mask_asof: Mapped[int | None] = mapped_column(Integer)
    bad_mask_asof: Mapped[int | None] = mapped_column(Integer)
    pair_compliance_asof: Mapped[int | None] = mapped_column(BigInteger)
    pair_notes_asof: Mapped[int | None] = mapped_column(BigInteger)
    pair_check_in_asof: Mapped[int | None] = mapped_column(BigInteger)
    pair_thanks_asof: Mapped[int | None] = mapped_column(BigInteger)
    pair_opps_a_asof: Mapped[int | None] = mapped_column(BigInteger)
    pair_opps_b_asof: Mapped[int | None] = mapped_column(BigInteger)
    # When the row was computed: the moment of the `*_asof` reading.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Per rule and status part: notes_on_time, notes_late, notes_open, contacts_on_time, ...
for _rule in FACT_RULES:
    for _part in STATUS_PARTS:
        _name = fact_column(_rule, _part)
        setattr(
            OpportunityFact,
            _name,
            mapped_column(_name, Integer, default=0, nullable=False),
        )


# --- dashboard rollups: the settled readings summed per grain ---------------------------

# Packed fact columns -> the two counters each carries (high, low), unpacked in the rollups
# and in the dashboard's sums.
PAIR_COUNTERS = {
    "pair_compliance": ("compliance_num", "compliance_den"),
    "pair_notes": ("same_day_notes_num", "same_day_notes_den"),
    "pair_check_in": ("check_in_num", "check_in_den"),
    "pair_thanks": ("rejection_thanks_num", "rejection_thanks_den"),
    "pair_opps_a": ("compliance_opps", "same_day_notes_opps"),
    "pair_opps_b": ("check_in_opps", "rejection_thanks_opps"),
    "pair_outcome": ("offer_num", "offer_den"),
}
# The counters a rollup row sums (unpacked: rollups are small, so no packing is needed).
ROLLUP_COUNTERS = ("opportunities", *[c for pair in PAIR_COUNTERS.values() for c in pair])
# Every grain's key columns; a column a grain does not group by holds its blank ("" or 0),
# and a NULL of the facts ("no band", "no industry") is stored as "" so the key is unique.
ROLLUP_KEYS = (
    "grain",
    "organization_id",
    "coach_id",
    "interview_month",
    "rounds",
    "industry",
    "outcome",
    "band",
    "hours_bucket",
    "is_offer",
    "ok_mask",
    "bad_mask",
)


class AnalyticsRollup(db.Model):
    """Settled readings of the facts summed per grain, exact as of the organisation's mark.

    Holds every fact row whose open tasks were all past due at `RollupMark.as_of`
    (open_due_max IS NULL or < as_of); the dashboard adds the few rows whose last deadline
    fell between the mark and the moment read (coach_app/services/analytics_rollups.py).
    """

    __tablename__ = "analytics_rollups"
    __table_args__ = (UniqueConstraint(*ROLLUP_KEYS, name="uq_analytics_rollups_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "main": month, rounds, industry, outcome, band, hours (tiles, bands, hours, months);
    # "rules": decided ones by month, rounds, industry, offer and rule masks;
    # "coach": month per coach (the admin's coach comparison).
    grain: Mapped[str] = mapped_column(String(8))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    coach_id: Mapped[int] = mapped_column(Integer, default=0)
    interview_month: Mapped[str] = mapped_column(String(7))
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # 1, 2, or 3 for "3 or more"
    industry: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="")
    band: Mapped[str] = mapped_column(String(8), default="")
    hours_bucket: Mapped[str] = mapped_column(String(16), default="")
    is_offer: Mapped[int] = mapped_column(Integer, default=0)
    ok_mask: Mapped[int] = mapped_column(Integer, default=0)
    bad_mask: Mapped[int] = mapped_column(Integer, default=0)


for _name in ROLLUP_COUNTERS:
    setattr(AnalyticsRollup, _name, mapped_column(_name, BigInteger, default=0, nullable=False))


class RollupMark(db.Model):
    """The instant an organisation's rollups are exact at (advanced by the scheduled fold)."""

    __tablename__ = "analytics_rollup_marks"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
