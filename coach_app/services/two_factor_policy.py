"""The organisation's second-factor rule, and an admin's reset of a lost second factor."""

from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import Role, TwoFactor, User, audit
from coach_app.services import ServiceError, user_sessions
from coach_app.services.two_factor import audit_event, is_enabled, remove_everything

STAFF_ROLES = (Role.ADMIN, Role.COACH)


def enrolment_required(user: User) -> bool:
    """True when the organisation requires a second factor this person has not set up yet."""
    return (
        user.role in STAFF_ROLES and user.organization.require_two_factor and not is_enabled(user)
    )


def set_required(admin: User, required: bool) -> bool:
    """Require (or stop requiring) a second factor for admins and coaches; True if changed."""
    organization = admin.organization
    if bool(organization.require_two_factor) == bool(required):
        return False
    organization.require_two_factor = bool(required)
    audit.record(
        organization_id=organization.id,
        actor_id=admin.id,
        action="org.two_factor_required_changed",
        obj=organization,
        details={"required": bool(required)},
    )
    return True


def enabled_among(user_ids) -> set[int]:
    """The ids, among `user_ids`, of people whose second factor is on."""
    return set(
        db.session.scalars(
            select(TwoFactor.user_id).where(
                TwoFactor.user_id.in_(list(user_ids)), TwoFactor.enabled_at.is_not(None)
            )
        )
    )


def reset_by_admin(admin: User, person: User, admin_password: str) -> None:
    """An admin turns off someone's lost second factor (their own password required)."""
    if person.id == admin.id:
        raise ServiceError("Turn your own off from your two-step sign-in page.")
    if person.organization_id != admin.organization_id:
        raise ServiceError("That person is not in your organisation.")
    if not admin.check_password(admin_password or ""):
        raise ServiceError("Your password is not right.", "password")
    if not is_enabled(person):
        raise ServiceError(f"{person.name} has no second factor to reset.")
    remove_everything(person)
    user_sessions.revoke(person, actor=admin, reason="second factor reset by an admin")
    audit_event(person, "two_factor.disabled", {"by_admin": True}, actor=admin)
