"""Every id on a page is unique, so each <label for> and aria reference finds its element.

Two elements once shared id="outcome" on the checklist (the Outcome section and its select),
so the Outcome label was not attached to the select. This walks the pages people use, as
each role, and fails on any id used twice.
"""

from collections import Counter
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember, FollowUpTask
from tests.conftest import PASSWORD, make_app
from tests.factories import interview_for


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.label_targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        if tag == "label" and attributes.get("for"):
            self.label_targets.append(attributes["for"])


def parse_ids(html: str) -> _Ids:
    """The ids and label targets of a page."""
    parser = _Ids()
    parser.feed(html)
    return parser


def duplicate_ids(html: str) -> dict[str, int]:
    """Ids used more than once on the page, with how often."""
    return {i: n for i, n in Counter(parse_ids(html).ids).items() if n > 1}


def test_the_checker_finds_a_duplicate():
    assert duplicate_ids('<p id="a"></p><div id="a"></div><i id="b"></i>') == {"a": 2}


@pytest.fixture
def pages(world):
    interview = interview_for(world.profile, world.client_user, referrals=["Lee"])
    task = db.session.scalar(
        select(FollowUpTask).where(FollowUpTask.interview_id == interview.id).limit(1)
    )
    cohort = Cohort(organization_id=world.org.id, organizer_id=world.organizer.id, name="Spring")
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, client_id=world.profile.id))
    db.session.commit()
    common = ["/account/", "/settings/reminders", "/notifications"]
    return {
        world.client_user: [
            *common,
            "/me/",
            "/me/interviews/new",
            f"/me/interviews/{interview.id}",
            f"/me/interviews/{interview.id}/edit",
            f"/me/tasks/{task.id}",
            f"/me/opportunities/{interview.opportunity_id}/outcome",
        ],
        world.coach: [
            *common,
            "/coach/",
            "/coach/exceptions",
            "/coach/invite",
            "/coach/cohort-requests",
            f"/coach/clients/{world.profile.id}",
            f"/coach/clients/{world.profile.id}/interviews/new",
            f"/coach/tasks/{task.id}",
            f"/coach/tasks/{task.id}/waive",
        ],
        world.organizer: [
            *common,
            "/cohorts/",
            f"/cohorts/{cohort.id}",
            f"/cohorts/{cohort.id}/invite",
            f"/cohorts/{cohort.id}/request",
        ],
        world.admin: [
            *common,
            "/admin/ops",
            "/admin/reminders",
            "/admin/users",
            "/admin/security",
            "/admin/audit",
            f"/admin/people/{world.coach.id}",
        ],
    }


def _signed_in_with_csrf(app, email):
    # CSRF on, as in production: every form then carries its hidden token field, and two
    # forms on one page must not both give it id="csrf_token".
    browser = app.test_client()
    page = browser.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = browser.post(
        "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return browser


def test_no_page_repeats_an_id_and_every_label_finds_its_field(pages, database_url, instance_dir):
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    problems = {}
    for user, urls in pages.items():
        browser = _signed_in_with_csrf(app, user.email)
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, (user.email, url, response.status_code)
            html = response.get_data(as_text=True)
            found = parse_ids(html)
            duplicates = duplicate_ids(html)
            orphans = sorted(set(found.label_targets) - set(found.ids))
            if duplicates or orphans:
                problems[f"{user.role} {url}"] = {"duplicates": duplicates, "orphans": orphans}
    assert not problems, problems


def test_the_outcome_label_is_attached_to_its_select(world, as_user):
    interview = interview_for(world.profile, world.client_user)
    html = as_user(world.client_user).get(f"/me/interviews/{interview.id}").get_data(as_text=True)
    found = parse_ids(html)
    assert found.ids.count("outcome") == 1 and "outcome" in found.label_targets
    assert 'id="outcome" name="outcome"' in html and 'for="outcome"' in html
