"""Signing in and out, sessions, invitations, password changes and resets."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from coach_app.auth import (  # noqa: E402,F401
    recovery_routes,
    routes,
    session_routes,
    two_factor,
    two_factor_settings,
)
