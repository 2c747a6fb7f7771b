"""Security headers on every response: CSP with a per-request nonce, framing, caching, HSTS."""

import re

import pytest

from coach_app.config import cookies_secure_by_default, from_environment
from tests.conftest import make_app

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{16,})'")


def directives(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_common_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = directives(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]


def test_sign_in_page_has_every_header_and_no_hsts_over_http(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert_common_headers(response)
    assert directives(response)["style-src"] == ["'self'"]
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_the_nonce_differs_per_request_and_reaches_templates(app, client):
    first = NONCE.search(client.get("/auth/login").headers["Content-Security-Policy"]).group(1)
    second = NONCE.search(client.get("/auth/login").headers["Content-Security-Policy"]).group(1)
    assert first != second
    # Templates get the same nonce the header names, for any inline <script> they add.
    with app.test_request_context("/"):
        from flask import render_template_string

        from coach_app.security_headers import csp_nonce, set_security_headers

        html = render_template_string("<script nonce='{{ csp_nonce() }}'></script>")
        response = set_security_headers(app.response_class(html))
        assert f"'nonce-{csp_nonce()}'" in response.headers["Content-Security-Policy"]
        assert f"nonce='{csp_nonce()}'" in html


def test_signed_in_pages_are_no_store_and_static_files_are_cacheable(world, as_user):
    coach = as_user(world.coach)
    page = coach.get("/coach/")
    assert page.status_code == 200
    assert_common_headers(page)
    assert page.headers["Cache-Control"] == "no-store"
    css = coach.get("/static/app.css")
    assert css.status_code == 200
    assert "no-store" not in css.headers.get("Cache-Control", "")
    # Error pages and redirects of a signed-in person are covered too.
    assert coach.get("/coach/clients/999999").headers["Cache-Control"] == "no-store"
    assert coach.get("/").headers["Cache-Control"] == "no-store"


def test_analytics_page_allows_dashs_inline_scripts_by_hash_only(app, world, as_user):
    admin = as_user(world.admin)
    page = admin.get("/analytics/")
    assert page.status_code == 200
    assert_common_headers(page)
    policy = directives(page)
    hashes = app.extensions["dash"].csp_hashes()
    assert hashes and set(hashes) <= set(policy["script-src"])
    # Dash's renderer and plotly.js insert <style> elements and style attributes at run time.
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert page.headers["Cache-Control"] == "no-store"
    # Every inline script on the page is allowed by one of the hashes (or is JSON data).
    html = page.get_data(as_text=True)
    import base64
    import hashlib

    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"], attrs
    json_route = admin.get("/analytics/_dash-layout")
    assert json_route.headers["Cache-Control"] == "no-store"
    assert json_route.headers["X-Content-Type-Options"] == "nosniff"


def test_portal_pages_do_not_get_the_dashboard_allowances(world, as_user):
    policy = directives(as_user(world.admin).get("/admin/users"))
    assert policy["style-src"] == ["'self'"]
    assert not [source for source in policy["script-src"] if source.startswith("'sha256-")]


def test_hsts_only_when_the_preferred_scheme_is_https(database_url, instance_dir, _schema):
    secure = make_app(database_url, instance_dir, PREFERRED_URL_SCHEME="https")
    response = secure.test_client().get("/auth/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    plain = make_app(database_url, instance_dir, PREFERRED_URL_SCHEME="http")
    assert "Strict-Transport-Security" not in plain.test_client().get("/auth/login").headers


@pytest.mark.parametrize(
    "base_url, secure",
    [
        ("http://127.0.0.1:5000", False),
        ("http://localhost:8000", False),
        ("https://127.0.0.1:5000", True),
        ("https://followthrough.example.com", True),
        ("http://followthrough.example.com", True),
    ],
)
def test_cookies_are_secure_outside_loopback_http(base_url, secure):
    assert cookies_secure_by_default(base_url) is secure


def test_production_config_has_secure_cookies_and_https_scheme(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("BASE_URL", "https://followthrough.example.com")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("PREFERRED_URL_SCHEME", raising=False)
    config = from_environment(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["PREFERRED_URL_SCHEME"] == "https"
    # `make run` over plain http on this machine keeps working.
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:5000")
    config = from_environment(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["PREFERRED_URL_SCHEME"] == "http"
    # An explicit setting wins both ways.
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert from_environment(tmp_path)["SESSION_COOKIE_SECURE"] is True


def test_the_session_cookie_is_secure_when_configured(world, database_url, instance_dir):
    app = make_app(database_url, instance_dir, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.post(
        "/auth/login",
        data={"email": world.coach.email, "password": "correct-horse-battery"},
        base_url="https://localhost",
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
