"""The analytics dashboard (Dash at /analytics/) and its CSV exports, for the access matrix.

Anonymous people get 302 to the login page for pages and files and 401 for Dash's JSON
routes; clients get 403 everywhere under the prefix. Staff of another organisation reach
the dashboard but see only their own (empty) organisation; a cohort of this organisation
in an export filter answers 404 for everyone outside its scope.
"""

from tests.access_routes import expect

CLIENTS_403 = {"client": 403, "client2": 403}
JSON_ROUTE = {"anon": 401, **CLIENTS_403}
ROWS_FOR_STAFF = {**CLIENTS_403, "organizer": 403, "organizer2": 403}

ROUTES = {
    "/analytics/": ("GET", "/analytics/", expect(200, **CLIENTS_403)),
    "/analytics/<path:path>": ("GET", "/analytics/anything", expect(200, **CLIENTS_403)),
    "/analytics/_dash-layout": ("GET", "/analytics/_dash-layout", expect(200, **JSON_ROUTE)),
    "/analytics/_dash-dependencies": (
        "GET",
        "/analytics/_dash-dependencies",
        expect(200, **JSON_ROUTE),
    ),
    # No JSON body: past the sign-in check, the guard refuses it with 400 (see the fuzz tests).
    "/analytics/_dash-update-component": (
        "POST",
        "/analytics/_dash-update-component",
        expect(400, **JSON_ROUTE),
    ),
    "/analytics/_reload-hash": ("GET", "/analytics/_reload-hash", expect(200, **JSON_ROUTE)),
    "/analytics/_favicon.ico": ("GET", "/analytics/_favicon.ico", expect(200, **CLIENTS_403)),
    "/analytics/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": (
        "GET",
        "/analytics/_dash-component-suites/dash/dcc/dash_core_components.js",
        expect(200, **CLIENTS_403),
    ),
    "_analytics_dash_assets.static": (
        "GET",
        "/analytics/assets/dashboard.css",
        expect(200, **CLIENTS_403),
    ),
    "analytics_export.headline": (
        "GET",
        "/analytics/export/headline.csv",
        expect(200, **CLIENTS_403),
    ),
    "analytics_export.bands": ("GET", "/analytics/export/bands.csv", expect(200, **CLIENTS_403)),
    "analytics_export.rules": ("GET", "/analytics/export/rules.csv", expect(200, **CLIENTS_403)),
    "analytics_export.hours": ("GET", "/analytics/export/hours.csv", expect(200, **CLIENTS_403)),
    "analytics_export.months": (
        "GET",
        "/analytics/export/months.csv",
        expect(200, **CLIENTS_403),
    ),
    # Filtered by the coach's client's cohort (run by `organizer`): a tenancy check.
    "analytics_export.cohorts": (
        "GET",
        "/analytics/export/cohorts.csv?cohort={cohort}",
        expect(404, admin=200, coach=200, organizer=200, **CLIENTS_403),
    ),
    "analytics_export.coaches": (
        "GET",
        "/analytics/export/coaches.csv",
        expect(403, admin=200, foreign_admin=200),
    ),
    "analytics_export.clients": (
        "GET",
        "/analytics/export/clients.csv",
        expect(200, **ROWS_FOR_STAFF),
    ),
    "analytics_export.opportunities": (
        "GET",
        "/analytics/export/opportunities.csv",
        expect(200, **ROWS_FOR_STAFF),
    ),
}
