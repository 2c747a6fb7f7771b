"""Accounts: creating users, invitations, time zones, password strength."""

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from coach_app.extensions import db
from coach_app.models import ClientProfile, Invitation, Role, User, audit
from coach_app.services import ServiceError
from coach_app.services.outbox import queue_email
from coach_app.services.tokens import new_token, token_hash

# timezone_choices is re-exported: forms and tests read the choices from here.
from coach_app.services.zones import known_zones, timezone_choices  # noqa: F401
from coach_app.urls import absolute_url

# ASVS 2.1.1: at least 12 characters; no composition rules, no forced rotation.
EMAIL_REFUSED = (
    "This address can't be used for a new account. If the person already uses Followthrough, "
    "ask them which address to invite, or use another one."
)
MIN_PASSWORD_LENGTH = 12


def normalize_email(email: str) -> str:
    """Lower-case and strip an address so one person cannot hold two accounts."""
    return (email or "").strip().lower()


def check_timezone(tz_name: str | None, field: str = "timezone") -> str | None:
    """Return the IANA name unchanged, None when blank, or raise ServiceError when unknown.

    Every name zoneinfo knows is accepted, older aliases included: people who chose one
    before the forms offered only current names keep it (services/zones.py).
    """
    if not tz_name:
        return None
    if tz_name not in known_zones():
        raise ServiceError(f"Unknown time zone: {tz_name}", field)
    return tz_name


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse passwords that are too short to resist guessing."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field)


def _ensure_email_free(email: str) -> None:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        # The same words whichever organisation holds it: a refusal must not say where.
        raise ServiceError(EMAIL_REFUSED, "email")


def create_user(
    *,
    organization_id: int,
    role: str,
    email: str,
    name: str,
    password: str | None = None,
    timezone: str | None = None,
    actor: User | None = None,
) -> User:
    """Add a user to the session (caller commits); refuses duplicates and unknown zones."""
    email = normalize_email(email)
    if role not in {r.value for r in Role}:
        raise ServiceError(f"Unknown role: {role}", "role")
    if not name or not name.strip():
        raise ServiceError("Enter a name.", "name")
    _ensure_email_free(email)
    user = User(
        organization_id=organization_id,
        role=role,
        email=email,
        name=name.strip(),
        timezone=check_timezone(timezone),
    )
    if password is not None:
        check_password_strength(password)
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        organization_id=organization_id,
        actor_id=actor.id if actor else None,
        action="user.created",
        obj=user,
        details={"role": role},
    )
    return user


_ROLE_INVITES = {
    Role.CLIENT: "to keep track of the follow-up after each of your interviews, with your coach",
    Role.COACH: "as a coach: you will see how each of your clients follows up after their "
    "interviews, and who needs a nudge",
    Role.ORGANIZER: "as a workshop organiser: you will see how your cohorts follow up after "
    "their interviews, as group figures",
    Role.ADMIN: "as an administrator: you will manage the people, reminders and figures of",
}


def invitation_text(user: User, inviter: str, *, workshop: str | None = None) -> tuple[str, str]:
    """Subject and opening of an invitation: who invites the person to what, in their role."""
    org = user.organization.name
    if workshop:
        return (
            f"{inviter} invited you to the workshop “{workshop}” on Followthrough",
            f"{inviter} invited you to the workshop “{workshop}” at {org}. On Followthrough you "
            "keep track of the follow-up after each of your interviews, with your coach.",
        )
    purpose = _ROLE_INVITES.get(Role(user.role), _ROLE_INVITES[Role.CLIENT])
    where = f" {org}." if user.role == Role.ADMIN else f" at {org}."
    return (
        f"{inviter} invited you to Followthrough",
        f"{inviter} invited you to Followthrough {purpose}{where}",
    )


def issue_invitation(user: User, invited_by: User | None, *, workshop: str | None = None) -> str:
    """Create a single-use invitation for `user`, queue its email, and return the raw token."""
    token = new_token()
    ttl = timedelta(hours=current_app.config["INVITATION_TTL_HOURS"])
    # A fresh invitation replaces any earlier link for the same person.
    for earlier in db.session.scalars(
        select(Invitation).where(Invitation.user_id == user.id, Invitation.accepted_at.is_(None))
    ):
        earlier.revoked_at = datetime.now(UTC)
    invitation = Invitation(
        organization_id=user.organization_id,
        user_id=user.id,
        invited_by_id=invited_by.id if invited_by else None,
        token_hash=token_hash(token),
        expires_at=datetime.now(UTC) + ttl,
    )
    db.session.add(invitation)
    db.session.flush()
    link = invitation_link(token)
    inviter = invited_by.name if invited_by else user.organization.name
    subject, opening = invitation_text(user, inviter, workshop=workshop)
    days = max(1, round(ttl / timedelta(days=1)))
    queue_email(
        dedupe_key=f"invitation:{invitation.id}",
        organization_id=user.organization_id,
        recipient=user,
        kind="invitation",
        subject=subject,
        body_text=(
            f"Hello {user.name},\n\n{opening}\n\nSet your password here (the link works once "
            f"and expires in {days} {'day' if days == 1 else 'days'}):\n{link}\n"
        ),
        link=link,
    )
    return token


def revoke_open_invitations(user_id: int, now: datetime | None = None) -> int:
    """Revoke the person's invitation links not yet used (their account was switched off)."""
    return db.session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now or datetime.now(UTC))
        .execution_options(synchronize_session=False)
    ).rowcount


def invitation_link(token: str) -> str:
    """Absolute URL of the accept-invitation page for a raw token."""
    return absolute_url("auth.accept_invitation", token=token)


def invite_client(
    *,
    coach: User,
    email: str,
    name: str,
    timezone: str | None = None,
    invited_by: User | None = None,
    workshop: str | None = None,
) -> tuple[ClientProfile, str]:
    """Create a client account (no password yet) under `coach` and invite them by email.

    `invited_by` defaults to the coach; an organiser inviting into `workshop` names both.
    """
    user = create_user(
        organization_id=coach.organization_id,
        role=Role.CLIENT,
        email=email,
        name=name,
        timezone=timezone,
        actor=coach,
    )
    profile = ClientProfile(
        user_id=user.id, organization_id=coach.organization_id, coach_id=coach.id
    )
    db.session.add(profile)
    db.session.flush()
    token = issue_invitation(user, invited_by or coach, workshop=workshop)
    return profile, token


def invite_staff(
    *, admin: User, role: str, email: str, name: str, timezone: str | None = None
) -> tuple[User, str]:
    """Create a coach, organizer or admin account and invite them by email."""
    if role == Role.CLIENT:
        raise ServiceError("Clients are invited by their coach.", "role")
    user = create_user(
        organization_id=admin.organization_id,
        role=role,
        email=email,
        name=name,
        timezone=timezone,
        actor=admin,
    )
    return user, issue_invitation(user, admin)


def find_invitation(token: str) -> Invitation:
    """Return the live invitation for a raw token, or raise ServiceError explaining why not."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash(token or ""))
    )
    if invitation is None or invitation.revoked_at is not None:
        raise ServiceError("This invitation link is not valid. Ask for a new one.")
    if invitation.accepted_at is not None:
        raise ServiceError("This invitation link has already been used. Sign in instead.")
    if invitation.expires_at <= datetime.now(UTC):
        raise ServiceError("This invitation link has expired. Ask for a new one.")
    return invitation


def accept_invitation(token: str, password: str, timezone: str | None = None) -> User:
    """Set the invited user's password and use up the invitation (caller commits)."""
    invitation = find_invitation(token)
    check_password_strength(password)
    user = invitation.user
    if timezone:
        user.timezone = check_timezone(timezone)
    user.set_password(password)
    user.active = True
    invitation.accepted_at = datetime.now(UTC)
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="invitation.accepted",
        obj=invitation,
    )
    return user
