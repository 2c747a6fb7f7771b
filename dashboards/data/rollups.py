"""Settled sums from the rollups, corrected to the moment read.

The rollups (coach_app/services/analytics_rollups.py) hold, per grain, the settled readings
of the fact rows that were settled at their organisation's mark. At `now` the settled rows
are those plus the rows whose last deadline fell in [mark, now) (minus those in [now, mark)
when reading before the mark, as tests do): that slice comes from the facts, through
ix_analytics_facts_org_open_due. So a full load sums a few thousand rollup rows plus a slice
that the 5-minute fold keeps small; with the fold stopped it only grows, never goes wrong.

What the grains can't answer falls back to the facts' GROUP BY (`_settled_sums`): cohorts
(a member counts from each cohort's start date), a coach's own scope or the coach filter on
the overview, rounds or industries on the coaches comparison, and the organiser's scope.
Dates: whole months from the rollups, the days of a month the range cuts from the facts.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import func, or_, select

from coach_app.models import Role
from coach_app.models.analytics import PAIR_COUNTERS
from coach_app.services.analytics_rollups import ROLLUPS, mark_of
from dashboards import privacy
from dashboards.data.facts import _combine, _grouped_sums, _int64, _rows, _settled_sums
from dashboards.data.scope import F, _where, applied_filters, filter_clauses, scope_clauses
from dashboards.source import analytics_connection

R = ROLLUPS
BLANK_IS_NONE = ("band", "hours_bucket")  # the rollups store the facts' NULL as ""


@dataclass(frozen=True)
class Months:
    """The whole months of a date range (None: unbounded on that side)."""

    first: date | None
    last: date | None


def whole_months(user, filters, grain: str) -> Months | None:
    """The part of the filters the grain answers, or None: read the facts instead."""
    if user.role != Role.ADMIN or filters.cohorts:
        return None
    if grain != "coach" and filters.coaches:
        return None
    if grain == "coach" and (filters.rounds or filters.industries):
        return None
    first = last = None
    if filters.start:
        first = privacy.month_start(filters.start)
        if first != filters.start:
            first = privacy.month_end(filters.start) + timedelta(days=1)
    if filters.end:
        last = privacy.month_end(filters.end)
        if last != filters.end:
            last = privacy.month_start(filters.end) - timedelta(days=1)
    if first and last and first > last:
        return None  # no whole month in the range
    return Months(first, last)


def settled_sums(user, filters, now: datetime, grain: str, keys, pairs, extra=()) -> pd.DataFrame:
    """The rows settled at `now`, grouped by `keys`: rollups plus the slice since the mark."""
    applied = applied_filters(user, filters)
    where = [*_where(user, filters), *extra]
    keys = list(keys)
    months = whole_months(user, applied, grain)
    as_of = mark_of(analytics_connection(), user.organization_id) if months else None
    if as_of is None:
        return _settled_sums(where, now, keys, pairs)
    counters = ["opportunities", *[c for p in pairs for c in PAIR_COUNTERS[p]]]
    parts = [_rollup_sums(user, applied, months, grain, keys, counters)]
    whole = replace(applied, start=months.first, end=months.last)
    in_months = [*scope_clauses(user), *filter_clauses(user, whole), *extra]
    low, high = sorted((as_of, now))
    if low < high:
        moved = _grouped_sums(
            [*in_months, F.c.open_due_max >= low, F.c.open_due_max < high], keys, pairs
        )
        if now < as_of:  # read before the mark: those rows are not settled yet
            moved[counters] = -moved[counters]
        parts.append(moved)
    outside = []
    if applied.start and months.first and applied.start < months.first:
        outside.append(F.c.first_interview_on < months.first)
    if applied.end and months.last and applied.end > months.last:
        outside.append(F.c.first_interview_on > months.last)
    if outside:
        parts.append(_settled_sums([*where, or_(*outside)], now, keys, pairs))
    total = _combine(keys, *parts)
    return total[total["opportunities"] != 0].reset_index(drop=True)


def _rollup_sums(user, filters, months: Months, grain: str, keys, counters) -> pd.DataFrame:
    clauses = [R.c.grain == grain, R.c.organization_id == user.organization_id]
    if months.first:
        clauses.append(R.c.interview_month >= months.first.strftime("%Y-%m"))
    if months.last:
        clauses.append(R.c.interview_month <= months.last.strftime("%Y-%m"))
    if filters.rounds:
        clauses.append(R.c.rounds == (3 if filters.rounds == "3+" else int(filters.rounds)))
    if filters.industries:
        clauses.append(R.c.industry.in_(filters.industries))
    if filters.coaches:
        clauses.append(R.c.coach_id.in_(filters.coaches))
    query = (
        select(*[R.c[k] for k in keys], *[func.sum(R.c[c]).label(c) for c in counters])
        .where(*clauses)
        .group_by(*[R.c[k] for k in keys])
        .having(func.sum(R.c.opportunities) != 0)
    )
    result = _rows(query)
    rows = result.all()
    columns = list(result.keys())
    values = list(zip(*rows, strict=True)) or [()] * len(columns)
    frame = pd.DataFrame(
        {
            c: _int64(v)
            if c in counters
            else [x or None for x in v]
            if c in BLANK_IS_NONE
            else list(v)
            for c, v in zip(columns, values, strict=True)
        },
        columns=columns,
    )
    return frame
