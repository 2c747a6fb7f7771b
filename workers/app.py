"""The Flask app that jobs run inside (one per worker process)."""

from contextlib import contextmanager
from functools import cache


@cache
def _app():
    from coach_app import create_app

    return create_app()


@contextmanager
def app_context():
    """Enter the worker's app context (reusing the current one when a test already has it)."""
    from flask import current_app, has_app_context

    if has_app_context():
        yield current_app._get_current_object()
        return
    app = _app()
    with app.app_context():
        yield app
