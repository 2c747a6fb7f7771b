"""Administration: people in the organisation, reminder operations and policy."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from coach_app.admin import audit, ops, people, routes, security  # noqa: E402,F401
