"""Account recovery: single-use, expiring password-reset links sent through the outbox."""

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from coach_app.extensions import db
from coach_app.models import PasswordReset, User, audit
from coach_app.services import ServiceError, user_sessions
from coach_app.services.accounts import check_password_strength, normalize_email
from coach_app.services.credentials import forget_failures, notify_password_changed
from coach_app.services.outbox import queue_email
from coach_app.services.tokens import new_token, token_hash
from coach_app.urls import absolute_url


def send_password_reset(user: User, *, requested_by: User | None = None) -> str:
    """Create a reset link for `user`, queue its email, and return the raw token (caller commits).

    Earlier links stay valid until they expire or one is used: a stranger asking again and
    again cannot spoil the link the owner is about to click.
    """
    if user.password_hash is None:
        raise ServiceError(f"{user.name} has not accepted their invitation yet: resend it instead.")
    if not user.active:
        raise ServiceError(f"{user.name}'s account is deactivated.")
    token = new_token()
    ttl = timedelta(minutes=current_app.config["PASSWORD_RESET_TTL_MINUTES"])
    reset = PasswordReset(
        organization_id=user.organization_id,
        user_id=user.id,
        requested_by_id=requested_by.id if requested_by else None,
        token_hash=token_hash(token),
        expires_at=datetime.now(UTC) + ttl,
    )
    db.session.add(reset)
    db.session.flush()
    link = absolute_url("auth.reset_password", token=token)
    minutes = int(ttl.total_seconds() // 60)
    who = f"{requested_by.name} (an administrator)" if requested_by else "Someone, probably you,"
    queue_email(
        dedupe_key=f"password_reset:{reset.id}",
        organization_id=user.organization_id,
        recipient=user,
        kind="password_reset",
        subject="Reset your Followthrough password",
        body_text=(
            f"Hello {user.name},\n\n{who} asked for a new password for your Followthrough "
            f"account.\n\nChoose a new password here (the link works once and expires in "
            f"{minutes} minutes):\n{link}\n\nIf you did not ask for this, ignore this email: "
            "your password stays as it is.\n"
        ),
        link=link,
    )
    audit.record(
        organization_id=user.organization_id,
        actor_id=requested_by.id if requested_by else None,
        action="auth.password_reset_requested",
        obj=user,
        details={"by_admin": requested_by is not None},
    )
    return token


def request_password_reset(email: str) -> None:
    """Send a reset link when the address belongs to an account that can use one; else nothing.

    The caller answers the same way in both cases, so the form does not tell who has an account.
    """
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        return
    try:
        send_password_reset(user)
    except ServiceError:
        return  # invited but not yet accepted, or deactivated: nothing to reset


def find_password_reset(token: str) -> PasswordReset:
    """Return the live reset for a raw token, or raise ServiceError explaining why not."""
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == token_hash(token or ""))
    )
    if reset is None or reset.revoked_at is not None or not reset.user.active:
        raise ServiceError("This password reset link is not valid. Ask for a new one.")
    if reset.used_at is not None:
        raise ServiceError("This password reset link has already been used. Ask for a new one.")
    if reset.expires_at <= datetime.now(UTC):
        raise ServiceError("This password reset link has expired. Ask for a new one.")
    return reset


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link, spend the link, end every session (caller commits)."""
    reset = find_password_reset(token)
    check_password_strength(new_password)
    user = reset.user
    now = datetime.now(UTC)
    user.set_password(new_password)
    reset.used_at = now
    # One link used: the others the person may have asked for are spent too.
    db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.id != reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    forget_failures(user.email)
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="auth.password_reset",
        obj=user,
    )
    notify_password_changed(user)
    user_sessions.revoke(user, actor=user, reason="password reset")
    return user
