"""The overview: headline tiles, bands, rules, hours and months from one pass over the
rollups (or the facts, where a filter is finer than the rollups' grain)."""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from coach_app.models.analytics import FACT_RULES
from coach_app.playbook import DECIDED, RULES, Rate, Rule
from coach_app.playbook.analytics import ALL_ON_TIME, BANDS, HOURS_LABELS, LATE_OR_MISSED
from dashboards import privacy
from dashboards.data.facts import (
    MAIN_KEYS,
    MEASURE_PAIRS,
    RULE_KEYS,
    SUM_COLUMNS,
    _combine,
    _current_rows,
    _live_rows,
)
from dashboards.data.filters import Filters
from dashboards.data.measures import MEASURES, _measures, _measures_row, _offer_row, _with_offers
from dashboards.data.rollups import settled_sums
from dashboards.data.scope import F, _now, _where, is_organizer
from dashboards.data.universe import _protect, organizer_universe

# --- the overview: tiles, bands, rules, hours and months ---------------------------------


@dataclass
class OverviewSums:
    """What the overview's views are shaped from: two GROUP BYs plus the live rows."""

    main: pd.DataFrame  # by interview_month, outcome, band, hours_bucket
    # Decided opportunities by is_offer, ok_mask, bad_mask; rows from the rollups carry one
    # rule bit each, so `opportunities` counts per rule group (by_rule tests bit by bit).
    rules: pd.DataFrame
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
    settled = settled_sums(user, filters, now, "main", MAIN_KEYS, MEASURE_PAIRS)
    main = _with_offers(_combine(list(MAIN_KEYS), settled, current, live))
    decided = [F.c.is_decided == 1]
    rules = _combine(
        list(RULE_KEYS),
        settled_sums(user, filters, now, "rules", RULE_KEYS, (), extra=decided),
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
