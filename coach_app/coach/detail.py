"""The coach's view of one client: opportunities, rounds, tasks, contacts, notes (batch-loaded)."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import selectinload

from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import ClientProfile, CoachingNote, FollowUpTask, Interview, Opportunity
from coach_app.playbook import Rate, compliance
from coach_app.services import checklist


@dataclass
class RoundView:
    interview: Interview
    tasks: list = field(default_factory=list)


@dataclass
class OpportunityView:
    opportunity: Opportunity
    rounds: list[RoundView] = field(default_factory=list)
    # Tasks that belong to the opportunity rather than a round (thanks after a rejection).
    other_tasks: list = field(default_factory=list)
    compliance: Rate = field(default_factory=lambda: Rate(0, 0))


@dataclass
class TimelineEvent:
    at: datetime
    kind: str
    text: str
    opportunity_id: int


@dataclass
class ClientDetail:
    client: ClientProfile
    opportunities: list[OpportunityView]
    timeline: list[TimelineEvent]
    notes: list[CoachingNote]
    compliance: Rate
    open_count: int


def client_detail(client: ClientProfile, now: datetime) -> ClientDetail:
    """Everything the detail page shows, in a fixed handful of queries."""
    opportunities = db.session.scalars(
        scoped(Opportunity)
        .where(Opportunity.client_id == client.id)
        .options(
            selectinload(Opportunity.interviews).selectinload(Interview.contacts),
            selectinload(Opportunity.interviews).selectinload(Interview.referrals),
        )
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
    ).all()
    tasks = db.session.scalars(
        scoped(FollowUpTask)
        .where(FollowUpTask.client_id == client.id)
        .order_by(FollowUpTask.due_at, FollowUpTask.id)
    ).all()
    notes = db.session.scalars(
        scoped(CoachingNote)
        .where(CoachingNote.client_id == client.id)
        .options(selectinload(CoachingNote.author))
        .order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())
    ).all()

    rows = [checklist.task_row(task, now) for task in tasks]
    by_interview: dict[int, list] = {}
    by_opportunity: dict[int, list] = {}
    for row in rows:
        if row.task.interview_id is not None:
            by_interview.setdefault(row.task.interview_id, []).append(row)
        else:
            by_opportunity.setdefault(row.task.opportunity_id, []).append(row)

    views, timeline = [], []
    for opportunity in opportunities:
        view = OpportunityView(opportunity, other_tasks=by_opportunity.get(opportunity.id, []))
        label = f"{opportunity.company} — {opportunity.role}"
        timeline.append(
            TimelineEvent(opportunity.created_at, "opened", f"Opened {label}", opportunity.id)
        )
        statuses = [r.status for r in view.other_tasks]
        for interview in opportunity.interviews:
            round_tasks = by_interview.get(interview.id, [])
            how = interview.format.replace("_", " ")
            view.rounds.append(RoundView(interview, round_tasks))
            statuses.extend(r.status for r in round_tasks)
            timeline.append(
                TimelineEvent(
                    interview.start_at,
                    "round",
                    f"Round {interview.round_number} at {label} ({how})",
                    opportunity.id,
                )
            )
        if opportunity.decided_at is not None:
            timeline.append(
                TimelineEvent(
                    opportunity.decided_at,
                    "outcome",
                    f"Outcome for {label}: {opportunity.outcome.replace('_', ' ')}",
                    opportunity.id,
                )
            )
        view.compliance = compliance(statuses)
        views.append(view)
    timeline.sort(key=lambda event: event.at, reverse=True)
    return ClientDetail(
        client=client,
        opportunities=views,
        timeline=timeline,
        notes=notes,
        compliance=compliance(r.status for r in rows),
        open_count=sum(1 for task in tasks if task.is_open),
    )
