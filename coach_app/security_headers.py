"""HTTP security headers on every response, set in this one place.

- Content-Security-Policy: scripts only from this origin, plus inline scripts that carry this
  request's nonce (`csp_nonce()` in templates) or, on /analytics/, Dash's own inline scripts
  by hash (`Dash.csp_hashes()`). No 'unsafe-eval' anywhere. Styles from this origin only,
  except on /analytics/, where the Dash renderer and plotly.js insert <style> elements and
  style attributes at run time and need 'unsafe-inline' for styles (never for scripts).
  docs/security-input.md says why each directive is there.
- frame-ancestors 'none' and X-Frame-Options: DENY: no page can be framed (clickjacking).
- X-Content-Type-Options: nosniff, Referrer-Policy, Cross-Origin-Opener-Policy and a
  Permissions-Policy that turns off device features nothing here uses.
- Strict-Transport-Security only when PREFERRED_URL_SCHEME is https: sent over plain
  http://127.0.0.1 it would be ignored at best and lock a developer out at worst.
- Cache-Control: no-store on every dynamic response (pages, JSON, CSV): they carry personal
  data or depend on who is signed in. Static files keep their normal caching.
"""

import secrets

from flask import Flask, current_app, request

NONCE_BYTES = 16
HSTS_SECONDS = 63072000  # two years, the value hstspreload.org asks for
# Static files hold no personal data; Dash's component suites and assets are fingerprinted
# code. Everything else is built per request and may show personal data.
_STATIC_PREFIXES = ("/static/", "/analytics/_dash-component-suites/", "/analytics/assets/")
DASHBOARD_PREFIX = "/analytics"
_NONCE_KEY = "followthrough.csp_nonce"

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def csp_nonce() -> str:
    """This request's CSP nonce (made on first use); put it on every inline <script>."""
    # Kept on the request, not on `g`: an app context can outlive one request (tests, CLI).
    nonce = request.environ.get(_NONCE_KEY)
    if nonce is None:
        nonce = request.environ[_NONCE_KEY] = secrets.token_urlsafe(NONCE_BYTES)
    return nonce


def _dash_script_hashes(app: Flask) -> list[str]:
    # Computed once: the hashes depend only on Dash's inline scripts, fixed once the
    # callbacks are registered (by the time the first request arrives).
    hashes = app.extensions.get("csp_dash_hashes")
    if hashes is None:
        dash_app = app.extensions.get("dash")
        hashes = list(dash_app.csp_hashes()) if dash_app is not None else []
        app.extensions["csp_dash_hashes"] = hashes
    return hashes


def is_dashboard(path: str) -> bool:
    """True for the Dash app's pages and routes under /analytics/."""
    return path == DASHBOARD_PREFIX or path.startswith(DASHBOARD_PREFIX + "/")


def content_security_policy(nonce: str, *, dashboard: bool, dash_hashes=()) -> str:
    """The CSP header value for one response."""
    scripts = ["'self'", f"'nonce-{nonce}'"]
    styles = ["'self'"]
    if dashboard:
        scripts += list(dash_hashes)
        styles.append("'unsafe-inline'")
    directives = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": styles,
        # data: for the SVG icons plotly's mode bar and Bootstrap's form controls draw.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def is_static(path: str) -> bool:
    """True for files that carry no personal data and may be cached."""
    return path.startswith(_STATIC_PREFIXES) or path == "/analytics/_favicon.ico"


def set_security_headers(response):
    """after_request: add the headers above to `response`."""
    for name, value in _COMMON.items():
        response.headers.setdefault(name, value)
    dashboard = is_dashboard(request.path)
    hashes = _dash_script_hashes(current_app) if dashboard else ()
    response.headers["Content-Security-Policy"] = content_security_policy(
        csp_nonce(), dashboard=dashboard, dash_hashes=hashes
    )
    if current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        response.headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}; includeSubDomains"
    if not is_static(request.path):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def register(app: Flask) -> None:
    """Install the headers on every response and expose `csp_nonce()` to templates."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_security_headers)
