"""Server-side sessions: the rules for starting, checking, listing and ending them.

The browser side (cookies, Flask-Login, the fresh-login decorator) is coach_app/auth/sessions.py.
"""

from datetime import UTC, datetime, timedelta
from functools import cache

from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import bindparam, event, inspect, or_, select, update

from coach_app.extensions import db
from coach_app.models import User, UserSession, audit
from coach_app.services.tokens import token_hash

# Activity is written at most this often: a page view must not cost a write.
TOUCH_EVERY = timedelta(minutes=1)


def start(
    user: User,
    token: str,
    *,
    method: str,
    remember: bool,
    ip: str | None,
    user_agent: str | None,
) -> UserSession:
    """Add the row for a new signed-in session (caller commits)."""
    cfg = current_app.config
    now = datetime.now(UTC)
    lifetime = (
        timedelta(days=cfg["REMEMBER_DAYS"])
        if remember
        else timedelta(hours=cfg["SESSION_MAX_HOURS"])
    )
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        method=method[:16],
        remember=remember,
        created_at=now,
        last_seen_at=now,
        reauthenticated_at=now,
        expires_at=now + lifetime,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def live(now: datetime | None = None):
    """Where-clause: sessions not revoked, not past their lifetime and not idle too long."""
    now = now or datetime.now(UTC)
    return _live(now, _idle_since(now))


def _live(now, idle_since):
    return (
        UserSession.revoked_at.is_(None)
        & (UserSession.expires_at > now)
        & or_(UserSession.remember, UserSession.last_seen_at > idle_since)
    )


def _idle_since(now: datetime) -> datetime:
    return now - timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


@cache
def _load_statement():
    # Built once per process: every signed-in request runs it, and building it cost more
    # Python time than running it. The clock and the token are bind parameters.
    moment = bindparam("now", type_=UserSession.expires_at.type)
    idle_since = bindparam("idle_since", type_=UserSession.last_seen_at.type)
    return (
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == bindparam("token_hash"), _live(moment, idle_since))
    )


def load(token: str) -> tuple[User, UserSession] | None:
    """The user and the live session a cookie's token names, in one query; None otherwise.

    Checked on every request: revoked, expired (absolute limit) and idle sessions load nothing.
    """
    if not token or len(token) > 200:
        return None
    now = datetime.now(UTC)
    params = {"token_hash": token_hash(token), "now": now, "idle_since": _idle_since(now)}
    row = db.session.execute(_load_statement(), params).first()
    return (row[0], row[1]) if row is not None else None


def touch(session_row: UserSession, now: datetime | None = None) -> bool:
    """Move last_seen_at forward when a minute has passed; True when it did (caller commits)."""
    now = now or datetime.now(UTC)
    if now - session_row.last_seen_at < TOUCH_EVERY:
        return False
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_row.id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


def revoke(
    user: User,
    *,
    keep_id: int | None = None,
    only_id: int | None = None,
    actor: User | None = None,
    reason: str,
) -> int:
    """End the user's sessions (all, all but `keep_id`, or only `only_id`); caller commits."""
    statement = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep_id is not None:
        statement = statement.where(UserSession.id != keep_id)
    if only_id is not None:
        statement = statement.where(UserSession.id == only_id)
    count = db.session.execute(
        statement.values(revoked_at=datetime.now(UTC)).execution_options(synchronize_session=False)
    ).rowcount
    if count:
        audit.record(
            organization_id=user.organization_id,
            actor_id=actor.id if actor is not None else None,
            action="auth.sessions_revoked",
            obj=user,
            details={"count": count, "reason": reason},
        )
    return count


def _revoke_on_deactivation(session, _flush_context, _instances) -> None:
    # Every path that turns an account off (archiving a client, an admin deactivating staff)
    # ends its sessions here, so reactivating it later does not bring old cookies back.
    for obj in list(session.dirty):
        if not isinstance(obj, User):
            continue
        history = inspect(obj).attrs.active.history
        if history.added and history.added[0] is False:
            revoke(obj, reason="account deactivated")


def install() -> None:
    """Listen to the portal's sessions (idempotent: safe for every app the process builds)."""
    if not event.contains(FlaskSession, "before_flush", _revoke_on_deactivation):
        event.listen(FlaskSession, "before_flush", _revoke_on_deactivation)
