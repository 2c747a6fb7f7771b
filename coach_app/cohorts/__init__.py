"""Workshop organizers' cohorts (aggregates only)."""

from flask import Blueprint

bp = Blueprint("cohorts", __name__)

from coach_app.cohorts import routes  # noqa: E402,F401
