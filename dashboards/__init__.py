"""The analytics dashboard: one Dash app mounted inside the portal at /analytics/.

- Guard: a `before_request` check runs first for every path under /analytics/ (pages,
  Dash's JSON routes, component suites, assets and the CSV exports): anonymous people get a
  302 to the login page for pages and files, a 401 JSON answer for Dash's JSON routes; any
  role other than admin, coach and organizer gets 403.
- CSRF: callback POSTs are checked with Flask-WTF's token, by the guard itself, right after
  the sign-in check (the global CSRFProtect hook skips Dash's dispatch view, which would
  otherwise answer an anonymous POST with a CSRF error before the guard could say 401). The
  page hands the token to the Dash renderer in the `_csrf_token` cookie (path /analytics/,
  SameSite=Lax), and the renderer sends it back in the `X-CSRFToken` header, which
  Flask-WTF reads. See docs/analytics.md for why this was chosen over relying on SameSite.
- Callback bodies: a POST to _dash-update-component must name a registered callback and
  carry exactly its inputs, state and outputs (ids and properties), or it gets a 400 JSON
  answer before Dash reads it; the values themselves are checked by the data layer's
  filter parser, so no body reaches a 5xx.
- Navigation: the page is the portal's own base.html with Dash's entry point in its
  content block, so the header, links and sign-out form are the portal's.
"""

from pathlib import Path

import dash
from dash.exceptions import DependencyException
from flask import Flask, abort, current_app, jsonify, render_template_string, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import NotFound

from coach_app.extensions import csrf, login_manager
from dashboards import data

PREFIX = "/analytics/"
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
# Dash's JSON endpoints answer 401 rather than a redirect to an HTML login page.
_FILE_ROUTES = ("_dash-component-suites/",)
_JSON_ROUTES = ("_dash-", "_reload-hash", "_alive_")
DASH_DISPATCH_VIEW = "dash.dash.dispatch"
CALLBACK_PATH = f"{PREFIX}_dash-update-component"
MAX_CALLBACK_BODY = 64 * 1024  # the dashboard's own bodies are a few hundred bytes
_ENTRY_MARK = "<!--dash-entry-->"
_SHELL = """{% extends "base.html" %}
{% block title %}Analytics{% endblock %}
{% block content %}<!--dash-entry-->{% endblock %}"""


class PortalDash(dash.Dash):
    """Dash whose index page is the portal's base.html around the Dash entry point."""

    def interpolate_index(self, **kwargs):
        """Render base.html (portal navigation) and slot Dash's tags into it."""
        page = render_template_string(_SHELL)
        head = f"{kwargs['metas']}{kwargs['favicon']}{kwargs['css']}"
        page = page.replace("</head>", f"{head}\n</head>", 1)
        page = page.replace(_ENTRY_MARK, kwargs["app_entry"], 1)
        tail = f"{kwargs['config']}{kwargs['scripts']}{kwargs['renderer']}"
        return page.replace("</body>", f"{tail}\n</body>", 1)


def is_dashboard_path(path: str) -> bool:
    """True for /analytics and everything under /analytics/."""
    return path == PREFIX.rstrip("/") or path.startswith(PREFIX)


def is_json_route(path: str) -> bool:
    """True for Dash's JSON endpoints (layout, dependencies, callbacks, reload hash)."""
    rest = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
    if rest.startswith(_FILE_ROUTES):
        return False
    return rest.startswith(_JSON_ROUTES)


def guard():
    """Sign-in and role check for the whole /analytics/ prefix (runs before anything else)."""
    path = request.path
    if not is_dashboard_path(path):
        return None
    json_route = is_json_route(path)
    if not current_user.is_authenticated:
        if json_route:
            return jsonify(error="Unauthorized", message="Sign in to see the analytics."), 401
        return login_manager.unauthorized()
    if current_user.role not in data.ANALYTICS_ROLES:
        message = "The analytics are for coaches, organizers and admins."
        if json_route:
            return jsonify(error="Forbidden", message=message), 403
        abort(403, description=message)
    if request.method in current_app.config["WTF_CSRF_METHODS"] and current_app.config.get(
        "WTF_CSRF_ENABLED", True
    ):
        csrf.protect()  # 400 with CSRFError when the X-CSRFToken header is missing or wrong
    if path == CALLBACK_PATH and request.method == "POST":
        problem = callback_body_problem(current_app.extensions["dash"])
        if problem:
            return jsonify(error="Bad Request", message=problem), 400
    return None


def _pairs(items) -> list | None:
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    return [(i.get("id"), i.get("property")) for i in items]


def callback_body_problem(dash_app) -> str | None:
    """Why a callback POST body is not one the dashboard sends (None when it is)."""
    if (request.content_length or 0) > MAX_CALLBACK_BODY:
        return "The callback body is too large."
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return "The callback body must be a JSON object."
    output = body.get("output")
    callback = dash_app.callback_map.get(output) if isinstance(output, str) else None
    if callback is None:
        return "The callback body names no callback of this dashboard."
    for key in ("inputs", "state"):
        declared = [(d["id"], d["property"]) for d in callback[key]]
        if _pairs(body.get(key, [])) != declared:
            return f"The callback body's {key} are not this callback's."
    outputs = callback["output"]
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    declared = [(o.component_id, o.component_property) for o in outputs]
    if _pairs(body.get("outputs")) != declared:
        return "The callback body's outputs are not this callback's."
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "The callback body's changedPropIds must be a list of names."
    return None


def hand_csrf_token(response):
    """Give the Dash renderer the CSRF token on dashboard pages (it echoes it in a header)."""
    if (
        is_dashboard_path(request.path)
        and response.mimetype == "text/html"
        and current_user.is_authenticated
    ):
        response.set_cookie(
            CSRF_COOKIE,
            generate_csrf(),
            path=PREFIX,
            samesite="Lax",
            secure=request.is_secure,
            httponly=False,  # the renderer's JavaScript must read it
        )
    return response


def _unknown_component_file(_error):
    # Dash raises this for a component-suites path naming no registered file: a 404, not a 500.
    return current_app.handle_http_exception(NotFound())


def init_dashboard(server: Flask) -> dash.Dash:
    """Mount the Dash app on `server` at /analytics/ with its guard, CSRF and exports."""
    from dashboards import callbacks, layout
    from dashboards.export import bp as export_bp

    app = PortalDash(
        __name__,
        server=server,
        url_base_pathname=PREFIX,
        assets_folder=str(Path(__file__).parent / "assets"),
        title="Analytics",
        update_title=None,
        suppress_callback_exceptions=False,
        csrf_token_name=CSRF_COOKIE,
        csrf_header_name=CSRF_HEADER,
    )
    # A function layout is built per request for the signed-in user; Dash validates the
    # callbacks against this skeleton instead of calling the function without a request.
    app.validation_layout = layout.skeleton()
    app.layout = layout.serve_layout
    callbacks.register_callbacks(app)
    server.register_blueprint(export_bp, url_prefix=f"{PREFIX}export")
    # The guard checks the CSRF token of callback POSTs itself, after the sign-in check;
    # "dash.dash.dispatch" is the name Dash gives its callback view for exactly this.
    csrf.exempt(DASH_DISPATCH_VIEW)
    server.before_request(guard)
    server.after_request(hand_csrf_token)
    server.register_error_handler(DependencyException, _unknown_component_file)
    server.extensions["dash"] = app
    return app
