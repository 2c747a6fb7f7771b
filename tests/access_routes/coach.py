"""Coach pages (pipeline, exceptions, client detail and roster actions) for the access matrix."""

from tests.access_routes import STAFF_ONLY, expect

# A client's page: their coach and the organisation's admins; other coaches and tenants 404.
CLIENT_PAGE = expect(404, admin=200, coach=200, **STAFF_ONLY)
COACHES_ONLY = expect(403, coach=200, coach2=200, foreign_coach=200)

# endpoint -> (method, url template, expected status per role)
ROUTES = {
    "coach.pipeline": ("GET", "/coach/", expect(200, **STAFF_ONLY)),
    "coach.exceptions": ("GET", "/coach/exceptions", expect(200, **STAFF_ONLY)),
    "coach.invite": ("GET", "/coach/invite", COACHES_ONLY),
    "coach.client_detail": ("GET", "/coach/clients/{client}", CLIENT_PAGE),
    # An empty note is refused (400) for those who may write one: nothing is written.
    "coach.add_note": (
        "POST",
        "/coach/clients/{client}/notes",
        expect(404, admin=400, coach=400, **STAFF_ONLY),
    ),
    "coach.task": ("GET", "/coach/tasks/{task}", CLIENT_PAGE),
    "coach.waive_task": ("GET", "/coach/tasks/{task}/waive", CLIENT_PAGE),
    "coach.log_interview": ("GET", "/coach/clients/{client}/interviews/new", CLIENT_PAGE),
    "coach.archive_client": ("GET", "/coach/clients/{client}/archive", CLIENT_PAGE),
    "coach.restore_client": ("GET", "/coach/clients/{client}/restore", CLIENT_PAGE),
    "coach.move_client": (
        "GET",
        "/coach/clients/{client}/move",
        expect(403, admin=200, foreign_admin=404),
    ),
    # Taking a client out of a cohort redirects back, also when they already left.
    "coach.remove_from_cohort": (
        "POST",
        "/coach/clients/{client}/cohorts/{cohort}/remove",
        expect(404, admin=302, coach=302, **STAFF_ONLY),
    ),
    "coach.cohort_requests": ("GET", "/coach/cohort-requests", COACHES_ONLY),
    # No request exists in the matrix world: coaches get 404, everyone else is refused first.
    # tests/test_cohort_pages.py answers real requests (and another coach's: 404).
    "coach.answer_cohort_request": (
        "POST",
        "/coach/cohort-requests/999999",
        expect(403, coach=404, coach2=404, foreign_coach=404),
    ),
}
