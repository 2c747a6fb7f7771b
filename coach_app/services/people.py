"""People of an organisation as an admin manages them: deactivation, roles, invitations.

Product decisions (see docs/admin-people.md):
- Deactivation is the account switch for anyone, staff or client. It turns sign-in off (open
  sessions end at their next request: the user loader re-checks `is_active`), revokes unused
  invitation links and cancels every message still waiting for the person, the same way
  archiving a client does. A client's records stay with their coach; archiving (the coach's
  action) is what ends the coaching. `deactivated_at` marks an admin's decision, so restoring
  an archived client never turns a deactivated account back on.
- An organisation always keeps one admin who can sign in: nobody deactivates or demotes the
  last one, and nobody deactivates or demotes themselves (another admin does it).
- A coach who still has active clients may be deactivated (the clients stay visible to
  admins, who move them), but not turned into another role: their clients would silently
  lose a coach who can see them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import ClientProfile, Invitation, OutboxMessage, Role, User, audit
from coach_app.services import ServiceError
from coach_app.services.accounts import find_invitation, issue_invitation, revoke_open_invitations
from coach_app.services.outbox import cancel_pending_for_recipient
from coach_app.services.roster import replan_reminders

STAFF_ROLES = (Role.COACH.value, Role.ORGANIZER.value, Role.ADMIN.value)
ROLE_LABELS = {
    Role.COACH.value: "Coach",
    Role.ORGANIZER.value: "Workshop organizer",
    Role.ADMIN.value: "Admin",
    Role.CLIENT.value: "Client",
}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _require_admin_of(actor: User, organization_id: int) -> None:
    if actor.role != Role.ADMIN or actor.organization_id != organization_id:
        raise ServiceError("Only an administrator of this organisation can do this.")


def active_client_count(coach_id: int) -> int:
    """How many clients (not archived) this coach still has."""
    return db.session.scalar(
        select(func.count(ClientProfile.id)).where(
            ClientProfile.coach_id == coach_id, ClientProfile.archived_at.is_(None)
        )
    )


def _other_active_admins(person: User) -> int:
    """Admins of the person's organisation, other than them, who can sign in now.

    The organisation's admin rows are locked first (in id order, on PostgreSQL), so two
    admins demoting each other at the same moment are served one after the other and the
    second sees the first's change.
    """
    admins = db.session.execute(
        select(User.id, User.role, User.active, User.password_hash.is_not(None))
        .where(User.organization_id == person.organization_id, User.role == Role.ADMIN.value)
        .order_by(User.id)
        .with_for_update()
    ).all()
    return sum(
        1
        for user_id, role, active, has_password in admins
        if user_id != person.id and role == Role.ADMIN and active and has_password
    )


def _keep_one_admin(person: User, doing: str) -> None:
    if person.role == Role.ADMIN and person.is_active and _other_active_admins(person) == 0:
        raise ServiceError(
            f"{person.name} is the organisation's last active admin, so you cannot {doing} "
            "them. Make someone else an admin first."
        )


def person_status(user: User, profile: ClientProfile | None = None) -> str:
    """One word for the people pages: active, invited, deactivated, archived or off."""
    if user.deactivated_at is not None:
        return "deactivated"
    if profile is not None and profile.archived_at is not None:
        return "archived"
    if not user.active:
        return "off"
    return "active" if user.password_hash is not None else "invited"


# --- deactivation ---------------------------------------------------------------------------


def deactivate(*, person: User, actor: User, now: datetime | None = None) -> bool:
    """Turn the account off: no sign-in, unused links revoked, waiting messages cancelled.

    Returns False when the account was already deactivated (nothing changes).
    """
    now = _now(now)
    _require_admin_of(actor, person.organization_id)
    if person.id == actor.id:
        raise ServiceError("You cannot deactivate your own account. Ask another admin.")
    if person.deactivated_at is not None:
        return False
    _keep_one_admin(person, "deactivate")
    person.active = False
    person.deactivated_at = now
    revoked = revoke_open_invitations(person.id, now)
    cancelled = cancel_pending_for_recipient(person.id, "account deactivated")
    details = {"role": person.role, "reminders_cancelled": cancelled, "links_revoked": revoked}
    if person.role == Role.COACH:
        details["active_clients"] = active_client_count(person.id)
    audit.record(
        organization_id=person.organization_id,
        actor_id=actor.id,
        action="user.deactivated",
        obj=person,
        details=details,
    )
    return True


@dataclass
class Reactivation:
    """What reactivating gave back: sign-in, or why not yet."""

    changed: bool
    still_archived: bool = False
    needs_invitation: bool = False


def reactivate(*, person: User, actor: User, now: datetime | None = None) -> Reactivation:
    """Undo a deactivation: sign-in back on, reminders planned again for a client's open tasks.

    An archived client stays archived (sign-in stays off until their coach restores them);
    someone who never set a password needs a fresh invitation, since theirs was revoked.
    """
    now = _now(now)
    _require_admin_of(actor, person.organization_id)
    if person.deactivated_at is None:
        return Reactivation(changed=False)
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == person.id))
    archived = profile is not None and profile.archived_at is not None
    person.deactivated_at = None
    person.active = not archived
    if profile is not None and person.active:
        replan_reminders(profile, now=now)
    audit.record(
        organization_id=person.organization_id,
        actor_id=actor.id,
        action="user.reactivated",
        obj=person,
        details={"still_archived": archived} if archived else None,
    )
    return Reactivation(
        changed=True, still_archived=archived, needs_invitation=person.password_hash is None
    )


# --- roles ----------------------------------------------------------------------------------


def change_role(*, person: User, actor: User, role: str) -> bool:
    """Give a staff member another staff role. False when it is already their role."""
    _require_admin_of(actor, person.organization_id)
    if person.role == Role.CLIENT:
        raise ServiceError("Clients stay clients: a client's role cannot be changed.", "role")
    if role not in STAFF_ROLES:
        raise ServiceError("Choose coach, workshop organizer or admin.", "role")
    if role == person.role:
        return False
    if person.id == actor.id:
        raise ServiceError("You cannot change your own role. Ask another admin.", "role")
    _keep_one_admin(person, "demote")
    if person.role == Role.COACH:
        clients = active_client_count(person.id)
        if clients:
            raise ServiceError(
                f"{person.name} still coaches {clients} active client"
                f"{'' if clients == 1 else 's'}. Move them to another coach first "
                "(open each client from the client list filtered by this coach, then “Move”).",
                "role",
            )
    previous = person.role
    person.role = role
    audit.record(
        organization_id=person.organization_id,
        actor_id=actor.id,
        action="user.role_changed",
        obj=person,
        details={"from": previous, "to": role},
    )
    return True


# --- invitations ----------------------------------------------------------------------------


def _pending_invitations_of(user_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Invitation.id).where(
                Invitation.user_id == user_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )
    )


def resend_invitation(*, person: User, actor: User) -> tuple[Invitation, str]:
    """Send a fresh invitation link (earlier links stop working); returns it and its token."""
    _require_admin_of(actor, person.organization_id)
    if person.password_hash is not None:
        raise ServiceError(f"{person.name} has already set a password: there is nothing to send.")
    if not person.active:
        raise ServiceError(
            f"{person.name}'s account is switched off. Reactivate it (or restore the client) "
            "before inviting them again."
        )
    replaced = _pending_invitations_of(person.id)
    token = issue_invitation(person, actor)
    invitation = find_invitation(token)
    audit.record(
        organization_id=person.organization_id,
        actor_id=actor.id,
        action="invitation.resent",
        obj=invitation,
        details={"user_id": person.id, "replaced": replaced},
    )
    return invitation, token


def revoke_invitation(*, invitation: Invitation, actor: User, now: datetime | None = None) -> bool:
    """Make an unused link stop working. False when it was already used or revoked."""
    now = _now(now)
    _require_admin_of(actor, invitation.organization_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return False
    invitation.revoked_at = now
    # An email not sent yet would only carry a dead link.
    db.session.execute(
        OutboxMessage.__table__.update()
        .where(
            OutboxMessage.dedupe_key == f"invitation:{invitation.id}",
            OutboxMessage.status == "pending",
        )
        .values(status="cancelled", status_reason="invitation revoked")
    )
    audit.record(
        organization_id=invitation.organization_id,
        actor_id=actor.id,
        action="invitation.revoked",
        obj=invitation,
        details={"user_id": invitation.user_id},
    )
    return True
