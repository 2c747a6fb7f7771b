"""The /analytics/ guard, CSRF on callbacks, the portal shell, and a real callback over HTTP."""

import json

import pytest

from tests.conftest import PASSWORD, make_app
from tests.dashboard_fixtures import build_six, cohort

SUITE = "/analytics/_dash-component-suites/dash/dcc/dash_core_components.js"
FILTER_IDS = [
    ("f-dates", "start_date"),
    ("f-dates", "end_date"),
    ("f-cohort", "value"),
    ("f-coach", "value"),
    ("f-rounds", "value"),
    ("f-industry", "value"),
]


def overview_payload(values=(None,) * 6):
    outputs = [
        ("tiles", "children"),
        ("fig-bands", "figure"),
        ("fig-rules", "figure"),
        ("fig-hours", "figure"),
        ("fig-months", "figure"),
        ("filter-error", "children"),
    ]
    return {
        "output": "..tiles.children...fig-bands.figure...fig-rules.figure...fig-hours.figure"
        "...fig-months.figure...filter-error.children..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": i, "property": p, "value": v}
            for (i, p), v in zip(FILTER_IDS, values, strict=True)
        ],
        "changedPropIds": [],
        "state": [],
    }


def test_anonymous_pages_and_files_redirect_to_login(client):
    for path in ("/analytics/", "/analytics", "/analytics/assets/dashboard.css", SUITE):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/analytics/_dash-update-component"),
        ("GET", "/analytics/_dash-layout"),
        ("GET", "/analytics/_dash-dependencies"),
        ("GET", "/analytics/_reload-hash"),
    ],
)
def test_anonymous_json_routes_get_401(client, method, path):
    response = client.open(path, method=method, json=overview_payload())
    assert response.status_code == 401
    assert response.get_json()["error"] == "Unauthorized"


def test_clients_are_refused_everywhere_under_the_prefix(world, as_user):
    browser = as_user(world.client_user)
    for path in ("/analytics/", "/analytics/assets/dashboard.css", "/analytics/export/bands.csv"):
        assert browser.get(path).status_code == 403, path
    response = browser.get("/analytics/_dash-layout")
    assert response.status_code == 403 and response.get_json()["error"] == "Forbidden"
    response = browser.post("/analytics/_dash-update-component", json=overview_payload())
    assert response.status_code == 403


def test_the_page_sits_in_the_portal_navigation_and_hands_the_csrf_token(world, as_user):
    browser = as_user(world.organizer)
    response = browser.get("/analytics/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/analytics/">Analytics</a>' in page
    assert 'action="/auth/logout"' in page and 'id="react-entry-point"' in page
    assert "<title>Analytics · Followthrough</title>" in page
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("_csrf_token=") and "Path=/analytics/" in cookie
    assert "SameSite=Lax" in cookie
    for path in ("/analytics/assets/dashboard.css", SUITE, "/analytics/_dash-layout"):
        assert browser.get(path).status_code == 200, path


def test_a_callback_over_http_answers_within_the_scope(world, as_user):
    build_six(world.profile, world.client_user)
    cohort(world, world.organizer, "Cohort A", world.profile)
    response = as_user(world.coach).post(
        "/analytics/_dash-update-component", json=overview_payload()
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "tile-offer-value" in body and "Associations, not causes" in body
    response = as_user(world.organizer).post(
        "/analytics/_dash-update-component", json=overview_payload()
    )
    assert response.status_code == 200
    assert "Cleo" not in response.get_data(as_text=True)


@pytest.fixture
def csrf_app(app, database_url, instance_dir):
    return make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)


def signed_in(test_app, user):
    """Sign in through the real form, CSRF token included (sessions live on the server)."""
    browser = test_app.test_client()
    page = browser.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = browser.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def test_callbacks_need_the_csrf_token_the_page_handed_out(world, csrf_app):
    browser = signed_in(csrf_app, world.coach)
    refused = browser.post("/analytics/_dash-update-component", json=overview_payload())
    assert refused.status_code == 400
    browser.get("/analytics/")
    token = browser.get_cookie("_csrf_token", path="/analytics/").value
    accepted = browser.post(
        "/analytics/_dash-update-component",
        json=overview_payload(),
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 200
    assert "tile-compliance-value" in accepted.get_data(as_text=True)
    forged = browser.post(
        "/analytics/_dash-update-component",
        json=overview_payload(),
        headers={"X-CSRFToken": "forged"},
    )
    assert forged.status_code == 400
    # An anonymous POST still learns nothing but 401, never a CSRF error.
    anonymous = csrf_app.test_client().post(
        "/analytics/_dash-update-component", json=overview_payload()
    )
    assert anonymous.status_code == 401


def test_each_app_has_its_own_dash_instance(app, csrf_app):
    assert app.extensions["dash"] is not csrf_app.extensions["dash"]
    assert len(csrf_app.extensions["dash"].callback_map) == len(app.extensions["dash"].callback_map)


def test_layout_is_built_for_the_user(world, as_user):
    cohort(world, world.organizer, "Cohort A", world.profile)
    layout = json.dumps(as_user(world.organizer).get("/analytics/_dash-layout").get_json())
    assert "Cohort A" in layout and "too few" in layout
    assert "Cora Coach" not in layout  # organizers get no coach filter choices
    admin_layout = json.dumps(as_user(world.admin).get("/analytics/_dash-layout").get_json())
    assert "Cora Coach" in admin_layout and "Cole Coach" in admin_layout
