"""Measures from summed counters: rates, counts and 95 % Wilson intervals (PLAYBOOK.md)."""

import pandas as pd

from coach_app.models.analytics import PAIR_COUNTERS
from coach_app.playbook import Rate
from coach_app.playbook.analytics import offer_rate_from_counts
from dashboards import privacy

TOO_FEW = "too few"
MIN_GROUP_SIZE = privacy.MIN_GROUP_SIZE
NOTE = "Associations, not causes: these figures do not show that following up causes offers."
MEASURES = {
    "compliance": "Compliance",
    "same_day_notes": "Same-day notes",
    "check_in": "Check-in rate",
    "rejection_thanks": "Post-rejection thanks",
    "offer": "Offer rate",
}


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
    columns = ["opportunities", *[c for p in pairs_for(measures) for c in PAIR_COUNTERS[p]]]
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
