"""Absolute links for emails, built the same way inside and outside a request."""

from contextlib import nullcontext

from flask import current_app, has_request_context, url_for

# The characters Werkzeug leaves unescaped in the query strings url_for builds.
QUERY_SAFE = "!$'()*,/:;?@"


def absolute_url(endpoint: str, **values) -> str:
    """BASE_URL + the path of `endpoint` (works in jobs and CLI commands too)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context():
        return base + url_for(endpoint, **values)


def url_context():
    """A request context for building many links at once outside a request (a mail batch)."""
    # absolute_url sets one up per link otherwise, which cost more than composing the email.
    return nullcontext() if has_request_context() else current_app.test_request_context()


def id_url_builder(endpoint: str, key: str):
    """A function `id -> url_for(endpoint, key=id)` made from one url_for call.

    For tables that link every row: url_for per row was a tenth of the pipeline's CPU.
    """
    marker = "987654321"  # an id no route contains, so it is the only match in the URL
    prefix, _, suffix = url_for(endpoint, **{key: int(marker)}).partition(marker)
    return lambda value: f"{prefix}{int(value)}{suffix}"
