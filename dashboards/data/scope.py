"""Who may see what: roles, the scope's where-clauses, filters applied within it, the clock.

Every query starts from `scope_clauses(user)`; filters are intersected with it, so a cohort
or coach outside the scope yields nothing (docs/analytics.md, "What each role sees").
"""

import sys
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import exists, literal, or_, select
from sqlalchemy.exc import OperationalError

from coach_app.extensions import db
from coach_app.models import ClientProfile, Cohort, CohortMember, Role, User
from coach_app.models.analytics import OpportunityFact
from coach_app.services import analytics_facts
from dashboards import privacy
from dashboards.data.filters import Filters

ANALYTICS_ROLES = (Role.ADMIN, Role.COACH, Role.ORGANIZER)
F = OpportunityFact.__table__


class AnalyticsAccessError(PermissionError):
    """The user's role may not see this analytics view."""


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
    # Looked up on the package: tests replace dashboards.data.current_time.
    return now or sys.modules["dashboards.data"].current_time()


def _where(user, filters: Filters | None) -> list:
    return scope_clauses(user) + filter_clauses(user, applied_filters(user, filters))
