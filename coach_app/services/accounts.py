"""Accounts: creating users, invitations, sign-in throttling, passwords."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import available_timezones

from flask import current_app
from sqlalchemy import delete, func, select, update

from coach_app.extensions import db
from coach_app.models import ClientProfile, Invitation, LoginAttempt, Role, User, audit
from coach_app.services import ServiceError
from coach_app.services.outbox import queue_email
from coach_app.urls import absolute_url

MIN_PASSWORD_LENGTH = 10


def normalize_email(email: str) -> str:
    """Lower-case and strip an address so one person cannot hold two accounts."""
    return (email or "").strip().lower()


def check_timezone(tz_name: str | None, field: str = "timezone") -> str | None:
    """Return the IANA name unchanged, None when blank, or raise ServiceError when unknown."""
    if not tz_name:
        return None
    if tz_name not in _known_zones():
        raise ServiceError(f"Unknown time zone: {tz_name}", field)
    return tz_name


_ZONES: frozenset[str] | None = None


def _known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def timezone_choices() -> list[str]:
    """Sorted IANA zone names for select boxes."""
    return sorted(z for z in _known_zones() if "/" in z or z == "UTC")


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse passwords that are too short to resist guessing."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field)


def _ensure_email_free(email: str) -> None:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ServiceError("An account with this email already exists.", "email")


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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_invitation(user: User, invited_by: User | None) -> str:
    """Create a single-use invitation for `user`, queue its email, and return the raw token."""
    token = secrets.token_urlsafe(32)
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
        token_hash=_token_hash(token),
        expires_at=datetime.now(UTC) + ttl,
    )
    db.session.add(invitation)
    db.session.flush()
    link = invitation_link(token)
    inviter = invited_by.name if invited_by else user.organization.name
    queue_email(
        dedupe_key=f"invitation:{invitation.id}",
        organization_id=user.organization_id,
        recipient=user,
        kind="invitation",
        subject=f"{inviter} invited you to Followthrough",
        body_text=(
            f"Hello {user.name},\n\n{inviter} invited you to Followthrough, where you keep track "
            f"of the follow-up after each interview.\n\nSet your password here (the link works "
            f"once and expires in {ttl.days or 1} days):\n{link}\n"
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
    *, coach: User, email: str, name: str, timezone: str | None = None
) -> tuple[ClientProfile, str]:
    """Create a client account (no password yet) under `coach` and invite them by email."""
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
    token = issue_invitation(user, coach)
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
        select(Invitation).where(Invitation.token_hash == _token_hash(token or ""))
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


def login_locked_for(email: str) -> timedelta | None:
    """How long sign-in stays refused for this address after repeated failures, if at all."""
    cfg = current_app.config
    window = timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    since = datetime.now(UTC) - window
    failures, latest = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == normalize_email(email), LoginAttempt.created_at > since
        )
    ).one()
    if failures < cfg["LOGIN_MAX_FAILURES"] or latest is None:
        return None
    if latest.tzinfo is None:  # func.max bypasses the column type on SQLite
        latest = datetime.fromisoformat(str(latest)).replace(tzinfo=UTC)
    return latest + window - datetime.now(UTC)


def authenticate(email: str, password: str, remote_addr: str | None) -> User | None:
    """Return the user for valid credentials; record the failure otherwise (caller commits)."""
    email = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and user.is_active and user.check_password(password):
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
        user.last_login_at = datetime.now(UTC)
        return user
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr))
    return None


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Replace the password after checking the current one."""
    if not user.check_password(current_password):
        raise ServiceError("Your current password is not right.", "current_password")
    check_password_strength(new_password, "new_password")
    user.set_password(new_password)
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="password.changed",
        obj=user,
    )
