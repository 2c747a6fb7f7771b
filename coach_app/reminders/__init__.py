"""Reminder preferences, one-click unsubscribe and snoozing a task's reminders."""

from flask import Blueprint

bp = Blueprint("reminders", __name__)

from coach_app.reminders import routes  # noqa: E402,F401
