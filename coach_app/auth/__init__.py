"""Signing in and out, sessions, invitations, password changes and resets."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from coach_app.auth import recovery_routes, routes, session_routes  # noqa: E402,F401
