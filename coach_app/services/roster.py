"""Who coaches whom, and who is in which cohort: archive, move, notes, cohort membership.

Product decisions (see docs/user-guide.md):
- Archiving ends the coaching relationship but keeps every record. The client's sign-in is
  turned off and their pending reminders are cancelled, because an archived client who could
  still log interviews would get reminders nobody is watching. Restoring turns both back on.
- Organizers never see client names, so they can't pick clients from a coach's roster.
  They ask a coach (CohortRequest); the coach chooses which clients join, or declines. The
  coach's choice is the consent. A coach can also take a client out of a cohort at any time.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import abort
from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import selectinload

from coach_app.access import client_scope
from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    CoachingNote,
    Cohort,
    CohortMember,
    CohortRequest,
    FollowUpTask,
    Interview,
    Notification,
    Opportunity,
    Role,
    User,
    audit,
)
from coach_app.models.analytics import OpportunityFact
from coach_app.models.cohort_requests import (
    REQUEST_APPROVED,
    REQUEST_DECLINED,
    REQUEST_PENDING,
)
from coach_app.playbook import DECIDED, MIN_GROUP_SIZE, Outcome, Rate, Rule, Status
from coach_app.playbook.measures_sql import (
    NOTES_CHECK,
    NOTES_SAME_DAY,
    notes_completed_same_day,
    task_notes_day_case,
)
from coach_app.playbook.sql import task_status_case
from coach_app.services import ServiceError, notifications, reminders
from coach_app.services.accounts import invite_client, revoke_open_invitations
from coach_app.services.outbox import cancel_pending_for_recipient
from coach_app.urls import absolute_url

MAX_NOTE_LENGTH = 5000
MAX_REQUEST_NOTE_LENGTH = 1000


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# --- a coach's own work on a client ---------------------------------------------------------


def add_coaching_note(*, client: ClientProfile, author: User, body: str) -> CoachingNote:
    """Add a private coaching note (never shown to the client or to organizers)."""
    text = (body or "").strip()
    if not text:
        raise ServiceError("Write something in the note.", "body")
    if len(text) > MAX_NOTE_LENGTH:
        raise ServiceError(f"Keep a note to {MAX_NOTE_LENGTH} characters or fewer.", "body")
    note = CoachingNote(client_id=client.id, author_id=author.id, body=text)
    db.session.add(note)
    db.session.flush()
    # The audit trail says a note exists, never what it says.
    audit.record(
        organization_id=client.organization_id,
        actor_id=author.id,
        action="coaching_note.added",
        obj=note,
        details={"client_id": client.id},
    )
    return note


def archive_client(*, client: ClientProfile, actor: User, now: datetime | None = None) -> bool:
    """Archive a client: history kept, sign-in off, pending reminders cancelled.

    Returns False when the client was already archived (nothing changes).
    """
    now = _now(now)
    if client.archived_at is not None:
        return False
    client.archived_at = now
    client.user.active = False
    revoke_open_invitations(client.user_id, now)
    cancelled = cancel_pending_for_recipient(client.user_id, "client archived")
    audit.record(
        organization_id=client.organization_id,
        actor_id=actor.id,
        action="client.archived",
        obj=client,
        details={"reminders_cancelled": cancelled},
    )
    return True


def restore_client(*, client: ClientProfile, actor: User, now: datetime | None = None) -> bool:
    """Bring an archived client back: sign-in on again, reminders for open tasks re-planned."""
    now = _now(now)
    if client.archived_at is None:
        return False
    client.archived_at = None
    # Sign-in only works once a password is set; an invited-only client needs a new invitation.
    # An account an admin deactivated stays off: restoring the coaching does not undo that.
    client.user.active = client.user.deactivated_at is None
    if client.user.active:
        replan_reminders(client, now=now)
    audit.record(
        organization_id=client.organization_id,
        actor_id=actor.id,
        action="client.restored",
        obj=client,
    )
    return True


def replan_reminders(client: ClientProfile, *, now: datetime | None = None) -> int:
    """Plan reminders again for the client's open tasks not yet due (sign-in came back)."""
    now = _now(now)
    open_tasks = db.session.scalars(
        select(FollowUpTask).where(
            FollowUpTask.client_id == client.id,
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
            FollowUpTask.due_at >= now,
        )
    ).all()
    return reminders.plan_for_tasks(open_tasks, now=now, replace=True)


def _coach_in_org(coach_id, organization_id: int, field_name: str = "coach") -> User:
    try:
        coach_id = int(coach_id)
    except (TypeError, ValueError):
        raise ServiceError("Choose a coach.", field_name) from None
    coach = db.session.get(User, coach_id)
    if (
        coach is None
        or coach.organization_id != organization_id
        or coach.role != Role.COACH
        or not coach.active
    ):
        raise ServiceError("Choose a coach from your organisation.", field_name)
    return coach


def move_client(*, client: ClientProfile, coach_id, actor: User) -> User:
    """Hand a client to another coach of the same organisation (admins only)."""
    if actor.role != Role.ADMIN or actor.organization_id != client.organization_id:
        raise ServiceError("Only an administrator of this organisation can move clients.")
    coach = _coach_in_org(coach_id, client.organization_id)
    if coach.id == client.coach_id:
        raise ServiceError(f"{client.name} is already coached by {coach.name}.", "coach")
    previous = client.coach_id
    client.coach_id = coach.id
    audit.record(
        organization_id=client.organization_id,
        actor_id=actor.id,
        action="client.moved",
        obj=client,
        details={"from_coach_id": previous, "to_coach_id": coach.id},
    )
    return coach


def remove_from_cohort(*, client: ClientProfile, cohort_id: int, actor: User) -> bool:
    """Take a client out of a cohort (the coach withdrawing consent). False if not a member."""
    member = db.session.get(CohortMember, (cohort_id, client.id))
    if member is None:
        return False
    db.session.delete(member)
    audit.record(
        organization_id=client.organization_id,
        actor_id=actor.id,
        action="cohort.member_removed",
        obj=member.cohort,
        details={"client_id": client.id},
    )
    return True


def cohorts_of(client: ClientProfile) -> list[Cohort]:
    """The cohorts a client belongs to (for their coach)."""
    return list(
        db.session.scalars(
            select(Cohort)
            .join(CohortMember, CohortMember.cohort_id == Cohort.id)
            .where(CohortMember.client_id == client.id)
            .order_by(Cohort.name)
        )
    )


# --- organizers adding clients to cohorts ---------------------------------------------------


def invite_into_cohort(
    *,
    cohort: Cohort,
    organizer: User,
    coach_id,
    name: str,
    email: str,
    timezone: str | None = None,
) -> ClientProfile:
    """Invite a new client under a coach of the organisation and add them to the cohort."""
    coach = _coach_in_org(coach_id, cohort.organization_id)
    profile, _token = invite_client(
        coach=coach,
        email=email,
        name=name,
        timezone=timezone,
        invited_by=organizer,
        workshop=cohort.name,
    )
    db.session.add(
        CohortMember(cohort_id=cohort.id, client_id=profile.id, added_by_id=organizer.id)
    )
    db.session.flush()
    audit.record(
        organization_id=cohort.organization_id,
        actor_id=organizer.id,
        action="cohort.member_invited",
        obj=cohort,
        details={"client_id": profile.id, "coach_id": coach.id},
    )
    return profile


def request_from_coach(
    *, cohort: Cohort, organizer: User, coach_id, note: str | None
) -> CohortRequest:
    """Ask a coach to add clients from their roster; the coach decides who (their consent)."""
    coach = _coach_in_org(coach_id, cohort.organization_id)
    note = (note or "").strip() or None
    if note and len(note) > MAX_REQUEST_NOTE_LENGTH:
        raise ServiceError(
            f"Keep the note to {MAX_REQUEST_NOTE_LENGTH} characters or fewer.", "note"
        )
    waiting = db.session.scalar(
        select(CohortRequest.id).where(
            CohortRequest.cohort_id == cohort.id,
            CohortRequest.coach_id == coach.id,
            CohortRequest.status == REQUEST_PENDING,
        )
    )
    if waiting is not None:
        raise ServiceError(f"{coach.name} has not answered the last request yet.", "coach")
    request = CohortRequest(
        organization_id=cohort.organization_id,
        cohort_id=cohort.id,
        coach_id=coach.id,
        requested_by_id=organizer.id,
        note=note,
    )
    db.session.add(request)
    db.session.flush()
    db.session.add(
        Notification(
            user_id=coach.id,
            message=f"{organizer.name} asks you to add clients to the cohort “{cohort.name}”."[
                :500
            ],
            link=absolute_url("coach.cohort_requests"),
        )
    )
    audit.record(
        organization_id=cohort.organization_id,
        actor_id=organizer.id,
        action="cohort.request_sent",
        obj=request,
        details={"cohort_id": cohort.id, "coach_id": coach.id},
    )
    return request


def pending_requests(coach: User) -> list[CohortRequest]:
    """Requests waiting for this coach's answer, oldest first."""
    return list(
        db.session.scalars(
            select(CohortRequest)
            .where(
                CohortRequest.coach_id == coach.id,
                CohortRequest.organization_id == coach.organization_id,
                CohortRequest.status == REQUEST_PENDING,
            )
            .options(selectinload(CohortRequest.cohort), selectinload(CohortRequest.requested_by))
            .order_by(CohortRequest.created_at, CohortRequest.id)
        )
    )


# Built once: the pipeline shows this count on every load.
_PENDING_FOR_COACH = select(func.count(CohortRequest.id)).where(
    CohortRequest.coach_id == bindparam("coach_id"),
    CohortRequest.organization_id == bindparam("organization_id"),
    CohortRequest.status == REQUEST_PENDING,
)


def pending_request_count(coach: User) -> int:
    """How many requests wait for this coach."""
    params = {"coach_id": coach.id, "organization_id": coach.organization_id}
    return db.session.connection().execute(_PENDING_FOR_COACH, params).scalar_one()


def get_request_for_coach_or_404(coach: User, request_id) -> CohortRequest:
    """Load a request addressed to this coach (any other request answers 404)."""
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        abort(404)
    request = db.session.scalar(
        select(CohortRequest).where(
            CohortRequest.id == request_id,
            CohortRequest.coach_id == coach.id,
            CohortRequest.organization_id == coach.organization_id,
        )
    )
    if request is None:
        abort(404)
    return request


def eligible_clients(coach: User, cohort_id: int) -> list[tuple[int, str]]:
    """(id, name) of the coach's active clients not yet in the cohort."""
    members = select(CohortMember.client_id).where(CohortMember.cohort_id == cohort_id)
    return list(
        db.session.execute(
            select(ClientProfile.id, User.name)
            .join(User, User.id == ClientProfile.user_id)
            .where(
                client_scope(coach),
                ClientProfile.archived_at.is_(None),
                ClientProfile.id.not_in(members),
            )
            .order_by(User.name)
        ).all()
    )


def eligible_clients_by_cohort(coach: User, cohort_ids) -> dict[int, list[tuple[int, str]]]:
    """eligible_clients for several cohorts at once (two queries, however many requests)."""
    cohort_ids = list(cohort_ids)
    if not cohort_ids:
        return {}
    clients = db.session.execute(
        select(ClientProfile.id, User.name)
        .join(User, User.id == ClientProfile.user_id)
        .where(client_scope(coach), ClientProfile.archived_at.is_(None))
        .order_by(User.name, ClientProfile.id)
    ).all()
    members: dict[int, set[int]] = {cohort_id: set() for cohort_id in cohort_ids}
    for cohort_id, client_id in db.session.execute(
        select(CohortMember.cohort_id, CohortMember.client_id).where(
            CohortMember.cohort_id.in_(cohort_ids),
            CohortMember.client_id.in_([client_id for client_id, _name in clients]),
        )
    ):
        members[cohort_id].add(client_id)
    return {
        cohort_id: [(cid, name) for cid, name in clients if cid not in members[cohort_id]]
        for cohort_id in cohort_ids
    }


def _decided(request: CohortRequest) -> None:
    if request.status != REQUEST_PENDING:
        raise ServiceError(f"This request was already answered ({request.status}).")


def _tell_organizer(request: CohortRequest, message: str) -> None:
    # Whoever asked hears the answer, in the portal and by email; no client is named.
    notifications.send_notice(
        recipient=request.requested_by,
        kind="cohort_request_answered",
        dedupe_key=f"cohort_request:{request.id}:answered",
        message=message,
        link=absolute_url("cohorts.detail", cohort_id=request.cohort_id),
    )


def approve_request(
    *, request: CohortRequest, coach: User, client_ids, now: datetime | None = None
) -> int:
    """Add the chosen clients of this coach to the cohort and close the request."""
    now = _now(now)
    _decided(request)
    chosen = {int(i) for i in client_ids or []}
    if not chosen:
        raise ServiceError("Choose at least one client, or decline the request.", "clients")
    allowed = {client_id for client_id, _name in eligible_clients(coach, request.cohort_id)}
    if not chosen <= allowed:
        raise ServiceError("Choose only your own active clients.", "clients")
    for client_id in sorted(chosen):
        db.session.add(
            CohortMember(cohort_id=request.cohort_id, client_id=client_id, added_by_id=coach.id)
        )
    request.status, request.decided_at, request.added_count = REQUEST_APPROVED, now, len(chosen)
    noun = "client" if len(chosen) == 1 else "clients"
    _tell_organizer(request, f"{coach.name} added {len(chosen)} {noun} to “{request.cohort.name}”.")
    audit.record(
        organization_id=request.organization_id,
        actor_id=coach.id,
        action="cohort.request_approved",
        obj=request,
        details={"client_ids": sorted(chosen)},
    )
    return len(chosen)


def decline_request(*, request: CohortRequest, coach: User, now: datetime | None = None) -> None:
    """Close the request without adding anyone."""
    _decided(request)
    request.status, request.decided_at = REQUEST_DECLINED, _now(now)
    _tell_organizer(
        request, f"{coach.name} declined your request to add clients to “{request.cohort.name}”."
    )
    audit.record(
        organization_id=request.organization_id,
        actor_id=coach.id,
        action="cohort.request_declined",
        obj=request,
    )


def requests_for_cohort(cohort: Cohort) -> list[CohortRequest]:
    """Every request made for the cohort, newest first (coach names and counts only)."""
    return list(
        db.session.scalars(
            select(CohortRequest)
            .where(CohortRequest.cohort_id == cohort.id)
            .options(selectinload(CohortRequest.coach))
            .order_by(CohortRequest.created_at.desc(), CohortRequest.id.desc())
        )
    )


# --- cohort figures (aggregates only) -------------------------------------------------------


@dataclass
class CohortFigures:
    """A cohort as numbers only: what organizers may see."""

    size: int = 0  # members who accepted their invitation
    invited: int = 0  # added, invitation not accepted yet
    opportunities: int = 0
    clients: int = 0  # members with an opportunity counted (from the cohort's start date on)
    compliance: Rate = field(default_factory=lambda: Rate(0, 0))
    notes_rate: Rate = field(default_factory=lambda: Rate(0, 0))
    offer_rate: Rate = field(default_factory=lambda: Rate(0, 0))

    @property
    def too_few(self) -> bool:
        """Fewer opportunities or clients than the playbook's minimum group: no rates shown."""
        return self.opportunities < MIN_GROUP_SIZE or self.clients < MIN_GROUP_SIZE

    @property
    def offers_too_few(self) -> bool:
        """Too few decided opportunities for an offer rate."""
        return self.offer_rate.denominator < MIN_GROUP_SIZE


def cohort_figures(cohort_ids, now: datetime | None = None) -> dict[int, CohortFigures]:
    """Figures for many cohorts in five queries, whatever their size (work from each start).

    `size` counts members who accepted their invitation; `invited` those who have not yet.
    """
    now = _now(now)
    cohort_ids = list(cohort_ids)
    figures = {cohort_id: CohortFigures() for cohort_id in cohort_ids}
    if not cohort_ids:
        return figures
    in_cohorts = CohortMember.cohort_id.in_(cohort_ids)

    # A member counts once they accepted their invitation (set a password); until then they
    # are "invited", shown apart, since they have not started anything the figures could hold.
    accepted = User.password_hash.is_not(None)
    for cohort_id, members, invited in db.session.execute(
        select(
            CohortMember.cohort_id,
            func.sum(case((accepted, 1), else_=0)),
            func.sum(case((accepted, 0), else_=1)),
        )
        .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
        .join(User, User.id == ClientProfile.user_id)
        .where(in_cohorts)
        .group_by(CohortMember.cohort_id)
    ):
        figures[cohort_id].size, figures[cohort_id].invited = int(members), int(invited)

    # A cohort counts its members' work from its start date on (PLAYBOOK.md): opportunities
    # whose first interview is on or after it, read from the analytics facts.
    counted_work = (
        select(
            CohortMember.cohort_id,
            OpportunityFact.opportunity_id,
            OpportunityFact.client_id,
        )
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .join(OpportunityFact, OpportunityFact.client_id == CohortMember.client_id)
        .where(
            in_cohorts,
            or_(
                Cohort.starts_on.is_(None),
                OpportunityFact.first_interview_on >= Cohort.starts_on,
            ),
        )
        .subquery()
    )
    for cohort_id, opportunities, clients in db.session.execute(
        select(
            counted_work.c.cohort_id,
            func.count(counted_work.c.opportunity_id),
            func.count(func.distinct(counted_work.c.client_id)),
        ).group_by(counted_work.c.cohort_id)
    ):
        figures[cohort_id].opportunities = opportunities
        figures[cohort_id].clients = clients

    status = task_status_case(FollowUpTask, now)
    notes = task_notes_day_case(FollowUpTask, now)
    is_notes = FollowUpTask.rule == Rule.NOTES.value
    counted = [Status.ON_TIME.value, Status.LATE.value, Status.MISSED.value]

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    tasks = (
        select(
            counted_work.c.cohort_id,
            count(status == Status.ON_TIME.value),
            count(status.in_(counted)),
            count(is_notes & (notes == NOTES_SAME_DAY)),
            count(is_notes & notes.is_not(None)),
        )
        .select_from(counted_work)
        .join(FollowUpTask, FollowUpTask.opportunity_id == counted_work.c.opportunity_id)
        .group_by(counted_work.c.cohort_id)
    )
    notes_same = {}
    for cohort_id, on_time, total, same, notes_total in db.session.execute(tasks):
        figures[cohort_id].compliance = Rate(int(on_time), int(total))
        notes_same[cohort_id] = [int(same), int(notes_total)]

    checks = (
        select(
            counted_work.c.cohort_id,
            FollowUpTask.due_at,
            FollowUpTask.completed_at,
            Interview.timezone,
        )
        .select_from(counted_work)
        .join(FollowUpTask, FollowUpTask.opportunity_id == counted_work.c.opportunity_id)
        .join(Interview, Interview.id == FollowUpTask.interview_id)
        .where(is_notes, notes == NOTES_CHECK)
    )
    for cohort_id, due_at, completed_at, tz in db.session.execute(checks):
        if notes_completed_same_day(due_at=due_at, completed_at=completed_at, tz=tz):
            notes_same[cohort_id][0] += 1
    for cohort_id, (same, notes_total) in notes_same.items():
        figures[cohort_id].notes_rate = Rate(same, notes_total)

    decided = [o.value for o in DECIDED]
    outcomes = (
        select(
            counted_work.c.cohort_id,
            count(Opportunity.outcome == Outcome.OFFER.value),
            count(Opportunity.outcome.in_(decided)),
        )
        .select_from(counted_work)
        .join(Opportunity, Opportunity.id == counted_work.c.opportunity_id)
        .group_by(counted_work.c.cohort_id)
    )
    for cohort_id, offers, decided_count in db.session.execute(outcomes):
        figures[cohort_id].offer_rate = Rate(int(offers), int(decided_count))
    return figures
