"""Organisers' figures that can't be isolated by differencing (docs/security-analytics.md).

Plain numpy and pandas over the organiser's scope, one row per opportunity (the data layer
fetches it with `data.organizer_universe`). A figure is a count or rate over a set of
opportunities: the cell of a view (a band, a rule group, a month, a cohort, a measure's
opportunities) within the filters. A figure is shown to an organiser only when:

1. its set has at least MIN_GROUP_SIZE opportunities and MIN_GROUP_SIZE distinct clients;
2. every neighbouring filter differs from it by no client or by at least MIN_GROUP_SIZE
   clients. The neighbours of a filter are its smallest widenings that take in one more
   opportunity of the scope: the date range stretched to that opportunity's month, one of
   its cohorts added to the chosen cohorts, its industry added (or the industry filter
   dropped, for an opportunity without one), the rounds filter dropped. Any filter that
   contains this one and more opportunities contains such a widening, so a difference
   between two nested filters that rests on 1 to 4 clients always blanks the smaller one;
3. within a view whose cells split a published whole (bands, rule groups, outcomes, months),
   what the shown cells leave of the whole rests on no client or on at least
   MIN_GROUP_SIZE: otherwise the next smallest cell is blanked too (secondary suppression).
"""

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from coach_app.playbook import MIN_GROUP_SIZE

# PLAYBOOK.md: "too few" below 5 opportunities or below 5 distinct clients.
MIN_CLIENTS = MIN_GROUP_SIZE
MEASURE_SETS = {
    "compliance": "compliance_opps",
    "same_day_notes": "same_day_notes_opps",
    "check_in": "check_in_opps",
    "rejection_thanks": "rejection_thanks_opps",
    "offer": "is_decided",
}
RATE_PARTS = ("num", "den", "opps", "rate", "low", "high")
GROUP_COLUMNS = ("opportunities", "offers", "offer_rate", "low", "high")


def month_number(day: date) -> int:
    """Months since year 0, so adjacent months differ by one."""
    return day.year * 12 + day.month - 1


def month_start(day: date) -> date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of the month of `day`."""
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


@dataclass
class Universe:
    """The organiser's scope at one moment: opportunities sorted by client, and cohorts."""

    rows: pd.DataFrame
    cohort_ids: tuple[int, ...]
    qualifies: np.ndarray  # rows x cohorts: counted for that cohort (member, from its start)

    def __post_init__(self):
        rows = self.rows
        self.size = len(rows)
        self.client = rows["client_id"].to_numpy(dtype="int64")
        self.month = np.array([month_number(d) for d in rows["first_interview_on"]], dtype=int)
        self.rounds = np.array(
            ["3+" if r >= 3 else str(int(r)) for r in rows["rounds"]], dtype=object
        )
        self.industry = rows["industry"].to_numpy(dtype=object)

    def column(self, name: str) -> np.ndarray:
        """A flag column as booleans (counters above zero)."""
        return self.rows[name].fillna(0).to_numpy(dtype="int64") > 0


def _cohort_mask(u: Universe, cohorts) -> np.ndarray:
    columns = [i for i, c in enumerate(u.cohort_ids) if c in set(cohorts)]
    if not columns:
        return np.zeros(u.size, dtype=bool)  # only foreign or unknown cohorts: nothing
    return u.qualifies[:, columns].any(axis=1)


def _parts(u: Universe, filters) -> dict[str, np.ndarray]:
    """One mask per filter dimension (all true where the dimension is not filtered)."""
    every = np.ones(u.size, dtype=bool)
    dates = every.copy()
    if filters.start:
        dates &= u.month >= month_number(filters.start)
    if filters.end:
        dates &= u.month <= month_number(filters.end)
    return {
        "dates": dates,
        "cohorts": _cohort_mask(u, filters.cohorts) if filters.cohorts else every,
        "rounds": u.rounds == filters.rounds if filters.rounds else every,
        "industry": np.isin(u.industry, list(filters.industries)) if filters.industries else every,
    }


def _client_counts(u: Universe, rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Distinct clients per cell among `rows` (a mask); cells is rows x cells booleans."""
    index = np.flatnonzero(rows)
    if index.size == 0:
        return np.zeros(cells.shape[1], dtype=int)
    clients = u.client[index]  # sorted, since the universe is sorted by client
    starts = np.flatnonzero(np.r_[True, clients[1:] != clients[:-1]])
    return np.logical_or.reduceat(cells[index], starts, axis=0).sum(axis=0)


def _widenings(u: Universe, filters, inside: np.ndarray) -> set[tuple]:
    """The distinct smallest widenings of `filters` that take in an outside opportunity:
    (first month, last month, cohort added, industry added or "*", rounds dropped)."""
    outside = np.flatnonzero(~inside)
    start = month_number(filters.start) if filters.start else -1
    end = month_number(filters.end) if filters.end else -1
    chosen = _cohort_mask(u, filters.cohorts) if filters.cohorts else None
    steps = set()
    for i in outside.tolist():
        month, industry = int(u.month[i]), u.industry[i]
        step_start = month if start != -1 and month < start else start
        step_end = month if end != -1 and month > end else end
        rounds = bool(filters.rounds) and u.rounds[i] != filters.rounds
        if not filters.industries or industry in filters.industries:
            industry = None
        else:
            industry = industry or "*"
        if chosen is None or chosen[i]:
            cohorts = (-1,)
        else:
            cohorts = tuple(u.cohort_ids[k] for k in np.flatnonzero(u.qualifies[i]))
        for cohort in cohorts:
            steps.add((step_start, step_end, cohort, industry, rounds))
    return steps


def _widened(u: Universe, parts: dict, step: tuple) -> np.ndarray:
    start, end, cohort, industry_step, rounds_dropped = step
    dates = np.ones(u.size, dtype=bool)
    if start != -1:
        dates &= u.month >= start
    if end != -1:
        dates &= u.month <= end
    cohorts = parts["cohorts"]
    if cohort != -1:
        cohorts = cohorts | u.qualifies[:, u.cohort_ids.index(cohort)]
    rounds = np.ones(u.size, dtype=bool) if rounds_dropped else parts["rounds"]
    industry = parts["industry"]
    if industry_step == "*":
        industry = np.ones(u.size, dtype=bool)
    elif industry_step is not None:
        industry = industry | (u.industry == industry_step)
    return dates & cohorts & rounds & industry


def blocked_cells(u: Universe, filters, cells: np.ndarray) -> np.ndarray:
    """Per cell (columns of `cells`): True when rules 1 or 2 of the module docstring fail."""
    parts = _parts(u, filters)
    inside = parts["dates"] & parts["cohorts"] & parts["rounds"] & parts["industry"]
    members = cells & inside[:, None]
    blocked = (members.sum(axis=0) < MIN_GROUP_SIZE) | (
        _client_counts(u, inside, cells) < MIN_CLIENTS
    )
    for step in _widenings(u, filters, inside):
        if blocked.all():
            break
        added = _widened(u, parts, step) & ~inside
        counts = _client_counts(u, added, cells)
        blocked |= (counts > 0) & (counts < MIN_CLIENTS)
    return blocked


def _secondary(u: Universe, inside, whole, cells, blocked, groups) -> np.ndarray:
    """Rule 3: blank more cells of a split while the unshown rest rests on 1-4 clients."""
    blocked = blocked.copy()
    base = inside & whole
    for group in groups:
        while True:
            shown = [k for k in group if not blocked[k]]
            covered = cells[:, shown].any(axis=1) if shown else np.zeros(u.size, dtype=bool)
            rest = base & ~covered
            left = _client_counts(u, rest, np.ones((u.size, 1), dtype=bool))[0]
            if not shown or left == 0 or left >= MIN_CLIENTS:
                break
            sizes = _client_counts(u, inside, cells[:, shown])
            blocked[shown[int(np.argmin(sizes))]] = True
    return blocked


def _apply(frame: pd.DataFrame, masks: dict) -> pd.DataFrame:
    """Set the flag columns ("too_few"...) and blank each other column where its mask is set."""
    frame = frame.copy()
    flags = {c: np.asarray(m, dtype=bool) for c, m in masks.items() if c.endswith("too_few")}
    blanks = {c: np.asarray(m, dtype=bool) for c, m in masks.items() if c in frame.columns}
    blanks = {c: m for c, m in blanks.items() if c not in flags and m.any()}
    frame = frame.astype({c: "object" for c in blanks})
    for column, mask in blanks.items():
        frame.loc[mask, column] = None
    for column, mask in flags.items():
        frame[column] = mask
    return frame


def _inside(u: Universe, filters) -> np.ndarray:
    parts = _parts(u, filters)
    return parts["dates"] & parts["cohorts"] & parts["rounds"] & parts["industry"]


def _evaluate(u, filters, cells, whole=None, groups=()) -> np.ndarray:
    blocked = blocked_cells(u, filters, cells)
    if groups:
        blocked = _secondary(u, _inside(u, filters), whole, cells, blocked, groups)
    return blocked


def _measure_cells(u: Universe, within: np.ndarray, measures) -> np.ndarray:
    return np.column_stack([within & u.column(MEASURE_SETS[m]) for m in measures])


def headline(u: Universe, filters, frame: pd.DataFrame) -> pd.DataFrame:
    """Tiles: each measure's set, and the whole for the opportunities count."""
    every = np.ones(u.size, dtype=bool)
    cells = np.column_stack([_measure_cells(u, every, frame["measure"]), every])
    blocked = _evaluate(u, filters, cells)
    masks = {"too_few": blocked[:-1], **{p: blocked[:-1] for p in RATE_PARTS}}
    masks["opportunities"] = np.full(len(frame), blocked[-1])
    return _apply(frame, masks)


def _decided_split(u, filters, frame, cells, groups, columns) -> pd.DataFrame:
    decided = u.column("is_decided")
    blocked = _evaluate(u, filters, cells, decided, groups)
    return _apply(frame, {"too_few": blocked, **{c: blocked for c in columns}})


def bands(u: Universe, filters, frame: pd.DataFrame) -> pd.DataFrame:
    """Offer rate by band: bands split the decided opportunities."""
    decided = u.column("is_decided")
    band = u.rows["band"].to_numpy(dtype=object)
    cells = np.column_stack([decided & (band == b) for b in frame["band"]])
    return _decided_split(u, filters, frame, cells, [list(range(len(frame)))], GROUP_COLUMNS)


def rules(u: Universe, filters, frame: pd.DataFrame, bit_of: dict, ok_group: str):
    """Per rule: every task on time against at least one late or missed."""
    decided = u.column("is_decided")
    masks = {
        True: u.rows["ok_mask"].fillna(0).to_numpy(dtype="int64"),
        False: u.rows["bad_mask"].fillna(0).to_numpy(dtype="int64"),
    }
    cells, groups = [], {}
    for k, (rule, group) in enumerate(zip(frame["rule"], frame["group"], strict=True)):
        bit = bit_of[rule]
        cells.append(decided & (((masks[group == ok_group] >> bit) & 1) == 1))
        groups.setdefault(rule, []).append(k)
    return _decided_split(
        u, filters, frame, np.column_stack(cells), list(groups.values()), GROUP_COLUMNS
    )


def hours(u: Universe, filters, frame: pd.DataFrame) -> pd.DataFrame:
    """Hours to the thank-you email: one cell per outcome (its rows share it)."""
    decided = u.column("is_decided")
    outcome = u.rows["outcome"].to_numpy(dtype=object)
    has_hours = u.rows["hours_bucket"].notna().to_numpy()
    outcomes = list(dict.fromkeys(frame["outcome"]))
    cells = np.column_stack([decided & has_hours & (outcome == o) for o in outcomes])
    blocked = _evaluate(u, filters, cells, decided, [list(range(len(outcomes)))])
    per_row = frame["outcome"].map(dict(zip(outcomes, blocked, strict=True))).to_numpy(bool)
    columns = ("too_few", "opportunities", "outcome_total", "share", "low", "high")
    return _apply(frame, dict.fromkeys(columns, per_row))


def _measure_table(u, filters, frame, within_of, measures, split: bool) -> pd.DataFrame:
    """Months or cohorts: each measure per row, and each row's opportunities count.

    `within_of` gives per row its rows of the universe and the filters it stands for.
    """
    every = np.ones(u.size, dtype=bool)
    sets = [u.column(MEASURE_SETS[m]) for m in measures] + [every]
    blocked = np.zeros((len(within_of), len(sets)), dtype=bool)  # rows x (measures, all)
    if split:
        cells = np.column_stack([within & s for s in sets for within, _ in within_of])
        flat = blocked_cells(u, filters, cells)
        inside = _inside(u, filters)
        for j, whole in enumerate(sets):
            group = list(range(j * len(within_of), (j + 1) * len(within_of)))
            flat = _secondary(u, inside, whole, cells, flat, [group])
        blocked = flat.reshape(len(sets), len(within_of)).T
    else:
        for k, (within, row_filters) in enumerate(within_of):
            cells = np.column_stack([within & s for s in sets])
            blocked[k] = blocked_cells(u, row_filters, cells)
    masks = {"too_few": blocked[:, -1], "opportunities": blocked[:, -1]}
    for j, measure in enumerate(measures):
        masks[f"{measure}_too_few"] = blocked[:, j]
        masks.update({f"{measure}_{p}": blocked[:, j] for p in RATE_PARTS})
    return _apply(frame, masks)


def months(u: Universe, filters, frame: pd.DataFrame, measures) -> pd.DataFrame:
    """Each measure by month: months split each measure's whole."""
    if frame.empty:
        return frame
    within = [
        (u.month == month_number(date.fromisoformat(f"{m}-01")), filters) for m in frame["month"]
    ]
    return _measure_table(u, filters, frame, within, measures, split=True)


def cohorts(u: Universe, filters, frame: pd.DataFrame, measures) -> pd.DataFrame:
    """Each measure per cohort: a cohort's row is the view filtered to that cohort alone."""
    if frame.empty:
        return frame
    every = np.ones(u.size, dtype=bool)
    within = [(every, replace(filters, cohorts=(int(c),))) for c in frame["cohort_id"]]
    return _measure_table(u, filters, frame, within, measures, split=False)
