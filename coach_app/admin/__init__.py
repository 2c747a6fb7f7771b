"""Administration: people in the organisation."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from coach_app.admin import routes  # noqa: E402,F401
