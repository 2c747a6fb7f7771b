"""Organisations, users, invitations and login attempts."""

from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from coach_app.extensions import db
from coach_app.models.types import UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    COACH = "coach"
    CLIENT = "client"
    ORGANIZER = "organizer"


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    # Admins and coaches must enrol a second factor before they can use the portal.
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="organization")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    # Set by an admin's deactivation; archiving a client turns `active` off but leaves this
    # empty, so restoring the client never undoes an admin's decision.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(back_populates="users", lazy="joined")

    # Set for the signed-in user of a request (coach_app.auth.sessions), not stored here.
    session_token = None
    auth_session = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users (archived, not yet accepted)
        return self.active and self.password_hash is not None

    @property
    def effective_timezone(self) -> str:
        """The user's IANA time zone, falling back to the organisation's."""
        return self.timezone or self.organization.timezone

    def set_password(self, password: str) -> None:
        """Hash and store a new password."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True when the password matches the stored hash."""
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def get_session_token(self) -> str:
        """What Flask-Login keeps in the cookie: this sign-in's session token, not the user id."""
        if self.session_token is None:
            raise RuntimeError("start sessions with coach_app.auth.sessions.sign_in")
        return self.session_token

    def has_role(self, *roles: str) -> bool:
        """True when the user holds one of the given roles."""
        return self.role in roles


class Invitation(db.Model):
    """A single-use, expiring link that lets an invited person set a password."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])


class LoginAttempt(db.Model):
    """Failed sign-ins, counted per email address to throttle guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_created", "email", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
