"""The choices of the pipeline's filters: cohorts and coaches."""

from sqlalchemy import select

from coach_app.access import client_scope
from coach_app.extensions import db
from coach_app.models import ClientProfile, Cohort, CohortMember, Role, User


def cohort_choices(user) -> list[tuple[int, str]]:
    """Cohorts the pipeline can filter by: those holding at least one client in scope."""
    # Driven by the organisation's cohorts (a few), each probed for one member in scope: an
    # IN list over the members of every client in scope read the whole roster each time.
    has_member_in_scope = (
        select(CohortMember.client_id)
        .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
        .where(CohortMember.cohort_id == Cohort.id, client_scope(user))
        .exists()
    )
    statement = (
        select(Cohort.id, Cohort.name)
        .where(Cohort.organization_id == user.organization_id, has_member_in_scope)
        .order_by(Cohort.name)
    )
    return [tuple(row) for row in db.session.execute(statement).all()]


def coach_choices(organization_id: int) -> list[tuple[int, str]]:
    """The organisation's coaches, for filters and select boxes."""
    return list(
        db.session.execute(
            select(User.id, User.name)
            .where(User.organization_id == organization_id, User.role == Role.COACH)
            .order_by(User.name)
        ).all()
    )
