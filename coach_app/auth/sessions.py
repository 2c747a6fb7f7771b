"""Signed-in sessions in the browser: starting them, checking them, ending them.

`sign_in` is the one way to start a session. The cookie Flask-Login keeps holds a random token
naming a `user_sessions` row (not the user id), so ending the row ends the session on the next
request, wherever its cookie is. The rules live in coach_app/services/user_sessions.py.
"""

from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import after_this_request, current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from coach_app.extensions import db, login_manager
from coach_app.models import User, audit
from coach_app.services import user_sessions
from coach_app.services.tokens import new_token, token_hash

KNOWN_DEVICE_COOKIE = "ft_known_device"
# Accounts a device remembers having signed in to (a shared family computer, say).
KNOWN_DEVICE_LIMIT = 5


def sign_in(user: User, *, remember: bool = False, method: str = "password") -> None:
    """Start a signed-in session for `user`: its row, Flask-Login's cookie, the audit; commits.

    The browser is remembered as a known device for the account, so a stranger's failed
    attempts do not slow its owner down here.
    """
    if not user.is_active:
        raise ValueError("inactive accounts cannot sign in")
    token = new_token()
    row = user_sessions.start(
        user,
        token,
        method=method,
        remember=remember,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    user.last_login_at = datetime.now(UTC)
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="auth.sign_in",
        obj=user,
        details={"method": method, "ip": request.remote_addr},
    )
    db.session.commit()
    # Nothing from before the sign-in carries over into the signed-in session.
    session.clear()
    user.session_token = token
    user.auth_session = row
    login_user(user, remember=remember, fresh=True)
    remember_device(user.id)


def sign_out() -> None:
    """End this browser's session: its row is revoked and audited, the cookie cleared; commits."""
    user = current_user._get_current_object()
    row = current_session()
    if row is not None:
        row.revoked_at = datetime.now(UTC)
        audit.record(
            organization_id=user.organization_id,
            actor_id=user.id,
            action="auth.sign_out",
            obj=user,
            details={"session": row.id},
        )
        db.session.commit()
    logout_user()
    session.clear()


def rotate_session() -> None:
    """Give this browser's session a new token (commits): saved copies of the old cookie die.

    Called after a password change, so a cookie copied before it stops working even though
    the person stays signed in here.
    """
    row = current_session()
    if row is None:
        return
    token = new_token()
    row.token_hash = token_hash(token)
    remember = row.remember
    db.session.commit()
    user = current_user._get_current_object()
    user.session_token = token
    user.auth_session = row
    login_user(user, remember=remember, fresh=True)


def load_user(token: str) -> User | None:
    """Flask-Login's user loader: the active user whose live session the cookie names."""
    found = user_sessions.load(token)
    if found is None:
        return None
    user, row = found
    # Inactive accounts (archived, deactivated, not yet accepted) are refused on every request.
    if not user.is_active:
        return None
    user.session_token = token
    user.auth_session = row
    return user


def current_session():
    """The `user_sessions` row of this request's signed-in session, or None."""
    return getattr(current_user, "auth_session", None)


def end_all_sessions(user: User, *, except_current: bool = False) -> int:
    """End `user`'s sessions (all but this browser's with `except_current`); caller commits.

    Returns how many ended. Ending the current one takes effect on the next request.
    """
    keep = None
    if except_current and getattr(current_user, "id", None) == user.id:
        row = current_session()
        keep = row.id if row is not None else None
    actor = current_user if getattr(current_user, "is_authenticated", False) else None
    reason = "signed out everywhere else" if except_current else "signed out everywhere"
    return user_sessions.revoke(user, keep_id=keep, actor=actor, reason=reason)


def is_fresh(max_age_minutes: int | None = None) -> bool:
    """True when the password was entered in this session within FRESH_LOGIN_MINUTES."""
    row = current_session()
    if row is None:
        return False
    minutes = max_age_minutes or current_app.config["FRESH_LOGIN_MINUTES"]
    return datetime.now(UTC) - row.reauthenticated_at < timedelta(minutes=minutes)


def mark_fresh() -> None:
    """Record that the password (or another factor) was just entered again (caller commits)."""
    row = current_session()
    if row is not None:
        row.reauthenticated_at = datetime.now(UTC)


def fresh_login_required(view):
    """Decorator: sign-in required, and a password entered in the last FRESH_LOGIN_MINUTES.

    Otherwise the person confirms their password and comes back to the same page.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not is_fresh():
            target = request.full_path.rstrip("?") if request.method == "GET" else request.path
            return redirect(url_for("auth.confirm_password", next=target))
        return view(*args, **kwargs)

    return wrapped


def check_each_request() -> None:
    """before_request: load the signed-in user first, and note activity once a minute.

    Loading here, before any view has changed anything, makes the activity commit safe.
    """
    if request.endpoint == "static":
        return
    user = current_user._get_current_object()
    if getattr(user, "is_authenticated", False) and user_sessions.touch(user.auth_session):
        db.session.commit()


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def known_device_user_ids() -> frozenset[int]:
    """Accounts this browser signed in to before (from its signed, long-lived cookie)."""
    raw = request.cookies.get(KNOWN_DEVICE_COOKIE)
    if not raw:
        return frozenset()
    max_age = current_app.config["KNOWN_DEVICE_DAYS"] * 86400
    try:
        ids = _device_serializer().loads(raw, max_age=max_age)
    except BadSignature:
        return frozenset()
    if not isinstance(ids, list):
        return frozenset()
    return frozenset(i for i in ids if isinstance(i, int))


def remember_device(user_id: int) -> None:
    """Mark this browser as known for the account, in the response of this request."""
    previous = [i for i in known_device_user_ids() if i != user_id]
    ids = [user_id, *previous][:KNOWN_DEVICE_LIMIT]
    cfg = current_app.config

    @after_this_request
    def set_cookie(response):
        response.set_cookie(
            KNOWN_DEVICE_COOKIE,
            _device_serializer().dumps(ids),
            max_age=cfg["KNOWN_DEVICE_DAYS"] * 86400,
            httponly=True,
            secure=cfg.get("SESSION_COOKIE_SECURE", False),
            samesite="Lax",
            path=url_for("auth.login").rsplit("/", 1)[0] + "/",
        )
        return response
