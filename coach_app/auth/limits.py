"""Rate limits on the routes where passwords and tokens are tried (Flask-Limiter, on Redis).

Every limit string comes from config.py, so an operator can tighten or loosen one without a
release. A breached limit answers 429 with the message below and a Retry-After header.
"""

import hashlib

from flask import current_app, request
from flask_login import current_user

from coach_app.extensions import limiter
from coach_app.services.accounts import normalize_email

TOO_MANY_FROM_HERE = (
    "Too many attempts from your network. Wait a few minutes, then try again. "
    "If you forgot your password, use “Forgot password?” on the sign-in page."
)
TOO_MANY_FOR_ACCOUNT = "Too many attempts for this account. Wait a few minutes, then try again."


def _setting(name: str):
    return lambda: current_app.config[name]


def _digest(value: str) -> str:
    # Keys in Redis carry no email address or token in clear.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def client_address() -> str:
    """The client's address (behind TRUSTED_PROXY_COUNT proxies, from X-Forwarded-For)."""
    return request.remote_addr or "unknown"


def form_email() -> str:
    """The email address typed in the form, normalised."""
    return "email:" + _digest(normalize_email(request.form.get("email", "")))


def signed_in_user() -> str:
    """The signed-in account (anonymous requests share one bucket; the views refuse them)."""
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return "anonymous"


def link_token() -> str:
    """The token in the URL of an invitation or reset link."""
    return "token:" + _digest(str((request.view_args or {}).get("token", "")))


def _failed_sign_in(response) -> bool:
    return response.status_code == 401


def _refused(response) -> bool:
    # The form came back with an error: a wrong password (or a mistyped new one).
    return response.status_code in (400, 401)


# Failed sign-ins per address: one password tried on many accounts meets this.
sign_in_per_address = limiter.limit(
    _setting("LOGIN_IP_LIMIT"),
    key_func=client_address,
    methods=["POST"],
    deduct_when=_failed_sign_in,
    error_message=TOO_MANY_FROM_HERE,
)

# Wrong current passwords, on the change-password and confirm-password pages together.
password_check_per_account = limiter.shared_limit(
    _setting("PASSWORD_CHECK_LIMIT"),
    scope="password-check-account",
    key_func=signed_in_user,
    methods=["POST"],
    deduct_when=_refused,
    error_message=TOO_MANY_FOR_ACCOUNT,
)
password_check_per_address = limiter.shared_limit(
    _setting("PASSWORD_CHECK_LIMIT"),
    scope="password-check-address",
    key_func=client_address,
    methods=["POST"],
    deduct_when=_refused,
    error_message=TOO_MANY_FROM_HERE,
)

# Reset requests: per address, and per email address so nobody's inbox can be flooded.
reset_request_per_address = limiter.limit(
    _setting("RESET_REQUEST_LIMIT"),
    key_func=client_address,
    methods=["POST"],
    error_message=TOO_MANY_FROM_HERE,
)
reset_request_per_email = limiter.limit(
    _setting("RESET_EMAIL_LIMIT"),
    key_func=form_email,
    methods=["POST"],
    error_message="Too many reset requests for this address. Check your inbox for the last one.",
)

# Invitation and reset links: tries per address, and password submissions per link.
token_link_per_address = limiter.shared_limit(
    _setting("TOKEN_LINK_LIMIT"),
    scope="token-links",
    key_func=client_address,
    error_message=TOO_MANY_FROM_HERE,
)
token_link_per_token = limiter.limit(
    _setting("TOKEN_LINK_LIMIT"),
    key_func=link_token,
    methods=["POST"],
    error_message=TOO_MANY_FOR_ACCOUNT,
)

# Wrong second-factor codes per address: the challenge, and the pages that take a code.
second_factor_per_address = limiter.shared_limit(
    _setting("LOGIN_IP_LIMIT"),
    scope="second-factor-address",
    key_func=client_address,
    methods=["POST"],
    deduct_when=_refused,
    error_message=TOO_MANY_FROM_HERE,
)

# Exports read a whole scope each: a script cannot hammer the database with them.
exports_per_account = limiter.shared_limit(
    _setting("EXPORT_LIMIT"),
    scope="exports-account",
    key_func=signed_in_user,
    error_message="Too many downloads in a short time. Wait a minute, then try again.",
)

# Invitations each send an email: an account cannot be used to spam addresses.
invites_per_account = limiter.shared_limit(
    _setting("INVITE_LIMIT"),
    scope="invites-account",
    key_func=signed_in_user,
    methods=["POST"],
    error_message="Too many invitations in a short time. Wait a few minutes, then try again.",
)
