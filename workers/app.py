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

    from coach_app.observability import request_id_var

    token = request_id_var.set(_job_request_id())
    try:
        if has_app_context():
            yield current_app._get_current_object()
            return
        app = _app()
        with app.app_context():
            yield app
    finally:
        request_id_var.reset(token)


def _job_request_id() -> str | None:
    """The request id that enqueued the running job (kept in its meta), else the job's id."""
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        return None
    return job.meta.get("request_id") or job.id


def job_meta() -> dict:
    """Meta for a job enqueued now: carries the current request id into the worker."""
    from coach_app.observability import current_request_id

    request_id = current_request_id()
    return {"request_id": request_id} if request_id else {}
