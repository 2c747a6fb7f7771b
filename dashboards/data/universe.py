"""The organiser's scope one row per opportunity, and `_protect`, which blanks what
dashboards/privacy.py finds isolable: the one place views are made safe for organisers."""

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select

from coach_app.models import Cohort, CohortMember, Role
from coach_app.models.analytics import ASOF
from dashboards import privacy
from dashboards.data.facts import (
    _current,
    _frame,
    _live_rows,
    _rows,
    _settled,
    _sums_frame,
    _unpack,
)
from dashboards.data.measures import MEASURES
from dashboards.data.scope import (
    F,
    _now,
    _organizer_cohorts,
    applied_filters,
    is_organizer,
    require_role,
    scope_clauses,
)

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
    cohorts = _rows(
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
