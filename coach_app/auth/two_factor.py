"""The sign-in challenge for the second factor, and the hooks the login view calls.

After a correct password the person is NOT signed in yet: only their id, an expiry and a
count of tries wait in the session until a code passes; then `sign_in` starts the session.
"""

import time

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from coach_app.auth import bp, limits
from coach_app.auth.sessions import sign_in
from coach_app.auth.two_factor_forms import ChallengeForm
from coach_app.extensions import db
from coach_app.forms import apply_service_error
from coach_app.models import User
from coach_app.services import trusted_devices, two_factor_policy
from coach_app.services import two_factor as service

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60
MAX_TRIES = 5
DEVICE_COOKIE = "ft_trusted_device"
# Endpoints a person who must still enrol may use: the auth pages (enrolment, sign-out,
# password) and what every page needs.
OPEN_ENDPOINTS = {"static", "main.healthz", "main.readyz"}


# --- the remembered-device cookie ---------------------------------------------------------


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="trusted-device")


def _device_token(user: User) -> str | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    max_age = trusted_devices.TRUST_DAYS * 86400
    try:
        user_id, token = _device_serializer().loads(raw, max_age=max_age)
    except (BadSignature, TypeError, ValueError):
        return None
    return token if user_id == user.id and isinstance(token, str) else None


def _device_cookie_path() -> str:
    # Only the sign-in pages need the cookie, so no other request carries it.
    return url_for("auth.login").rsplit("/", 1)[0] + "/"


def forget_device_cookie(response) -> None:
    """Drop this browser's remembered-device cookie (its server record is deleted apart)."""
    response.delete_cookie(DEVICE_COOKIE, path=_device_cookie_path())


def _set_device_cookie(response, user: User, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps([user.id, token]),
        max_age=trusted_devices.TRUST_DAYS * 86400,
        path=_device_cookie_path(),
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )


# --- hooks for the login view -------------------------------------------------------------


def challenge_needed(user: User) -> bool:
    """True when `user` must pass the second factor before being signed in."""
    if not service.is_enabled(user):
        return False
    if trusted_devices.recognise(user, _device_token(user)):
        db.session.commit()  # keeps the device's "last used" for the two-step page
        return False
    return True


def start_challenge(user: User, next_url: str | None = None, remember: bool = False):
    """Hold `user` as pending (not signed in) and send the browser to the challenge."""
    session[PENDING_KEY] = {
        "user_id": user.id,
        "expires": int(time.time()) + PENDING_SECONDS,
        "tries": 0,
        "next": next_url,
        "remember": bool(remember),
    }
    return redirect(url_for("auth.two_factor_challenge"))


def _pending_user() -> tuple[dict | None, User | None]:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("expires", 0) < time.time():
        session.pop(PENDING_KEY, None)
        return None, None
    user = db.session.get(User, pending.get("user_id"))
    if user is None or not user.is_active:
        session.pop(PENDING_KEY, None)
        return None, None
    return pending, user


def _start_over(message: str):
    session.pop(PENDING_KEY, None)
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.route("/two-factor/challenge", methods=["GET", "POST"])
@limits.second_factor_per_address
def two_factor_challenge():
    """Second step of signing in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending, user = _pending_user()
    if user is None:
        return _start_over("Your sign-in timed out. Enter your email and password again.")
    form = ChallengeForm()
    status = 200
    if form.validate_on_submit():
        if service.too_many_failures(user):
            form.form_errors.append(
                "Too many wrong codes for this account. Wait a quarter of an hour, then try again."
            )
            return render_template("auth/two_factor_challenge.html", form=form), 429
        try:
            method = service.check_code(user, form.code.data)
        except service.SecondFactorRefused as refused:
            db.session.rollback()
            service.record_failure(user, refused.reason)
            db.session.commit()
            pending["tries"] += 1
            session[PENDING_KEY] = pending
            if pending["tries"] >= MAX_TRIES:
                return _start_over("Too many wrong codes. Sign in again to get more tries.")
            apply_service_error(form, refused)
            status = 401
        else:
            return _pass(user, pending, method, form.trust_device.data)
    elif request.method == "POST":
        status = 400
    return render_template("auth/two_factor_challenge.html", form=form), status


def _pass(user: User, pending: dict, method: str, trust: bool):
    token = None
    if trust:
        token = trusted_devices.trust(user, trusted_devices.describe(request.user_agent.string))
    db.session.commit()
    session.pop(PENDING_KEY, None)
    sign_in(user, remember=pending.get("remember", False), method=f"password+{method}")
    if method == "recovery":
        left = service.remaining_recovery_codes(user)
        flash(
            f"You used a recovery code; {left} left. Make new ones from the two-step page "
            "if you are running low.",
            "warning",
        )
    response = make_response(redirect(pending.get("next") or url_for("main.index")))
    if token is not None:
        _set_device_cookie(response, user, token)
    return response


# --- an organisation that requires a second factor ----------------------------------------


@bp.before_app_request
def require_enrolment():
    """Staff whose organisation requires a second factor may only enrol until they have one."""
    if not current_user.is_authenticated:
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith("auth."):
        return None
    if not two_factor_policy.enrolment_required(current_user):
        return None
    if request.method in ("GET", "HEAD"):
        flash(
            "Your organisation requires two-step sign-in. Set it up to continue.",
            "warning",
        )
        return redirect(url_for("auth.two_factor"))
    abort(403)
