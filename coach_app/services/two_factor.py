"""The second factor: TOTP enrolment and checks, single-use recovery codes (caller commits)."""

import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select, update

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    OutboxMessage,
    RecoveryCode,
    TrustedDevice,
    TwoFactor,
    User,
    audit,
)
from coach_app.services import ServiceError
from coach_app.services.outbox import queue_email
from coach_app.services.sealing import seal, unseal

ISSUER = "Followthrough"
STEP_SECONDS = 30
# One step either side of now: phones whose clocks drift by up to half a minute still work.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_CHARS = 16  # base32: 80 bits, salted and hashed (ASVS 2.6.2)
# Wrong codes per account, across every browser, before the challenge pauses for a while.
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)

WRONG_CODE = "That code is not right. Use the current code from your app, or a recovery code."


class SecondFactorRefused(ServiceError):
    """A code that does not pass; `reason` is "wrong" or "reused" (for the audit log)."""

    def __init__(self, reason: str, message: str = WRONG_CODE, field: str = "code"):
        super().__init__(message, field)
        self.reason = reason


# --- state --------------------------------------------------------------------------------


def _row(user: User) -> TwoFactor | None:
    return db.session.get(TwoFactor, user.id)


def is_enabled(user: User) -> bool:
    """True when the person has a confirmed second factor."""
    return (
        db.session.scalar(
            select(TwoFactor.user_id).where(
                TwoFactor.user_id == user.id, TwoFactor.enabled_at.is_not(None)
            )
        )
        is not None
    )


def remaining_recovery_codes(user: User) -> int:
    """How many recovery codes are still unused."""
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


# --- enrolment ----------------------------------------------------------------------------


def begin_enrolment(user: User) -> str:
    """Create (or replace) a pending secret and return it for the QR code and manual entry."""
    row = _row(user)
    if row is not None and row.enabled_at is not None:
        raise ServiceError("Two-step sign-in is already on.")
    secret = pyotp.random_base32(32)  # 160 bits, from `secrets`
    if row is None:
        db.session.add(TwoFactor(user_id=user.id, secret=seal(secret)))
    else:
        row.secret, row.created_at, row.last_used_step = seal(secret), datetime.now(UTC), None
    return secret


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment not confirmed yet, if there is one."""
    row = _row(user)
    return unseal(row.secret) if row is not None and row.enabled_at is None else None


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def cancel_enrolment(user: User) -> None:
    """Drop a pending (unconfirmed) secret."""
    db.session.execute(
        delete(TwoFactor).where(TwoFactor.user_id == user.id, TwoFactor.enabled_at.is_(None))
    )


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn the second factor on with a current code; return the new recovery codes."""
    row = _row(user)
    if row is None or row.enabled_at is not None:
        raise ServiceError("Start the set-up again: there is no code waiting to be confirmed.")
    step = _matching_step(unseal(row.secret), code)
    if step is None:
        raise ServiceError(
            "That code is not right. Check that your phone's clock is set automatically and "
            "enter the code your app shows now.",
            "code",
        )
    row.enabled_at = datetime.now(UTC)
    row.last_used_step = step
    codes = _replace_recovery_codes(user)
    audit_event(user, "two_factor.enabled")
    return codes


# --- checking a code ----------------------------------------------------------------------


# The clock codes are checked against (tests move it to make later codes current).
_clock = time.time


def _current_step(now: float | None = None) -> int:
    return int((_clock() if now is None else now) // STEP_SECONDS)


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    # Newest step first; each candidate compared in constant time.
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = _current_step(now)
    for step in range(current + VALID_WINDOW, current - VALID_WINDOW - 1, -1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_totp(user: User, row: TwoFactor, code: str) -> None:
    step = _matching_step(unseal(row.secret), code)
    if step is None:
        raise SecondFactorRefused("wrong")
    # One conditional UPDATE: two requests racing with the same code cannot both win.
    result = db.session.execute(
        update(TwoFactor)
        .where(
            TwoFactor.user_id == user.id,
            (TwoFactor.last_used_step.is_(None)) | (TwoFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise SecondFactorRefused(
            "reused",
            "That code has already been used. Wait for the next code in your app.",
        )


def _normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _hash_recovery_code(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _use_recovery_code(user: User, code: str) -> None:
    code = _normalise_recovery_code(code)
    if len(code) != RECOVERY_CODE_CHARS:
        raise SecondFactorRefused("wrong")
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    match = None
    for row in unused:  # every row compared, so the time taken does not say which one matched
        if hmac.compare_digest(_hash_recovery_code(row.salt, code), row.code_hash):
            match = row
    if match is None:
        raise SecondFactorRefused("wrong")
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise SecondFactorRefused("reused", "That recovery code has already been used.")
    audit_event(user, "two_factor.recovery_code_used", {"remaining": len(unused) - 1})


def check_code(user: User, code: str) -> str:
    """Accept a current TOTP code or an unused recovery code once; return "totp" or "recovery".

    Raises SecondFactorRefused otherwise (the caller rolls back, then calls record_failure).
    """
    row = _row(user)
    if row is None or row.enabled_at is None:
        raise SecondFactorRefused("not_enabled", "Two-step sign-in is not on for this account.")
    digits = re.sub(r"\s", "", code or "")
    if re.fullmatch(r"[0-9]{6}", digits):
        _use_totp(user, row, digits)
        return "totp"
    _use_recovery_code(user, code)
    return "recovery"


def record_failure(user: User, reason: str, where: str = "sign-in") -> None:
    """Audit a refused code (these rows also drive the per-account pause); caller commits."""
    audit_event(user, "two_factor.challenge_failed", {"reason": reason, "where": where})
    if reason == "reused":
        _warn_of_reuse(user)


def too_many_failures(user: User) -> bool:
    """True when this account has had too many wrong codes lately, from any browser."""
    since = datetime.now(UTC) - FAILURE_WINDOW
    failures = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.organization_id == user.organization_id,
            AuditEvent.created_at > since,
            AuditEvent.action == "two_factor.challenge_failed",
            AuditEvent.object_type == "User",
            AuditEvent.object_id == user.id,
        )
    )
    return failures >= MAX_FAILURES


def _warn_of_reuse(user: User) -> None:
    # ASVS 2.8.5: a replayed code means someone else may have seen it, so tell the holder,
    # at most once a quarter of an hour (the random suffix keeps racing requests apart).
    prefix = f"two-factor-reuse:{user.id}:"
    recent = db.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key.startswith(prefix, autoescape=True),
            OutboxMessage.due_at > datetime.now(UTC) - FAILURE_WINDOW,
        )
    )
    if recent is not None:
        return
    queue_email(
        dedupe_key=prefix + secrets.token_hex(8),
        organization_id=user.organization_id,
        recipient=user,
        kind="security",
        subject="A sign-in code of yours was used twice",
        body_text=(
            f"Hello {user.name},\n\nSomeone entered a sign-in code from your authenticator app "
            "that had already been used, and Followthrough refused it. If that was not you, "
            "change your password now: whoever tried knows it.\n"
        ),
    )


# --- changes that need the password and a code --------------------------------------------


def _check_password_and_code(user: User, password: str, code: str) -> str:
    if not user.check_password(password or ""):
        raise ServiceError("Your password is not right.", "password")
    return check_code(user, code)


def regenerate_recovery_codes(user: User, password: str, code: str) -> list[str]:
    """Replace every recovery code with ten new ones (password and a code required)."""
    _check_password_and_code(user, password, code)
    codes = _replace_recovery_codes(user)
    audit_event(user, "two_factor.recovery_codes_regenerated")
    return codes


def disable(user: User, password: str, code: str) -> None:
    """Turn the second factor off (password and a code required); devices are forgotten."""
    _check_password_and_code(user, password, code)
    remove_everything(user)
    audit_event(user, "two_factor.disabled")


def remove_everything(user: User) -> None:
    """Delete the secret, recovery codes and remembered devices of `user` (caller audits)."""
    for model in (RecoveryCode, TrustedDevice, TwoFactor):
        db.session.execute(delete(model).where(model.user_id == user.id))


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _ in range(RECOVERY_CODE_CHARS))
        salt = secrets.token_hex(16)
        db.session.add(
            RecoveryCode(user_id=user.id, salt=salt, code_hash=_hash_recovery_code(salt, raw))
        )
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_CHARS, 4)))
    return codes


def audit_event(user: User, action: str, details: dict | None = None, actor: User | None = None):
    """Audit a second-factor change on `user`'s account (caller commits)."""
    # Views pass Flask-Login's `current_user` proxy; the audit row names the real class.
    user = getattr(user, "_get_current_object", lambda: user)()
    audit.record(
        organization_id=user.organization_id,
        actor_id=(actor or user).id,
        action=action,
        obj=user,
        details=details,
    )
