"""One filter for every request's address, query string and form: no control characters.

NUL and the other control characters (C0, DEL and C1) have no place in anything a person
types here; PostgreSQL refuses NUL in text outright (DataError), and the others end up in
CSV exports, emails and logs. The check runs as the first `before_request` hook, before any
view, Flask-Login's user loading or the dashboard's guard can touch the database, and answers
400 naming the field, so nothing is changed. Tab, CR and LF are allowed in form values only
(multi-line fields such as notes); names of fields, query strings and the path allow none.
"""

import re

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

# C0 controls, DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _describe(name: str) -> str:
    # The field's name is shown back to the person; keep it printable and short.
    shown = _CONTROL.sub("?", name)[:60]
    return f"“{shown}”" if shown else "a field with no name"


def _refuse(where: str) -> None:
    abort(
        400,
        description=(
            f"{where} contains a control character (such as NUL) that is not allowed here. "
            "Remove it and try again; nothing was changed."
        ),
    )


def find_control_character(args, form, path: str) -> str | None:
    """Where the first refused control character is, in words, or None when all is clean."""
    if _CONTROL.search(path):
        return "The page address"
    for name, value in args.items(multi=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            return f"The search or filter field {_describe(name)}"
    for name, value in form.items(multi=True):
        if _CONTROL.search(name) or _CONTROL_EXCEPT_WHITESPACE.search(value):
            return f"The field {_describe(name)}"
    return None


def refuse_control_characters():
    """before_request: 400 when the path, query string or form has a control character."""
    # Only form bodies are read here; JSON bodies (Dash callbacks) are checked by their views.
    form = request.form if request.mimetype in _FORM_TYPES else MultiDict()
    where = find_control_character(request.args, form, request.path)
    if where is not None:
        _refuse(where)


def register(app: Flask) -> None:
    """Install the filter; call before any other before_request hook that reads the database."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_control_characters)
