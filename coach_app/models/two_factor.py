"""The second factor: a TOTP secret per person, recovery codes, remembered devices."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from coach_app.extensions import db
from coach_app.models.types import UTCDateTime, utcnow


class TwoFactor(db.Model):
    """A person's authenticator-app secret; `enabled_at` is None while enrolment is pending."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # Sealed by coach_app.services.two_factor (a prefix names the scheme), never the raw secret
    # in a log or a page other than the enrolment page itself.
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second time step accepted: a code of that step or an older one never works
    # again, so an overheard code cannot be replayed within its validity window.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(db.Model):
    """One single-use recovery code, stored as a salted SHA-256 of the code."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrustedDevice(db.Model):
    """A browser that may skip the second factor until `expires_at` (the cookie holds the token)."""

    __tablename__ = "trusted_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A digest of the password hash when the device was trusted: a new password (changed,
    # reset, set by any code path) no longer matches, so every remembered device is forgotten.
    password_mark: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
