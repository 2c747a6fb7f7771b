"""Core routes (accounts, admin, home) for the access matrix."""

from tests.access_routes import STAFF_ONLY, expect

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
    "admin.users": (
        "GET",
        "/admin/users",
        expect(403, admin=200, foreign_admin=200),
    ),
    "coach.pipeline": (
        "GET",
        "/coach/",
        expect(200, **STAFF_ONLY),
    ),
    "coach.invite": (
        "GET",
        "/coach/invite",
        expect(403, coach=200, coach2=200, foreign_coach=200),
    ),
    "coach.client_detail": (
        "GET",
        "/coach/clients/{client}",
        expect(404, admin=200, coach=200, **{k: v for k, v in STAFF_ONLY.items()}),
    ),
    "cohorts.index": (
        "GET",
        "/cohorts/",
        expect(403, admin=200, organizer=200, organizer2=200, foreign_admin=200),
    ),
    "cohorts.detail": (
        "GET",
        "/cohorts/{cohort}",
        expect(404, admin=200, organizer=200, coach=200, client=403, client2=403),
    ),
}
