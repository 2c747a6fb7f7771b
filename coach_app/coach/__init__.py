"""Coaches: client pipeline, client detail, invitations."""

from flask import Blueprint

bp = Blueprint("coach", __name__)

from coach_app.coach import routes  # noqa: E402,F401
