"""Groupings with their own pass: cohorts, coaches and clients side by side; filter choices."""

from datetime import date

import pandas as pd
from sqlalchemy import and_, func, or_, select

from coach_app.models import ClientProfile, Cohort, CohortMember, Role, User
from coach_app.models.analytics import PAIR_COUNTERS
from dashboards.data.facts import (
    _combine,
    _current_sums,
    _frame,
    _live_rows,
    _rows,
    _settled,
    _sums,
    _sums_frame,
    _unpack,
)
from dashboards.data.filters import ROUND_CHOICES
from dashboards.data.measures import MEASURES, _measures, pairs_for
from dashboards.data.rollups import settled_sums
from dashboards.data.scope import (
    F,
    _now,
    _where,
    require_role,
    scope_clauses,
    visible_coaches,
    visible_cohorts,
)
from dashboards.data.universe import _protect
from dashboards.source import analytics_connection

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
            *[func.coalesce(func.sum(F.c[p]), 0).label(p) for p in PAIR_COUNTERS],
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
    # Only the members' rows: a scope without cohorts (or with few members) reads nothing.
    members_only = [*where, F.c.client_id.in_(select(CohortMember.client_id).where(in_cohorts))]
    recent = _combine(keys, _current_sums(members_only, now, keys), _live_rows(members_only, now))
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
    names = dict(_rows(select(cohorts.c.id, cohorts.c.name)).all())
    frame.insert(1, "cohort", [names.get(i) for i in frame["cohort_id"]])
    return _protect("cohorts", frame, user, filters, now)


def _by_key(user, filters, now, key: str, measures=tuple(MEASURES)) -> pd.DataFrame:
    now = _now(now)
    pairs = pairs_for(measures)
    # Coaches from their rollup grain; clients (one coach's, a few hundred) from the facts.
    settled = settled_sums(user, filters, now, "coach", [key], pairs) if key == "coach_id" else None
    sums = _sums(_where(user, filters), now, [key], pairs, settled=settled)
    return _measures(sums, [key], measures)


def by_coach(user, filters=None, now=None, *, measures=tuple(MEASURES)) -> pd.DataFrame:
    """Each measure (or only `measures`) per coach: the admin's comparison across coaches."""
    require_role(user, Role.ADMIN)
    frame = _by_key(user, filters, now, "coach_id", measures)
    names = dict(_rows(visible_coaches(user)).all())
    frame.insert(1, "coach", [names.get(i) for i in frame["coach_id"]])
    return frame


def by_client(user, filters=None, now=None) -> pd.DataFrame:
    """Each measure per client, for coaches (own clients) and admins; never organizers."""
    require_role(user, Role.ADMIN, Role.COACH)
    frame = _by_key(user, filters, now, "client_id")
    ids = [int(i) for i in frame["client_id"]] if len(frame) else []
    names = dict(
        _rows(
            select(ClientProfile.id, User.name)
            .join(User, User.id == ClientProfile.user_id)
            .where(ClientProfile.id.in_(ids), ClientProfile.organization_id == user.organization_id)
        ).all()
    )
    frame.insert(1, "client", [names.get(i) for i in frame["client_id"]])
    return frame


def filter_options(user) -> dict:
    """Choices for the filter controls, all within the user's scope."""
    require_role(user)
    scope = scope_clauses(user)
    cohorts = _rows(visible_cohorts(user)).all()
    coaches = _rows(visible_coaches(user)).all()
    industries = (
        _rows(select(F.c.industry).where(*scope, F.c.industry.is_not(None)).distinct())
        .scalars()
        .all()
    )
    # Two single min/max queries: SQLite answers each from the index without a scan.
    first = analytics_connection().scalar(select(func.min(F.c.interview_month)).where(*scope))
    last = analytics_connection().scalar(select(func.max(F.c.interview_month)).where(*scope))
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
