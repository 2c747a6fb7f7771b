"""Credentials: checking passwords at sign-in under a per-account backoff, changing them."""

import secrets
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from coach_app.extensions import db
from coach_app.models import LoginAttempt, User, audit
from coach_app.services import ServiceError, user_sessions
from coach_app.services.accounts import check_password_strength, normalize_email
from coach_app.services.outbox import queue_email
from coach_app.urls import absolute_url

# Failed sign-ins older than this no longer count towards an account's backoff.
FAILURE_MEMORY = timedelta(hours=24)


class SignInResult(NamedTuple):
    """What a sign-in attempt gave: the user, or how long the account asks to wait."""

    user: User | None
    wait: timedelta | None = None


def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _DUMMY_HASHES[method]


_DUMMY_HASHES: dict[str, str] = {}


def verify_password(user: User | None, password: str) -> bool:
    """True when `password` is the user's; without a user or password, hash a dummy anyway.

    Checking a hash of the same method either way keeps the answer's timing from telling
    whether an address has an account.
    """
    stored = user.password_hash if user is not None else None
    if stored is None:
        check_password_hash(_dummy_hash(), password or "")
        return False
    return check_password_hash(stored, password or "")


def login_wait(email: str, now: datetime | None = None) -> timedelta | None:
    """How long the next sign-in on this address must wait, if at all.

    The first LOGIN_MAX_FAILURES failures are free; after that each attempt waits twice as
    long as the one before (1 s, 2 s, 4 s, ...) up to LOGIN_LOCK_MINUTES. It is a delay, not a
    lock: the owner on a known device skips it, and a password reset clears it.
    """
    cfg = current_app.config
    now = now or datetime.now(UTC)
    failures, latest = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == normalize_email(email),
            LoginAttempt.created_at > now - FAILURE_MEMORY,
        )
    ).one()
    extra = failures - cfg["LOGIN_MAX_FAILURES"]
    if extra < 0 or latest is None:
        return None
    if latest.tzinfo is None:  # func.max bypasses the column type on SQLite
        latest = datetime.fromisoformat(str(latest)).replace(tzinfo=UTC)
    delay = min(
        timedelta(seconds=2 ** min(extra, 20)), timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    )
    wait = latest + delay - now
    return wait if wait > timedelta(0) else None


def forget_failures(email: str) -> None:
    """Drop an address's failed sign-ins (after a password reset, or a sign-in that waited)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == normalize_email(email)))


def authenticate(
    email: str,
    password: str,
    remote_addr: str | None,
    *,
    known_user_ids: Collection[int] = (),
) -> SignInResult:
    """Check credentials under the per-account backoff; failures are recorded (caller commits).

    `known_user_ids` are the accounts this device signed in to before: they skip the backoff,
    so a stranger's failures cannot keep the owner out.
    """
    email = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    known = user is not None and user.id in known_user_ids
    if not known:
        wait = login_wait(email)
        if wait is not None:
            return SignInResult(None, wait)
    # The hash is checked before `active`, so an inactive account answers as slowly as any.
    if verify_password(user, password) and user.is_active:
        if not known:
            forget_failures(email)
        user.last_login_at = datetime.now(UTC)
        return SignInResult(user)
    now = datetime.now(UTC)
    db.session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.email == email, LoginAttempt.created_at <= now - FAILURE_MEMORY
        )
    )
    db.session.add(LoginAttempt(email=email, remote_addr=(remote_addr or "")[:64] or None))
    if user is not None:
        audit.record(
            organization_id=user.organization_id,
            actor_id=None,
            action="auth.sign_in_failed",
            obj=user,
            details={
                "ip": remote_addr,
                "reason": "inactive" if user.password_hash and not user.active else "password",
            },
        )
    return SignInResult(None)


def change_password(
    user: User, current_password: str, new_password: str, *, keep_session_id: int | None = None
) -> int:
    """Replace the password after checking the current one; ends the other sessions.

    Returns how many other sessions were ended (`keep_session_id` is the one that stays).
    """
    if not verify_password(user, current_password):
        raise ServiceError("Your current password is not right.", "current_password")
    check_password_strength(new_password, "new_password")
    user.set_password(new_password)
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="password.changed",
        obj=user,
    )
    notify_password_changed(user)
    return user_sessions.revoke(
        user, keep_id=keep_session_id, actor=user, reason="password changed"
    )


def notify_password_changed(user: User) -> None:
    """Queue an email telling the person their password changed (caller commits).

    If it was not them, they learn of it at once and know what to do.
    """
    now = datetime.now(UTC)
    forgot = absolute_url("auth.forgot_password")
    queue_email(
        dedupe_key=f"password_changed:{user.id}:{now.timestamp():.6f}",
        organization_id=user.organization_id,
        recipient=user,
        kind="security_notice",
        subject="Your Followthrough password was changed",
        body_text=(
            f"Hello {user.name},\n\nThe password of your Followthrough account was changed on "
            f"{now:%d %b %Y at %H:%M} UTC, and your other sessions were signed out.\n\n"
            "If this was you, there is nothing to do. If it was not, choose a new password "
            f"now and tell your organisation's administrator:\n{forgot}\n"
        ),
        link=forgot,
    )
