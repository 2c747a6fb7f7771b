"""Every route, walked as every role and as a user of another organisation.

Adding a route without adding it here fails `test_every_route_is_covered`, so no view
can ship without a tenancy check being tested.
"""

import importlib
import pkgutil

import pytest
from sqlalchemy import select

import tests.access_routes
from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember, FollowUpTask
from tests.access_routes import ROLES
from tests.conftest import login
from tests.factories import interview_for

# Every module in tests/access_routes/ contributes its ROUTES table.
ROUTE_MODULES = [
    importlib.import_module(f"tests.access_routes.{info.name}")
    for info in pkgutil.iter_modules(tests.access_routes.__path__)
]


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
    return {
        "task": task.id,
        "cohort": cohort.id,
        "client": world.profile.id,
        "interview": interview.id,
        "opportunity": interview.opportunity_id,
        # People by user id (admin pages act on accounts, staff and clients alike).
        "admin_user": world.admin.id,
        "coach_user": world.coach.id,
        "client_user": world.client_user.id,
    }


MATRIX = {}
for _module in ROUTE_MODULES:
    overlap = set(MATRIX) & set(_module.ROUTES)
    assert not overlap, f"endpoints listed twice: {overlap}"
    MATRIX.update(_module.ROUTES)


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
