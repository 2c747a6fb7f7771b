"""Every analytics query: SQL aggregates over the per-opportunity facts -> pandas DataFrames.

The scope is enforced here, from the role of the user passed in, never only in the layout:

- a coach sees opportunities of their own clients;
- an organizer sees members of their own cohorts (their opportunities from each cohort's
  start date on), as aggregates only: no per-client or per-opportunity rows, no coach
  comparison, dates in whole months, and every figure that dashboards/privacy.py finds
  isolable (under MIN_GROUP_SIZE opportunities or clients, or a neighbouring filter away
  from fewer than that many clients) comes back as "too few" with its numbers blanked;
- an admin sees their organisation, including the comparison across coaches.

Definitions are PLAYBOOK.md's, through coach_app.playbook (rates, Wilson intervals, bands,
statuses). Time matters only for open tasks: an open task is pending until its due time and
missed after it. Each fact row stores its "settled" reading (every open task missed), which
is true once its open tasks are all past due (open_due_max < now): those rows are summed in
SQL, walking a covering index in GROUP BY order. Each row also stores its reading as of its
computation (`*_asof`), true while no deadline has passed since (updated_at <= now <=
next_open_due): the rows with a task not yet due are summed from those, in SQL too. Only the
rows with a deadline between their computation and now are read one by one, their pending
tasks counted from the task table, and re-read in Python with the same function that wrote
the facts (see docs/analytics.md).
"""

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.exc import OperationalError

from coach_app.extensions import db
from coach_app.models import ClientProfile, Cohort, CohortMember, FollowUpTask, Role, User
from coach_app.models.analytics import (
    ASOF,
    FACT_RULES,
    PAIR_SHIFT,
    STATUS_PARTS,
    OpportunityFact,
    fact_column,
)
from coach_app.playbook import (
    DECIDED,
    RULES,
    Rate,
    Rule,
    Status,
    compliance_from_counts,
)
from coach_app.playbook.analytics import (
    ALL_ON_TIME,
    BANDS,
    HOURS_LABELS,
    LATE_OR_MISSED,
    offer_rate_from_counts,
)
from coach_app.playbook.sql import task_status_case
from coach_app.services import analytics_facts
from coach_app.services.analytics_facts import reading
from dashboards import privacy
from dashboards.source import analytics_connection

ANALYTICS_ROLES = (Role.ADMIN, Role.COACH, Role.ORGANIZER)
TOO_FEW = "too few"
MIN_GROUP_SIZE = privacy.MIN_GROUP_SIZE
NOTE = "Associations, not causes: these figures do not show that following up causes offers."
F = OpportunityFact.__table__
MEASURES = {
    "compliance": "Compliance",
    "same_day_notes": "Same-day notes",
    "check_in": "Check-in rate",
    "rejection_thanks": "Post-rejection thanks",
    "offer": "Offer rate",
}
ROUND_CHOICES = {"1": "1 round", "2": "2 rounds", "3+": "3 rounds or more"}
# The rules the headline measures read; the by-rule view reads all of them.
MAX_IDS = 2**31


class AnalyticsAccessError(PermissionError):
    """The user's role may not see this analytics view."""


class FilterError(ValueError):
    """A filter value that can't be understood (shown to the person, answered with 400)."""


@dataclass(frozen=True)
class Filters:
    """What the person asked for: interview date range, cohorts, coaches, rounds, industries."""

    start: date | None = None
    end: date | None = None
    cohorts: tuple[int, ...] = ()
    coaches: tuple[int, ...] = ()
    rounds: str | None = None
    industries: tuple[str, ...] = field(default_factory=tuple)


MAX_VALUES = 200  # more choices than any scope has: a longer list is not from the controls
MAX_TEXT = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _listify(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        if len(value) > MAX_VALUES:
            raise FilterError("Too many values in one filter.")
        return [v for v in value if v is not None and v != ""]
    return [value]


def _ids(values, name: str) -> tuple[int, ...]:
    ids = []
    for value in _listify(values):
        # Ids come as numbers from the dropdowns and as digits from a query string; anything
        # else (a bool, a float, an object, a huge string) is not an id.
        text = value if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif text is not None and text.isascii() and text.isdigit() and len(text) <= 12:
            number = int(text)
        else:
            raise FilterError(f"The {name} filter needs ids.") from None
        if not 0 < number < MAX_IDS:
            raise FilterError(f"The {name} filter has an id out of range.")
        ids.append(number)
    return tuple(sorted(set(ids)))


def _date(value, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise FilterError(f"The {name} date must look like 2026-05-31.")
    try:
        # Dash's date picker sends "YYYY-MM-DD" (sometimes with a time part).
        return date.fromisoformat(value[:10])
    except ValueError:
        raise FilterError(f"The {name} date must look like 2026-05-31.") from None


def _texts(values, name: str) -> tuple[str, ...]:
    names = set()
    for value in _listify(values):
        if not isinstance(value, str) or len(value) > MAX_TEXT or _CONTROL.search(value):
            raise FilterError(f"The {name} filter needs names from its list.")
        if value.strip():
            names.add(value.strip())
    return tuple(sorted(names))


def parse_filters(
    *, start=None, end=None, cohorts=None, coaches=None, rounds=None, industries=None
) -> Filters:
    """Clean filter values from a Dash callback or a query string; FilterError if malformed."""
    start_day, end_day = _date(start, "start"), _date(end, "end")
    if start_day and end_day and start_day > end_day:
        raise FilterError("The start date is after the end date.")
    if rounds is None or rounds == "":
        rounds = None
    elif isinstance(rounds, bool) or str(rounds) not in ROUND_CHOICES:
        raise FilterError("Choose 1, 2 or 3+ interview rounds.")
    return Filters(
        start=start_day,
        end=end_day,
        cohorts=_ids(cohorts, "cohort"),
        coaches=_ids(coaches, "coach"),
        rounds=None if rounds is None else str(rounds),
        industries=_texts(industries, "industry"),
    )


def applied_filters(user, filters: "Filters | None") -> "Filters":
    """The filters as applied for `user`: an organiser's dates widen to whole months.

    Whole months keep a day-by-day difference (one opportunity, one client) out of reach;
    organisers have no coach filter.
    """
    filters = filters or Filters()
    if not is_organizer(user):
        return filters
    return replace(
        filters,
        start=privacy.month_start(filters.start) if filters.start else None,
        end=privacy.month_end(filters.end) if filters.end else None,
        coaches=(),
    )


def require_role(user, *roles) -> None:
    """Raise AnalyticsAccessError unless the user is signed in with one of `roles`."""
    allowed = roles or ANALYTICS_ROLES
    if not getattr(user, "is_authenticated", False) or user.role not in allowed:
        raise AnalyticsAccessError("This analytics view is not available to your role.")


def is_organizer(user) -> bool:
    """Organizers see aggregates only, with small groups shown as "too few"."""
    return user.role == Role.ORGANIZER


def _organizer_cohorts(user):
    return select(Cohort.id).where(
        Cohort.organizer_id == user.id, Cohort.organization_id == user.organization_id
    )


def counted_for_cohorts(cohort_ids):
    """Facts counted for any of these cohorts: a member's opportunities whose first interview
    is on or after the cohort's start date (PLAYBOOK.md; no start date: all of them)."""
    member = CohortMember.__table__.alias("counted_member")
    group = Cohort.__table__.alias("counted_cohort")
    # The IN keeps the plan the planner had before start dates (a member list, built once);
    # the correlated EXISTS then checks the start date of one of the member's cohorts.
    # Aliases, so that no subquery correlates to by_cohort's own cohort_members.
    listed = CohortMember.__table__.alias("listed_member")
    members = select(listed.c.client_id).where(listed.c.cohort_id.in_(cohort_ids))
    return F.c.client_id.in_(members) & (
        exists()
        .where(
            member.c.client_id == F.c.client_id,
            member.c.cohort_id.in_(cohort_ids),
            group.c.id == member.c.cohort_id,
            or_(group.c.starts_on.is_(None), group.c.starts_on <= F.c.first_interview_on),
        )
        .correlate(F)
    )


_ANALYZED: set[str] = set()


def _ensure_statistics() -> None:
    """Once per process and database: give SQLite's planner statistics on the facts."""
    url = str(db.engine.url)
    if url in _ANALYZED or db.engine.dialect.name != "sqlite":
        return
    _ANALYZED.add(url)
    try:
        analytics_facts.analyze(db.engine)
    except OperationalError:  # a busy database: the queries still work, only slower
        _ANALYZED.discard(url)


def scope_clauses(user) -> list:
    """Where-clauses on the facts that limit them to what `user` may see."""
    require_role(user)
    _ensure_statistics()
    clauses = [F.c.organization_id == user.organization_id]
    if user.role == Role.COACH:
        clauses.append(F.c.coach_id == user.id)
    elif user.role == Role.ORGANIZER:
        clauses.append(counted_for_cohorts(_organizer_cohorts(user)))
    return clauses


def visible_cohorts(user):
    """Select of (id, name) of the cohorts `user` may pick (their scope's cohorts)."""
    require_role(user)
    query = select(Cohort.id, Cohort.name).where(Cohort.organization_id == user.organization_id)
    if user.role == Role.ORGANIZER:
        query = query.where(Cohort.organizer_id == user.id)
    elif user.role == Role.COACH:
        mine = (
            select(CohortMember.cohort_id)
            .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
            .where(ClientProfile.coach_id == user.id)
        )
        query = query.where(Cohort.id.in_(mine))
    return query.order_by(Cohort.name, Cohort.id)


def visible_coaches(user):
    """Select of (id, name) of the coaches `user` may filter by (none for organizers)."""
    require_role(user)
    query = select(User.id, User.name).where(
        User.organization_id == user.organization_id, User.role == Role.COACH
    )
    if user.role == Role.COACH:
        query = query.where(User.id == user.id)
    elif user.role == Role.ORGANIZER:
        query = query.where(literal(False))
    return query.order_by(User.name, User.id)


def filter_clauses(user, filters: Filters) -> list:
    """Where-clauses on the facts for the filters, every id still checked against the scope."""
    clauses = []
    # Dates only (no redundant month bounds): a range on a leading index column tempts
    # SQLite, which has no statistics here, away from the covering index the GROUP BY needs.
    if filters.start:
        clauses.append(F.c.first_interview_on >= filters.start)
    if filters.end:
        clauses.append(F.c.first_interview_on <= filters.end)
    if filters.cohorts:
        cohorts = visible_cohorts(user).where(Cohort.id.in_(filters.cohorts)).subquery()
        clauses.append(counted_for_cohorts(select(cohorts.c.id)))
    if filters.coaches and not is_organizer(user):
        clauses.append(F.c.coach_id.in_(filters.coaches))
    if filters.rounds == "3+":
        clauses.append(F.c.rounds >= 3)
    elif filters.rounds:
        clauses.append(F.c.rounds == int(filters.rounds))
    if filters.industries:
        clauses.append(F.c.industry.in_(filters.industries))
    return clauses


def current_time() -> datetime:
    """The moment statuses are computed at (tests replace it to freeze the clock)."""
    return datetime.now(UTC)


def _now(now: datetime | None) -> datetime:
    return now or current_time()


# --- reading the facts: settled rows in SQL, live rows one by one ---------------------

# Packed counter columns and the two sums each one carries (numerator, denominator).
PAIR_NAMES = {
    "pair_compliance": ("compliance_num", "compliance_den"),
    "pair_notes": ("same_day_notes_num", "same_day_notes_den"),
    "pair_check_in": ("check_in_num", "check_in_den"),
    "pair_thanks": ("rejection_thanks_num", "rejection_thanks_den"),
    "pair_opps_a": ("compliance_opps", "same_day_notes_opps"),
    "pair_opps_b": ("check_in_opps", "rejection_thanks_opps"),
    "pair_outcome": ("offer_num", "offer_den"),
}
MEASURE_PAIRS = tuple(p for p in PAIR_NAMES if p != "pair_outcome")
SUM_COLUMNS = ["opportunities", *[name for pair in PAIR_NAMES.values() for name in pair]]
LIVE_KEYS = (
    "opportunity_id",
    "client_id",
    "first_interview_on",
    "coach_id",
    "interview_month",
    "outcome",
    "hours_bucket",
    "notes_same_day",
)
MAIN_KEYS = ("interview_month", "outcome", "band", "hours_bucket")
RULE_KEYS = ("is_offer", "ok_mask", "bad_mask")


_settled = analytics_facts.settled_clause
_current = analytics_facts.current_clause
_stale = analytics_facts.stale_clause


def _where(user, filters: Filters | None) -> list:
    return scope_clauses(user) + filter_clauses(user, applied_filters(user, filters))


def _rows(query):
    # Core statements straight on the connection: the ORM's execute path adds a per-row cost
    # that shows on thousands of rows. The replica when ANALYTICS_DATABASE_URL is set.
    return analytics_connection().execute(query)


def _frame(query) -> pd.DataFrame:
    result = _rows(query)
    columns = list(result.keys())
    # Plain tuples: pandas builds a frame from SQLAlchemy Row objects several times slower.
    return pd.DataFrame.from_records([tuple(row) for row in result], columns=columns)


_COUNTS = frozenset({*PAIR_NAMES, "opportunities"})


def _int64(values) -> np.ndarray:
    """Counters as int64, exactly (never through float, which loses packed low bits)."""
    try:
        return np.array(values, dtype="int64")  # SQLite's int sums, PostgreSQL's Decimals
    except (TypeError, ValueError):  # an empty LEFT JOIN group sums to NULL
        return np.array([0 if v is None or v != v else int(v) for v in values], dtype="int64")


def _sums_frame(query) -> pd.DataFrame:
    """A frame of group keys and counters, the counters (pairs included) read as int64."""
    result = _rows(query)
    columns = list(result.keys())
    values = list(zip(*result.all(), strict=True)) or [()] * len(columns)
    return pd.DataFrame(
        {c: _int64(v) if c in _COUNTS else list(v) for c, v in zip(columns, values, strict=True)},
        columns=columns,
    )


def _unpack(frame: pd.DataFrame) -> pd.DataFrame:
    """Split every summed pair column into its two counters."""
    for pair, (high, low) in PAIR_NAMES.items():
        if pair not in frame.columns:
            continue
        column = frame.pop(pair)
        values = column.to_numpy() if column.dtype == "int64" else _int64(column.tolist())
        frame[high] = values >> PAIR_SHIFT
        frame[low] = values & ((1 << PAIR_SHIFT) - 1)
    return frame


def _settled_sums(where: list, now: datetime, keys, pairs=tuple(PAIR_NAMES)) -> pd.DataFrame:
    """GROUP BY `keys` over settled rows: count and the summed counter pairs, unpacked.

    The keys, filters and pairs are all columns of one covering index, so SQLite answers
    while walking the index, without a sort or a lookup into the table.
    """
    columns = [F.c[k] for k in keys]
    query = (
        select(
            *columns,
            func.count().label("opportunities"),
            *[func.sum(F.c[p]).label(p) for p in pairs],
        )
        .where(*where, _settled(now))
        .group_by(*columns)
    )
    return _unpack(_sums_frame(query))


def _current_rows(where: list, now: datetime, keys, pairs=tuple(PAIR_NAMES)) -> pd.DataFrame:
    """The current rows (1-2 %), one per opportunity, from their reading as of computation.

    Fetched and summed in pandas rather than grouped in SQL: given a GROUP BY, SQLite
    prefers walking a whole covering index in its order, looking every row up, to sorting
    the few rows that ix_analytics_facts_org_open_due finds.
    """
    keys = list(keys)
    query = select(
        *[F.c[ASOF.get(k, k)].label(k) for k in keys],
        *[F.c[ASOF.get(p, p)].label(p) for p in pairs],
    ).where(*where, _current(now))
    rows = _unpack(_sums_frame(query))
    rows.insert(len(keys), "opportunities", 1)
    return rows


def _current_sums(where: list, now: datetime, keys, pairs=tuple(PAIR_NAMES)) -> pd.DataFrame:
    """The current rows summed by `keys`."""
    keys = list(keys)
    rows = _current_rows(where, now, keys, pairs)
    if rows.empty:
        return rows
    sums = [c for c in rows.columns if c not in keys]
    return rows.groupby(keys, dropna=False, sort=False, as_index=False)[sums].sum()


def _sums(
    where: list, now: datetime, keys, pairs=tuple(PAIR_NAMES), live=None, current=None
) -> pd.DataFrame:
    """Settled, current and stale rows grouped by `keys` (stale ones read one by one).

    `live` and `current` may be given, already fetched (with more columns) for several views.
    """
    keys = list(keys)
    live = _live_rows(where, now) if live is None else live
    current = _current_rows(where, now, keys, pairs) if current is None else current
    return _combine(keys, _settled_sums(where, now, keys, pairs), current, live)


FEW_LIVE_ROWS = 500


def _pending_counts(now: datetime, live_ids: list[int]) -> dict:
    """Pending tasks per (opportunity, rule) for these live opportunities, from the tasks.

    Many live rows: one walk of the partial index on open tasks' due time (every pending
    task, which is only the near future's work), then a lookup by id. A few: by their ids.
    """
    status = task_status_case(FollowUpTask, now)
    query = (
        select(FollowUpTask.opportunity_id, FollowUpTask.rule, func.count())
        .where(
            # The conditions of ix_follow_up_tasks_open_due: only open tasks are looked at.
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
            FollowUpTask.due_at >= now,
            status == Status.PENDING.value,
        )
        .group_by(FollowUpTask.opportunity_id, FollowUpTask.rule)
    )
    if len(live_ids) <= FEW_LIVE_ROWS:
        query = query.where(FollowUpTask.opportunity_id.in_(live_ids))
    wanted = set(live_ids)
    return {(o, r): n for o, r, n in _rows(query) if o in wanted}


def _live_rows(where: list, now: datetime) -> pd.DataFrame:
    """Stale rows (a deadline passed since they were computed), read one by one at `now`."""
    parts = [F.c[fact_column(r, p)] for r in FACT_RULES for p in STATUS_PARTS]
    rows = _rows(select(*[F.c[k] for k in LIVE_KEYS], *parts).where(*where, _stale(now))).all()
    columns = [*LIVE_KEYS, "band", *RULE_KEYS, "is_decided", *SUM_COLUMNS]
    if not rows:
        return pd.DataFrame(columns=columns)
    pending = _pending_counts(now, [row[0] for row in rows])
    first_part = len(LIVE_KEYS)
    outcome_at, notes_at = LIVE_KEYS.index("outcome"), LIVE_KEYS.index("notes_same_day")
    read = ("band", *RULE_KEYS, "is_decided", *PAIR_NAMES)
    records = []
    for row in rows:
        opportunity_id = row[0]
        per_rule = {}
        for index, rule in enumerate(FACT_RULES):
            on_time, late, open_ = row[first_part + 3 * index : first_part + 3 * index + 3]
            missed = open_ - pending.get((opportunity_id, rule), 0)
            per_rule[rule] = (on_time, late, max(0, missed))
        values = reading(per_rule, notes_same_day=row[notes_at], outcome=row[outcome_at])
        records.append((*row[:first_part], *[values[k] for k in read], 1))
    frame = pd.DataFrame.from_records(records, columns=[*LIVE_KEYS, *read, "opportunities"])
    return _unpack(frame)[columns]


def _combine(keys: list[str], grouped: pd.DataFrame, *others: pd.DataFrame) -> pd.DataFrame:
    """Sums already grouped by `keys` plus other sums or single rows, grouped by `keys`."""
    sums = [c for c in SUM_COLUMNS if c in grouped.columns]
    parts = [p[[*keys, *sums]] for p in (grouped, *others) if not p.empty]
    if not parts:
        return pd.DataFrame(columns=[*keys, *sums])
    if len(parts) == 1 and not grouped.empty:
        return grouped  # already one row per group
    both = pd.concat(parts, ignore_index=True)
    both[sums] = both[sums].fillna(0).astype("int64")
    return both.groupby(keys, dropna=False, sort=True, as_index=False)[sums].sum()


# --- measures, rates and the organizer's "too few" --------------------------------------


def _rate_columns(row, measure: str, rate: Rate, opps: int) -> None:
    interval = rate.wilson()
    row[f"{measure}_num"] = rate.numerator
    row[f"{measure}_den"] = rate.denominator
    row[f"{measure}_opps"] = opps
    row[f"{measure}_rate"] = rate.value
    row[f"{measure}_low"] = interval[0] if interval else None
    row[f"{measure}_high"] = interval[1] if interval else None


def _with_offers(frame: pd.DataFrame) -> pd.DataFrame:
    """offer_num / offer_den from the outcome key, where rows are grouped by outcome."""
    rates = {o: offer_rate_from_counts({o: 1}) for o in frame["outcome"].unique()}
    frame = frame.copy()
    frame["offer_num"] = [
        rates[o].numerator * n
        for o, n in zip(frame["outcome"], frame["opportunities"], strict=True)
    ]
    frame["offer_den"] = [
        rates[o].denominator * n
        for o, n in zip(frame["outcome"], frame["opportunities"], strict=True)
    ]
    return frame


# The packed pairs each measure reads (its counters, then how many opportunities it rests on).
PAIRS_OF = {
    "compliance": ("pair_compliance", "pair_opps_a"),
    "same_day_notes": ("pair_notes", "pair_opps_a"),
    "check_in": ("pair_check_in", "pair_opps_b"),
    "rejection_thanks": ("pair_thanks", "pair_opps_b"),
    "offer": ("pair_outcome",),
}


def pairs_for(measures) -> tuple[str, ...]:
    """The packed columns to sum for these measures, each once."""
    return tuple(dict.fromkeys(p for m in measures for p in PAIRS_OF[m]))


def _measures(sums: pd.DataFrame, keys: list[str], measures=tuple(MEASURES)) -> pd.DataFrame:
    """Per group of `keys`: each measure as counts, rate and 95 % Wilson interval."""
    if sums.empty:
        return pd.DataFrame(columns=[*keys, "opportunities"])
    columns = ["opportunities", *[c for p in pairs_for(measures) for c in PAIR_NAMES[p]]]
    grouped = sums.groupby(keys, sort=True, dropna=False)[columns].sum().reset_index()
    rows = []
    for record in grouped.to_dict("records"):
        row = {k: record[k] for k in keys}
        row.update(_measures_row(record, measures))
        rows.append(row)
    return pd.DataFrame(rows)


def _measures_row(totals, measures=tuple(MEASURES)) -> dict:
    row = {"opportunities": int(totals["opportunities"])}
    for measure in measures:
        rate = Rate(int(totals[f"{measure}_num"]), int(totals[f"{measure}_den"]))
        opps = rate.denominator if measure == "offer" else int(totals[f"{measure}_opps"])
        _rate_columns(row, measure, rate, opps)
    return row


UNIVERSE_DIMS = (
    "opportunity_id",
    "client_id",
    "first_interview_on",
    "rounds",
    "industry",
    "outcome",
    "is_decided",
    "hours_bucket",
)
UNIVERSE_READING = ("band", "ok_mask", "bad_mask", "pair_opps_a", "pair_opps_b")
UNIVERSE_SETS = (
    "band",
    "ok_mask",
    "bad_mask",
    "compliance_opps",
    "same_day_notes_opps",
    "check_in_opps",
    "rejection_thanks_opps",
)


def _universe_readings(where: list, now: datetime) -> pd.DataFrame:
    """Per opportunity, what its reading at `now` puts it in: band, rule groups, measures."""
    parts = []
    for clause, asof in ((_settled(now), False), (_current(now), True)):
        columns = [(F.c[ASOF[c]] if asof else F.c[c]).label(c) for c in UNIVERSE_READING]
        query = select(F.c.opportunity_id, *columns).where(*where, clause)
        parts.append(_unpack(_sums_frame(query)))
    parts.append(_live_rows(where, now))
    parts = [p[["opportunity_id", *UNIVERSE_SETS]] for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["opportunity_id", *UNIVERSE_SETS])
    return pd.concat(parts, ignore_index=True)


def organizer_universe(user, now: datetime | None = None) -> privacy.Universe:
    """The organiser's whole scope at `now`, one row per opportunity (never names), and for
    each of their cohorts which rows it counts: what the privacy checks are computed on.

    Per-opportunity fact rows, not task rows: an organiser's scope is their cohorts' members.
    """
    require_role(user, Role.ORGANIZER)
    now = _now(now)
    where = scope_clauses(user)
    dims = _frame(select(*[F.c[c] for c in UNIVERSE_DIMS]).where(*where))
    if dims.empty:
        dims = pd.DataFrame(columns=list(UNIVERSE_DIMS))
    rows = dims.merge(_universe_readings(where, now), on="opportunity_id", how="left")
    rows = rows.sort_values(["client_id", "opportunity_id"], ignore_index=True)
    cohorts = db.session.execute(
        select(Cohort.id, Cohort.starts_on)
        .where(Cohort.id.in_(_organizer_cohorts(user)))
        .order_by(Cohort.id)
    ).all()
    members = _frame(
        select(CohortMember.cohort_id, CohortMember.client_id).where(
            CohortMember.cohort_id.in_([c for c, _ in cohorts])
        )
    )
    days = np.array([d.toordinal() for d in rows["first_interview_on"]], dtype=int)
    clients = rows["client_id"].to_numpy(dtype="int64")
    qualifies = np.zeros((len(rows), len(cohorts)), dtype=bool)
    for k, (cohort_id, starts_on) in enumerate(cohorts):
        ids = members.loc[members["cohort_id"] == cohort_id, "client_id"] if len(members) else []
        column = np.isin(clients, np.array(list(ids), dtype="int64"))
        if starts_on is not None:
            column &= days >= starts_on.toordinal()
        qualifies[:, k] = column
    return privacy.Universe(rows, tuple(c for c, _ in cohorts), qualifies)


def _protect(view: str, frame: pd.DataFrame, user, filters, now, universe=None, **extra):
    """For organisers: blank every figure of the view that could isolate fewer than
    MIN_GROUP_SIZE clients (dashboards/privacy.py). The one place views are made safe."""
    if not is_organizer(user):
        return frame
    filters = applied_filters(user, filters)
    universe = universe if universe is not None else organizer_universe(user, now)
    if view in ("months", "cohorts"):
        extra = {"measures": tuple(MEASURES), **extra}
    return getattr(privacy, view)(universe, filters, frame, **extra)


# --- the overview: tiles, bands, rules, hours and months ---------------------------------


@dataclass
class OverviewSums:
    """What the overview's views are shaped from: two GROUP BYs plus the live rows."""

    main: pd.DataFrame  # by interview_month, outcome, band, hours_bucket
    rules: pd.DataFrame  # decided opportunities by is_offer, ok_mask, bad_mask
    user: object = None
    filters: Filters | None = None
    now: datetime | None = None
    _universe: privacy.Universe | None = None

    def protect(self, view: str, frame: pd.DataFrame, **extra) -> pd.DataFrame:
        """The view's frame made safe for organisers (the scope is fetched once)."""
        if not is_organizer(self.user):
            return frame
        if self._universe is None:
            self._universe = organizer_universe(self.user, self.now)
        return _protect(view, frame, self.user, self.filters, self.now, self._universe, **extra)


def overview_sums(user, filters: Filters | None = None, now: datetime | None = None):
    """The overview's sums within the user's scope and filters, at `now`."""
    now = _now(now)
    where = _where(user, filters)
    live = _live_rows(where, now)
    # One fetch of the current rows for both groupings.
    current = _current_rows(where, now, [*MAIN_KEYS, *RULE_KEYS, "is_decided"], MEASURE_PAIRS)
    main = _with_offers(_sums(where, now, MAIN_KEYS, MEASURE_PAIRS, live, current))
    decided = [*where, F.c.is_decided == 1]
    rules = _sums(
        decided,
        now,
        RULE_KEYS,
        (),
        live[live["is_decided"] == 1],
        current[current["is_decided"] == 1],
    )
    return OverviewSums(main=main, rules=rules, user=user, filters=filters, now=now)


def _decided(main: pd.DataFrame) -> pd.DataFrame:
    return main[main["offer_den"] > 0] if not main.empty else main


def headline(user, filters=None, now=None, *, sums=None) -> pd.DataFrame:
    """The five headline tiles: one row per measure with its count n and interval."""
    sums = overview_sums(user, filters, now) if sums is None else sums
    main = sums.main
    record = {}
    if len(main):
        totals = {c: int(v) for c, v in main[SUM_COLUMNS].sum().items()}
        record = _measures_row(totals)
    rows = []
    for measure, label in MEASURES.items():
        row = {"measure": measure, "label": label}
        for part in ("num", "den", "opps"):
            row[part] = int(record.get(f"{measure}_{part}", 0))
        for part in ("rate", "low", "high"):
            value = record.get(f"{measure}_{part}")
            row[part] = None if value is None or pd.isna(value) else float(value)
        rows.append(row)
    tiles = pd.DataFrame(rows).astype({"rate": "object", "low": "object", "high": "object"})
    tiles = tiles.where(tiles.notna(), None)
    total = int(main["opportunities"].sum()) if len(main) else 0
    tiles["opportunities"] = total
    return sums.protect("headline", tiles)


def _offer_row(key: dict, offers: int, n: int) -> dict:
    rate = Rate(offers, n)
    interval = rate.wilson()
    return {
        **key,
        "opportunities": n,
        "offers": offers,
        "offer_rate": rate.value,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
    }


def by_band(user, filters=None, now=None, *, sums=None) -> pd.DataFrame:
    """Offer rate of decided opportunities by compliance band, with Wilson intervals."""
    sums = overview_sums(user, filters, now) if sums is None else sums
    decided = _decided(sums.main)
    rows = []
    for band in BANDS:
        part = decided[decided["band"] == band] if len(decided) else decided
        offers = int(part["offer_num"].sum()) if len(part) else 0
        n = int(part["offer_den"].sum()) if len(part) else 0
        rows.append(_offer_row({"band": band}, offers, n))
    return sums.protect("bands", pd.DataFrame(rows))


def by_rule(user, filters=None, now=None, *, sums=None) -> pd.DataFrame:
    """Per rule: offer rate where every task was on time against at least one late or missed."""
    sums = overview_sums(user, filters, now) if sums is None else sums
    rules = sums.rules
    masks = {k: rules[k].to_numpy(dtype="int64") for k in ("ok_mask", "bad_mask")}
    counts = rules["opportunities"].to_numpy(dtype="int64")
    offers = rules["is_offer"].to_numpy(dtype="int64") == 1
    rows = []
    for bit, rule in enumerate(FACT_RULES):
        for group, mask in ((ALL_ON_TIME, "ok_mask"), (LATE_OR_MISSED, "bad_mask")):
            inside = (masks[mask] >> bit) & 1 == 1
            n, hits = int(counts[inside].sum()), int(counts[inside & offers].sum())
            title = RULES[Rule(rule)].title
            rows.append(_offer_row({"rule": rule, "title": title, "group": group}, hits, n))
    bits = {rule: bit for bit, rule in enumerate(FACT_RULES)}
    return sums.protect("rules", pd.DataFrame(rows), bit_of=bits, ok_group=ALL_ON_TIME)


def thank_you_hours(user, filters=None, now=None, *, sums=None) -> pd.DataFrame:
    """Decided opportunities by outcome and hours from interview end to the thank-you email."""
    sums = overview_sums(user, filters, now) if sums is None else sums
    decided = _decided(sums.main)
    if len(decided):
        decided = decided[decided["hours_bucket"].notna()]
    rows = []
    for outcome in sorted(o.value for o in DECIDED):
        part = decided[decided["outcome"] == outcome] if len(decided) else decided
        total = int(part["opportunities"].sum()) if len(part) else 0
        counts = part.groupby("hours_bucket")["opportunities"].sum() if len(part) else {}
        for label in HOURS_LABELS:
            count = int(counts.get(label, 0))
            # The share of the outcome, with its 95 % Wilson interval like every other rate.
            share = Rate(count, total)
            interval = share.wilson()
            rows.append(
                {
                    "outcome": outcome,
                    "hours": label,
                    "opportunities": count,
                    "outcome_total": total,
                    "share": share.value,
                    "low": interval[0] if interval else None,
                    "high": interval[1] if interval else None,
                }
            )
    return sums.protect("hours", pd.DataFrame(rows))


def by_month(user, filters=None, now=None, *, sums=None) -> pd.DataFrame:
    """Each measure by month of the first interview."""
    sums = overview_sums(user, filters, now) if sums is None else sums
    main = sums.main.rename(columns={"interview_month": "month"})
    return sums.protect("months", _measures(main, ["month"]))


def overview(user, filters=None, now=None) -> dict[str, pd.DataFrame]:
    """Tiles, bands, rules, hours and months from one pass over the facts."""
    sums = overview_sums(user, filters, now)
    return {
        "headline": headline(user, sums=sums),
        "bands": by_band(user, sums=sums),
        "rules": by_rule(user, sums=sums),
        "hours": thank_you_hours(user, sums=sums),
        "months": by_month(user, sums=sums),
    }


# --- groupings with their own pass -------------------------------------------------------


def by_cohort(user, filters=None, now=None) -> pd.DataFrame:
    """Each measure per cohort (the scope's cohorts only), side by side."""
    now = _now(now)
    where = _where(user, filters)
    cohorts = visible_cohorts(user).add_columns(Cohort.starts_on)
    if filters and filters.cohorts:
        cohorts = cohorts.where(Cohort.id.in_(filters.cohorts))
    cohorts = cohorts.subquery()
    # A cohort counts its members' work from its start date on (PLAYBOOK.md).
    from_start = or_(cohorts.c.starts_on.is_(None), F.c.first_interview_on >= cohorts.c.starts_on)
    in_cohorts = CohortMember.cohort_id.in_(select(cohorts.c.id))
    # The facts' conditions sit in the ON clause of a LEFT JOIN so SQLite keeps the members
    # as the outer loop: it walks them in cohort order (no sort for the GROUP BY) and looks
    # each client's facts up in the covering index ix_analytics_facts_client.
    query = (
        select(
            CohortMember.cohort_id,
            func.count(F.c.opportunity_id).label("opportunities"),
            # 0 rather than NULL for a cohort without facts, so the column stays integer.
            *[func.coalesce(func.sum(F.c[p]), 0).label(p) for p in PAIR_NAMES],
        )
        .select_from(CohortMember)
        .join(cohorts, cohorts.c.id == CohortMember.cohort_id)
        .outerjoin(
            F, and_(F.c.client_id == CohortMember.client_id, *where, _settled(now), from_start)
        )
        .where(in_cohorts)
        .group_by(CohortMember.cohort_id)
    )
    settled = _unpack(_sums_frame(query))
    # Rows with a task not yet due, per client and day, then per cohort of each client
    # from the cohort's start date on.
    keys = ["client_id", "first_interview_on"]
    recent = _combine(keys, _current_sums(where, now, keys), _live_rows(where, now))
    if not recent.empty:
        members = _frame(
            select(CohortMember.cohort_id, CohortMember.client_id, cohorts.c.starts_on)
            .join(cohorts, cohorts.c.id == CohortMember.cohort_id)
            .where(in_cohorts, CohortMember.client_id.in_(sorted(set(recent["client_id"]))))
        )
        recent = recent.merge(members, on="client_id")
        counted = [
            starts is None or pd.isna(starts) or day >= starts
            for day, starts in zip(recent["first_interview_on"], recent["starts_on"], strict=True)
        ]
        recent = recent[counted]
    frame = _measures(_combine(["cohort_id"], settled, recent), ["cohort_id"])
    names = dict(db.session.execute(select(cohorts.c.id, cohorts.c.name)).all())
    frame.insert(1, "cohort", [names.get(i) for i in frame["cohort_id"]])
    return _protect("cohorts", frame, user, filters, now)


def _by_key(user, filters, now, key: str, measures=tuple(MEASURES)) -> pd.DataFrame:
    now = _now(now)
    sums = _sums(_where(user, filters), now, [key], pairs_for(measures))
    return _measures(sums, [key], measures)


def by_coach(user, filters=None, now=None, *, measures=tuple(MEASURES)) -> pd.DataFrame:
    """Each measure (or only `measures`) per coach: the admin's comparison across coaches."""
    require_role(user, Role.ADMIN)
    frame = _by_key(user, filters, now, "coach_id", measures)
    names = dict(db.session.execute(visible_coaches(user)).all())
    frame.insert(1, "coach", [names.get(i) for i in frame["coach_id"]])
    return frame


def by_client(user, filters=None, now=None) -> pd.DataFrame:
    """Each measure per client, for coaches (own clients) and admins; never organizers."""
    require_role(user, Role.ADMIN, Role.COACH)
    frame = _by_key(user, filters, now, "client_id")
    ids = [int(i) for i in frame["client_id"]] if len(frame) else []
    names = dict(
        db.session.execute(
            select(ClientProfile.id, User.name)
            .join(User, User.id == ClientProfile.user_id)
            .where(ClientProfile.id.in_(ids), ClientProfile.organization_id == user.organization_id)
        ).all()
    )
    frame.insert(1, "client", [names.get(i) for i in frame["client_id"]])
    return frame


OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "client_id",
    "coach_id",
    "industry",
    "rounds",
    "first_interview_on",
    "outcome",
    "notes_same_day",
    "thank_you_hours",
    "hours_bucket",
    "band",
    "open_due_max",
)


def opportunity_pages(user, filters=None, now=None, *, page_size: int = 20_000):
    """The per-opportunity table in pages of decided opportunities, in id order (no names).

    Pages keep the export's memory flat however large the organisation is.
    """
    require_role(user, Role.ADMIN, Role.COACH)
    now = _now(now)
    where = _where(user, filters)
    parts = [F.c[fact_column(r, p)] for r in FACT_RULES for p in STATUS_PARTS]
    query = (
        select(*[F.c[c] for c in OPPORTUNITY_COLUMNS], *parts)
        .where(*where, F.c.is_decided == 1)
        .order_by(F.c.opportunity_id)
        .limit(page_size)
    )
    last = 0
    while True:
        frame = _frame(query.where(F.c.opportunity_id > last))
        if frame.empty:
            return
        last = int(frame["opportunity_id"].iloc[-1])
        live = frame["open_due_max"].map(lambda d: d is not None and not pd.isna(d) and d >= now)
        ids = [int(i) for i in frame["opportunity_id"][live]]
        yield _opportunity_page(frame, live, _pending_counts(now, ids) if ids else {})


def _opportunity_page(frame: pd.DataFrame, live: pd.Series, pending: dict) -> pd.DataFrame:
    for rule in FACT_RULES:
        missed = frame.pop(fact_column(rule, "open")).astype("int64")
        if live.any():
            taken = [
                pending.get((i, rule), 0) if is_live else 0
                for i, is_live in zip(frame["opportunity_id"], live, strict=True)
            ]
            missed = (missed - taken).clip(lower=0)
        frame[fact_column(rule, "missed")] = missed
    for index in frame.index[live.to_numpy()]:
        # A live row's band depends on how many of its open tasks are past due at `now`.
        per_rule = {
            r: tuple(int(frame.at[index, fact_column(r, p)]) for p in ("on_time", "late", "missed"))
            for r in FACT_RULES
        }
        frame.at[index, "band"] = reading(
            per_rule, notes_same_day=0, outcome=frame.at[index, "outcome"]
        )["band"]
    frame = frame.drop(columns=["open_due_max"])
    totals = {
        part: frame[[fact_column(r, part) for r in FACT_RULES]].sum(axis=1)
        for part in ("on_time", "late", "missed")
    }
    for position, part in enumerate(("on_time", "late", "missed"), start=7):
        frame.insert(position, part, totals[part])
    frame.insert(
        10,
        "compliance",
        [
            compliance_from_counts(int(a), int(b), int(c)).value
            for a, b, c in zip(totals["on_time"], totals["late"], totals["missed"], strict=True)
        ],
    )
    return frame


def opportunities(user, filters=None, now=None) -> pd.DataFrame:
    """One row per decided opportunity: behaviour features and outcome (ids, no names)."""
    pages = list(opportunity_pages(user, filters, now))
    if not pages:
        return pd.DataFrame(columns=[c for c in OPPORTUNITY_COLUMNS if c != "open_due_max"])
    return pd.concat(pages, ignore_index=True)


def filter_options(user) -> dict:
    """Choices for the filter controls, all within the user's scope."""
    require_role(user)
    scope = scope_clauses(user)
    cohorts = db.session.execute(visible_cohorts(user)).all()
    coaches = db.session.execute(visible_coaches(user)).all()
    industries = db.session.scalars(
        select(F.c.industry).where(*scope, F.c.industry.is_not(None)).distinct()
    ).all()
    # Two single min/max queries: SQLite answers each from the index without a scan.
    first = db.session.scalar(select(func.min(F.c.interview_month)).where(*scope))
    last = db.session.scalar(select(func.max(F.c.interview_month)).where(*scope))
    return {
        "cohorts": [{"label": name, "value": id_} for id_, name in cohorts],
        "coaches": [{"label": name, "value": id_} for id_, name in coaches],
        "industries": [{"label": i, "value": i} for i in sorted(industries)],
        "rounds": [{"label": label, "value": value} for value, label in ROUND_CHOICES.items()],
        "first_day": date.fromisoformat(f"{first}-01") if first else None,
        "last_day": _month_end(last) if last else None,
    }


def _month_end(month: str) -> date:
    year, number = (int(p) for p in month.split("-"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
