"""The per-opportunity table (ids, no names), in pages: the CSV export streams it."""

import pandas as pd
from sqlalchemy import select

from coach_app.models import Role
from coach_app.models.analytics import FACT_RULES, STATUS_PARTS, fact_column
from coach_app.playbook import compliance_from_counts
from coach_app.services.analytics_facts import reading
from dashboards.data.facts import _frame, _pending_counts
from dashboards.data.scope import F, _now, _where, require_role

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
