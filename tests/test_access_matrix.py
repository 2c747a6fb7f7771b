"""Every route, walked as every role and as a user of another organisation.

Adding a route without adding it here fails `test_every_route_is_covered`, so no view
can ship without a tenancy check being tested.
"""

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember, FollowUpTask
from tests.conftest import login
from tests.factories import interview_for

ROLES = [
    "anon",
    "admin",
    "coach",
    "coach2",
    "client",
    "client2",
    "organizer",
    "organizer2",
    "foreign_admin",
    "foreign_coach",
]
STAFF_ONLY = {"anon": 302, "client": 403, "client2": 403, "organizer": 403, "organizer2": 403}


def expect(default, **overrides):
    """Expected status for every role: `default` unless overridden."""
    table = {role: default for role in ROLES}
    table["anon"] = 302
    table.update(overrides)
    return table


@pytest.fixture
def objects(world):
    interview = interview_for(world.profile, world.client_user)
    task = db.session.scalar(
        select(FollowUpTask).where(FollowUpTask.interview_id == interview.id).limit(1)
    )
    cohort = Cohort(organization_id=world.org.id, organizer_id=world.organizer.id, name="Spring")
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, client_id=world.profile.id))
    db.session.commit()
    return {"task": task.id, "cohort": cohort.id, "client": world.profile.id}


# endpoint -> (method, url template, expected status per role)
MATRIX = {
    "main.index": ("GET", "/", expect(302)),
    "main.healthz": ("GET", "/healthz", expect(200, anon=200)),
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
    "client.home": ("GET", "/me/", expect(403, client=200, client2=200)),
    "client.task": (
        "GET",
        "/me/tasks/{task}",
        expect(404, admin=200, coach=200, client=200, organizer=403, organizer2=403),
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


def test_every_route_is_covered(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    missing = endpoints - set(MATRIX)
    assert not missing, f"add these routes to the access matrix: {sorted(missing)}"


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_route_as_every_role(app, world, objects, endpoint):
    method, template, expected = MATRIX[endpoint]
    url = template.format(**objects)
    users = {
        "admin": world.admin,
        "coach": world.coach,
        "coach2": world.coach2,
        "client": world.client_user,
        "client2": world.client2_user,
        "organizer": world.organizer,
        "organizer2": world.organizer2,
        "foreign_admin": world.foreign_admin,
        "foreign_coach": world.foreign_coach,
    }
    seen = {}
    for role in ROLES:
        test_client = app.test_client()
        if role != "anon":
            login(test_client, users[role].email)
        response = test_client.open(url, method=method)
        seen[role] = response.status_code
        if role == "anon" and response.status_code == 302 and endpoint != "main.index":
            assert "/auth/login" in response.headers["Location"]
    assert seen == expected
