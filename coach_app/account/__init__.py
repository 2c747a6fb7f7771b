"""Every signed-in person's own profile: name, time zone, sign-in address."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from coach_app.account import routes  # noqa: E402,F401
