"""Organizer pages (cohorts) for the access matrix."""

from tests.access_routes import expect

# Adding clients: the cohort's organizer and the organisation's admins.
ADD_CLIENTS = expect(403, admin=200, organizer=200, organizer2=404, foreign_admin=404)

# endpoint -> (method, url template, expected status per role)
ROUTES = {
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
    "cohorts.invite": ("GET", "/cohorts/{cohort}/invite", ADD_CLIENTS),
    "cohorts.request_clients": ("GET", "/cohorts/{cohort}/request", ADD_CLIENTS),
}
