"""Core routes (accounts, home) for the access matrix; admin pages are in admin.py."""

from tests.access_routes import expect

# endpoint -> (method, url template, expected status per role)
ROUTES = {
    "main.index": ("GET", "/", expect(302)),
    "main.healthz": ("GET", "/healthz", expect(200, anon=200)),
    "main.readyz": ("GET", "/readyz", expect(200, anon=200)),
    "main.notifications": ("GET", "/notifications", expect(200)),
    "auth.login": ("GET", "/auth/login", expect(302, anon=200)),
    "auth.logout": ("POST", "/auth/logout", expect(302)),
    "auth.change_password": ("GET", "/auth/password", expect(200)),
    "auth.accept_invitation": ("GET", "/auth/invitation/not-a-token", expect(410, anon=410)),
}
