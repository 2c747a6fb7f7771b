"""Signing in and out, invitations, password changes."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from coach_app.auth import routes, two_factor, two_factor_settings  # noqa: E402,F401
