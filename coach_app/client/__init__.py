"""Clients: their interviews and checklists."""

from flask import Blueprint

bp = Blueprint("client", __name__)

from coach_app.client import history, routes  # noqa: E402,F401
