"""Browsers remembered for 30 days after a passed second factor (caller commits).

The browser keeps a random token in a signed cookie; the server keeps only its SHA-256, so
a database dump cannot be turned into cookies, and deleting the row revokes the browser.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from coach_app.extensions import db
from coach_app.models import TrustedDevice, User, audit
from coach_app.services.tokens import new_token, token_hash

TRUST_DAYS = 30


def password_mark(user: User) -> str:
    """A digest of the current password hash: it changes whenever the password does."""
    return hashlib.sha256(f"trusted-device:{user.password_hash or ''}".encode()).hexdigest()


def trust(user: User, label: str, now: datetime | None = None) -> str:
    """Remember this browser for TRUST_DAYS and return the raw token for its cookie."""
    now = now or datetime.now(UTC)
    token = new_token()
    db.session.add(
        TrustedDevice(
            user_id=user.id,
            token_hash=token_hash(token),
            password_mark=password_mark(user),
            label=(label or "Unknown browser")[:200],
            created_at=now,
            expires_at=now + timedelta(days=TRUST_DAYS),
        )
    )
    return token


def _live(user: User, now: datetime):
    return select(TrustedDevice).where(
        TrustedDevice.user_id == user.id,
        TrustedDevice.expires_at > now,
        TrustedDevice.password_mark == password_mark(user),
    )


def recognise(user: User, token: str | None) -> bool:
    """True when `token` is a live remembered browser of `user` (and note that it was used)."""
    if not token:
        return False
    now = datetime.now(UTC)
    device = db.session.scalar(
        _live(user, now).where(TrustedDevice.token_hash == token_hash(token))
    )
    if device is None:
        return False
    device.last_used_at = now
    return True


def listed(user: User) -> list[TrustedDevice]:
    """The person's remembered browsers that still work, newest first."""
    now = datetime.now(UTC)
    return list(db.session.scalars(_live(user, now).order_by(TrustedDevice.created_at.desc())))


def forget_all(user: User) -> int:
    """Forget every remembered browser of `user` (expired ones too); return how many worked."""
    count = len(listed(user))
    db.session.execute(delete(TrustedDevice).where(TrustedDevice.user_id == user.id))
    if count:
        user = getattr(user, "_get_current_object", lambda: user)()  # not the proxy
        audit.record(
            organization_id=user.organization_id,
            actor_id=user.id,
            action="two_factor.devices_forgotten",
            obj=user,
            details={"count": count},
        )
    return count


def describe(user_agent: str | None) -> str:
    """A short, human label for a browser from its User-Agent ("Firefox on Windows")."""
    agent = user_agent or ""
    browser = next(
        (
            name
            for key, name in (
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if key in agent
        ),
        "A browser",
    )
    system = next(
        (
            name
            for key, name in (
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if key in agent
        ),
        "an unknown system",
    )
    return f"{browser} on {system}"
