"""The one place that decides what the current user may see.

Every view loads objects through `get_visible_or_404` (or lists them through `scoped`),
so a forgotten check cannot leak another coach's, client's or organisation's data.
"""

from functools import cache, wraps
from types import SimpleNamespace

from flask import abort
from flask_login import current_user
from sqlalchemy import bindparam, false, select, true
from werkzeug.routing import IntegerConverter

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    ClientProfile,
    ClientSummary,
    CoachingNote,
    Cohort,
    CohortMember,
    FollowUpTask,
    Interview,
    InterviewContact,
    Invitation,
    Notification,
    Opportunity,
    OutboxMessage,
    Referral,
    Role,
    User,
    UserSession,
)


def client_scope(user):
    """Where-clause on ClientProfile: the clients whose own data `user` may see."""
    same_org = ClientProfile.organization_id == user.organization_id
    if user.role == Role.ADMIN:
        return same_org
    if user.role == Role.COACH:
        return same_org & (ClientProfile.coach_id == user.id)
    if user.role == Role.CLIENT:
        return same_org & (ClientProfile.user_id == user.id)
    # Organizers see cohorts as aggregates only, never a client's own records.
    return false()


def summary_scope(user):
    """Where-clause on ClientSummary: the same clients as client_scope(user)."""
    same_org = ClientSummary.organization_id == user.organization_id
    if user.role == Role.ADMIN:
        return same_org
    if user.role == Role.COACH:
        return same_org & (ClientSummary.coach_id == user.id)
    return ClientSummary.client_id.in_(visible_client_ids(user))


def bound_scope_user(role):
    """A stand-in user of `role` whose ids are bind parameters, filled by `scope_params`.

    Statements built once per process (the pipeline's) pass it to the scope helpers here, so
    every request runs these same rules with its own user's ids.
    """
    return SimpleNamespace(
        role=role, id=bindparam("scope_user_id"), organization_id=bindparam("scope_org_id")
    )


def bound_scoped(model, role):
    """`scoped(model)` for a `bound_scope_user` of `role`: for statements built once per process."""
    return select(model).where(SCOPES[model](bound_scope_user(role)))


def scope_params(user) -> dict:
    """The bind parameters of a statement built with `bound_scope_user`, for `user`."""
    return {"scope_user_id": user.id, "scope_org_id": user.organization_id}


def visible_client_ids(user):
    """Subquery of the ClientProfile ids `user` may see."""
    return select(ClientProfile.id).where(client_scope(user))


def _cohort_scope(user):
    same_org = Cohort.organization_id == user.organization_id
    if user.role == Role.ADMIN:
        return same_org
    if user.role == Role.ORGANIZER:
        return same_org & (Cohort.organizer_id == user.id)
    if user.role == Role.COACH:
        coach_cohorts = (
            select(CohortMember.cohort_id)
            .join(ClientProfile, ClientProfile.id == CohortMember.client_id)
            .where(ClientProfile.coach_id == user.id)
        )
        return same_org & Cohort.id.in_(coach_cohorts)
    return false()


def _user_scope(user):
    same_org = User.organization_id == user.organization_id
    if user.role == Role.ADMIN:
        return same_org
    return User.id == user.id


def _by_client(model):
    return lambda user: model.client_id.in_(visible_client_ids(user))


def _by_interview(model):
    def scope(user):
        interviews = select(Interview.id).where(Interview.client_id.in_(visible_client_ids(user)))
        return model.interview_id.in_(interviews)

    return scope


def _coaching_note_scope(user):
    # Private to coaches and admins: the client never sees what their coach wrote.
    if user.role not in (Role.ADMIN, Role.COACH):
        return false()
    return CoachingNote.client_id.in_(visible_client_ids(user))


SCOPES = {
    ClientProfile: client_scope,
    Opportunity: _by_client(Opportunity),
    Interview: _by_client(Interview),
    FollowUpTask: _by_client(FollowUpTask),
    InterviewContact: _by_interview(InterviewContact),
    Referral: _by_interview(Referral),
    CoachingNote: _coaching_note_scope,
    Cohort: _cohort_scope,
    User: _user_scope,
    Invitation: lambda user: (
        (Invitation.organization_id == user.organization_id)
        & (true() if user.role == Role.ADMIN else Invitation.invited_by_id == user.id)
    ),
    Notification: lambda user: Notification.user_id == user.id,
    # Signed-in sessions are their owner's alone, admins included.
    UserSession: lambda user: UserSession.user_id == user.id,
    OutboxMessage: lambda user: (
        (OutboxMessage.organization_id == user.organization_id)
        & (true() if user.role == Role.ADMIN else false())
    ),
    # The audit log: an organisation's admins read all of it; nobody else reads any of it.
    AuditEvent: lambda user: (
        (AuditEvent.organization_id == user.organization_id)
        & (true() if user.role == Role.ADMIN else false())
    ),
}


def scoped(model, user=None):
    """`select(model)` limited to the rows `user` (default: the current user) may see."""
    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return select(model).where(false())
    return select(model).where(SCOPES[model](user))


# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger number cannot name a row, and as a
# query parameter it raises NumericValueOutOfRange there (OverflowError past 2^63 on SQLite).
MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """`value` as a row id, or None when it is not a whole number in the id column's range."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<int:...>` limited to the id columns' range: a larger number is a 404, not a 500."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_id_converter(app) -> None:
    """Make `<int:...>` the bounded converter; call before any blueprint adds its routes."""
    app.url_map.converters["int"] = IdConverter


def get_visible_or_404(model, object_id, user=None, options: tuple = ()):
    """Load one object as the current user may see it, or answer 404.

    `options` (loader options to load related rows with it) must be a module-level tuple:
    it keys the per-process cache of statements.
    """
    object_id = parse_id(object_id)
    user = user or current_user
    if object_id is None or not getattr(user, "is_authenticated", False):
        abort(404)
    params = {**scope_params(user), "object_id": object_id}
    obj = db.session.scalar(_visible_by_id(model, user.role, options), params)
    if obj is None:
        abort(404)
    return obj


@cache
def _visible_by_id(model, role, options):
    # Built once per (model, role, options): every object page runs this, and building the
    # scoped statement cost more Python time than running it.
    return bound_scoped(model, role).options(*options).where(model.id == bindparam("object_id"))


def roles_required(*roles):
    """Decorator: the view is for these roles only (403 for the others)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from coach_app.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
