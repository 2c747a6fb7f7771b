"""What the client's home and checklist pages read: their opportunities, rounds and tasks.

Statements are built once per process and role; the values (the user's ids for the access
scope, the client, the round) are bind parameters, so a page issues the same few statements
however much history the client has, without rebuilding them on each request.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import groupby
from types import SimpleNamespace

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from coach_app.access import bound_scoped, scope_params
from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    FollowUpTask,
    Interview,
    InterviewContact,
    Opportunity,
    Referral,
    User,
)
from coach_app.services.checklist import TaskRow, task_row


@dataclass
class OpportunitySummary:
    """An opportunity with its rounds (oldest first) for the client's home page."""

    opportunity: Opportunity
    interviews: list[Interview]

    @property
    def rounds(self) -> int:
        return len(self.interviews)

    @property
    def latest(self) -> Interview | None:
        return self.interviews[-1] if self.interviews else None


def client_opportunities(client: ClientProfile | None, actor: User) -> list[OpportunitySummary]:
    """The client's opportunities, newest first, each with its interview rounds (two queries)."""
    if client is None:
        return []
    statements = _read_statements(actor.role)
    params = {**scope_params(actor), "client_id": client.id}
    opportunities = db.session.scalars(statements.opportunities, params).all()
    interviews = db.session.scalars(statements.interviews, params).all()
    by_opportunity = {
        key: list(group) for key, group in groupby(interviews, key=lambda i: i.opportunity_id)
    }
    return [OpportunitySummary(o, by_opportunity.get(o.id, [])) for o in opportunities]


def checklist_tasks(interview: Interview, actor: User, now: datetime) -> list[TaskRow]:
    """Every task of an interview plus its opportunity's own tasks (rejection thanks)."""
    params = {
        **scope_params(actor),
        "interview_id": interview.id,
        "opportunity_id": interview.opportunity_id,
    }
    tasks = db.session.scalars(_read_statements(actor.role).checklist, params).all()
    return [task_row(task, now) for task in tasks]


def own_profile(actor: User) -> ClientProfile | None:
    """The signed-in client's own profile (None for an account without one)."""
    params = {**scope_params(actor), "user_id": actor.id}
    return db.session.scalar(_read_statements(actor.role).own_profile, params)


def round_people(interview: Interview, actor: User) -> tuple[list, list]:
    """The round's contacts and referrals as rows (what the checklist shows of them)."""
    statements = _read_statements(actor.role)
    params = {**scope_params(actor), "interview_id": interview.id}
    connection = db.session.connection()
    return (
        connection.execute(statements.contacts, params).all(),
        connection.execute(statements.referrals, params).all(),
    )


def interview_rounds(opportunity: Opportunity, actor: User) -> list:
    """(id, round_number) of an opportunity's rounds, oldest first, for the rounds links."""
    params = {**scope_params(actor), "opportunity_id": opportunity.id}
    return db.session.execute(_read_statements(actor.role).rounds, params).all()


@cache
def _read_statements(role: str) -> SimpleNamespace:
    # Built once per process and role (values are bind parameters): building these
    # statements cost the client pages more Python time than running them.
    interviews = bound_scoped(Interview, role)
    return SimpleNamespace(
        own_profile=bound_scoped(ClientProfile, role).where(
            ClientProfile.user_id == bindparam("user_id")
        ),
        opportunities=bound_scoped(Opportunity, role)
        .where(Opportunity.client_id == bindparam("client_id"))
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc()),
        interviews=interviews.where(Interview.client_id == bindparam("client_id")).order_by(
            Interview.opportunity_id, Interview.start_at, Interview.id
        ),
        # Rows, not objects: loading them as ORM collections cost the checklist more than
        # everything else it reads.
        contacts=select(
            InterviewContact.name,
            InterviewContact.title,
            InterviewContact.email,
            InterviewContact.phone,
            InterviewContact.card_collected,
            InterviewContact.interests,
        )
        .where(
            bound_scoped(InterviewContact, role).whereclause,
            InterviewContact.interview_id == bindparam("interview_id"),
        )
        .order_by(InterviewContact.id),
        referrals=select(Referral.name, Referral.note)
        .where(
            bound_scoped(Referral, role).whereclause,
            Referral.interview_id == bindparam("interview_id"),
        )
        .order_by(Referral.id),
        rounds=select(Interview.id, Interview.round_number)
        .where(interviews.whereclause, Interview.opportunity_id == bindparam("opportunity_id"))
        .order_by(Interview.start_at, Interview.id),
        checklist=bound_scoped(FollowUpTask, role)
        .options(joinedload(FollowUpTask.referral))
        .where(
            or_(
                FollowUpTask.interview_id == bindparam("interview_id"),
                (FollowUpTask.opportunity_id == bindparam("opportunity_id"))
                & FollowUpTask.interview_id.is_(None),
            )
        )
        .order_by(FollowUpTask.due_at, FollowUpTask.id),
    )
