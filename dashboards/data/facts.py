"""Reading the per-opportunity facts at a moment: settled rows summed in SQL, rows with a task
not yet due from their reading as of their computation, stale rows one by one.

Time matters only for open tasks: an open task is pending until its due time and missed
after it. Each fact row stores its "settled" reading (every open task missed), true once its
open tasks are all past due (open_due_max < now). Each row also stores its reading as of its
computation (`*_asof`), true while no deadline has passed since (updated_at <= now <=
next_open_due). Only the rows with a deadline between their computation and now are read one
by one, their pending tasks counted from the task table, and re-read with the function that
wrote the facts (docs/analytics.md, "Per-opportunity facts").
"""

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from coach_app.models import FollowUpTask
from coach_app.models.analytics import (
    ASOF,
    FACT_RULES,
    PAIR_COUNTERS,
    PAIR_SHIFT,
    STATUS_PARTS,
    fact_column,
)
from coach_app.playbook import Status
from coach_app.playbook.sql import task_status_case
from coach_app.services import analytics_facts
from coach_app.services.analytics_facts import reading
from dashboards.data.scope import F
from dashboards.source import analytics_connection

# --- reading the facts: settled rows in SQL, live rows one by one ---------------------

MEASURE_PAIRS = tuple(p for p in PAIR_COUNTERS if p != "pair_outcome")
SUM_COLUMNS = ["opportunities", *[name for pair in PAIR_COUNTERS.values() for name in pair]]
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


def _rows(query):
    # Core statements straight on the analytics connection (dashboards/source.py): the
    # ORM's execute path adds a per-row cost that shows on thousands of rows.
    return analytics_connection().execute(query)


def _frame(query) -> pd.DataFrame:
    result = _rows(query)
    columns = list(result.keys())
    # Plain tuples: pandas builds a frame from SQLAlchemy Row objects several times slower.
    return pd.DataFrame.from_records([tuple(row) for row in result], columns=columns)


_COUNTS = frozenset({*PAIR_COUNTERS, "opportunities"})


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
    for pair, (high, low) in PAIR_COUNTERS.items():
        if pair not in frame.columns:
            continue
        column = frame.pop(pair)
        values = column.to_numpy() if column.dtype == "int64" else _int64(column.tolist())
        frame[high] = values >> PAIR_SHIFT
        frame[low] = values & ((1 << PAIR_SHIFT) - 1)
    return frame


def _settled_sums(where: list, now: datetime, keys, pairs=tuple(PAIR_COUNTERS)) -> pd.DataFrame:
    """GROUP BY `keys` over the rows settled at `now`: count and the summed counters.

    The keys, filters and pairs are all columns of one covering index, so SQLite answers
    while walking the index, without a sort or a lookup into the table.
    """
    return _grouped_sums([*where, _settled(now)], keys, pairs)


def _grouped_sums(where: list, keys, pairs) -> pd.DataFrame:
    """GROUP BY `keys` over the facts matching `where`, the settled pairs summed, unpacked."""
    columns = [F.c[k] for k in keys]
    query = (
        select(
            *columns,
            func.count().label("opportunities"),
            *[func.sum(F.c[p]).label(p) for p in pairs],
        )
        .where(*where)
        .group_by(*columns)
    )
    return _unpack(_sums_frame(query))


def _current_rows(where: list, now: datetime, keys, pairs=tuple(PAIR_COUNTERS)) -> pd.DataFrame:
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


def _current_sums(where: list, now: datetime, keys, pairs=tuple(PAIR_COUNTERS)) -> pd.DataFrame:
    """The current rows summed by `keys`."""
    keys = list(keys)
    rows = _current_rows(where, now, keys, pairs)
    if rows.empty:
        return rows
    sums = [c for c in rows.columns if c not in keys]
    return rows.groupby(keys, dropna=False, sort=False, as_index=False)[sums].sum()


def _sums(
    where: list,
    now: datetime,
    keys,
    pairs=tuple(PAIR_COUNTERS),
    live=None,
    current=None,
    settled=None,
) -> pd.DataFrame:
    """Settled, current and stale rows grouped by `keys` (stale ones read one by one).

    `live`, `current` and `settled` may be given, already fetched (with more columns, or
    from the rollups) for several views.
    """
    keys = list(keys)
    if settled is None:
        settled = _settled_sums(where, now, keys, pairs)
    live = _live_rows(where, now) if live is None else live
    current = _current_rows(where, now, keys, pairs) if current is None else current
    return _combine(keys, settled, current, live)


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
    read = ("band", *RULE_KEYS, "is_decided", *PAIR_COUNTERS)
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
