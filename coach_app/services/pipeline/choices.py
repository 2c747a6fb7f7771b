"""The choices of the pipeline's filters: cohorts and coaches."""

from sqlalchemy import select

from coach_app.access import client_scope
from coach_app.extensions import db
from coach_app.models import ClientProfile, Cohort, CohortMember, Role, User


def cohort_choices(user) -> list[tuple[int, str]]:
    """Cohorts the pipeline can filter by: those holding at least one client in scope."""
    in_org = Cohort.organization_id == user.organization_id
    if user.role == Role.ADMIN:
        # The whole organisation is in scope: each cohort is probed for one member in scope,
        # which its first member answers (an IN over every member would read the roster).
        has_member_in_scope = (
            select(CohortMember.client_id)
            .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
            .where(CohortMember.cohort_id == Cohort.id, client_scope(user))
            .exists()
        )
        statement = select(Cohort.id, Cohort.name).where(in_org, has_member_in_scope)
    else:
        # A coach's few hundred clients lead, through the members' client index: probing
        # every cohort of a large organisation for them cost 65 ms at 2,500 cohorts.
        memberships = (
            select(CohortMember.cohort_id)
            .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
            .where(client_scope(user))
        )
        statement = select(Cohort.id, Cohort.name).where(in_org, Cohort.id.in_(memberships))
    return [tuple(row) for row in db.session.execute(statement.order_by(Cohort.name)).all()]


def coach_choices(organization_id: int) -> list[tuple[int, str]]:
    """The organisation's coaches, for filters and select boxes."""
    return list(
        db.session.execute(
            select(User.id, User.name)
            .where(User.organization_id == organization_id, User.role == Role.COACH)
            .order_by(User.name)
        ).all()
    )
