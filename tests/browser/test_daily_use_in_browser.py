"""A client's day and a coach's triage, in a real browser.

The client's home puts today's work first and leaves a months-old miss out of the list; a
completion marked by mistake is undone. The coach works the exceptions queue through the coach's
own task page, recording a task for the client with the time it was really done.
"""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.extensions import db
from coach_app.models import ClientProfile, FollowUpTask, Organization, Role
from coach_app.services.accounts import create_user
from coach_app.services.followup import InterviewInput, log_interview, open_opportunity
from tests.browser.conftest import screenshot
from tests.browser.test_roles_in_browser import sign_in
from tests.conftest import PASSWORD
from tests.factories import zone_where_it_is

pytestmark = pytest.mark.browser


def _log(profile, client, company: str, start_at: datetime):
    opportunity = open_opportunity(
        client=profile, company=company, role="Analyst", industry=None, actor=client
    )
    return log_interview(opportunity=opportunity, actor=client, data=InterviewInput(start_at))


@pytest.fixture(scope="module")
def day(live_server):
    """A client in a zone where it is mid-afternoon: one interview today, one a week ago and
    one four months ago, nothing done yet."""
    tz = zone_where_it_is(14)
    now = datetime.now(UTC)
    with live_server.app_context():
        org = Organization(name="Daily Coaching", timezone=tz)
        db.session.add(org)
        db.session.flush()
        coach = create_user(
            organization_id=org.id, role=Role.COACH, email="coach@daily.example",
            name="Dana Coach", password=PASSWORD, timezone=tz,
        )  # fmt: skip
        client = create_user(
            organization_id=org.id, role=Role.CLIENT, email="client@daily.example",
            name="Remy Client", password=PASSWORD, timezone=tz,
        )  # fmt: skip
        profile = ClientProfile(user_id=client.id, organization_id=org.id, coach_id=coach.id)
        db.session.add(profile)
        db.session.flush()
        today = _log(profile, client, "Today Labs", now - timedelta(hours=3))
        _log(profile, client, "Last Week Ltd", now - timedelta(days=2, hours=3))
        _log(profile, client, "Long Ago Inc", now - timedelta(days=120))
        db.session.commit()
        return {
            "base": live_server.config["BASE_URL"],
            "client": client.email,
            "coach": coach.email,
            "today_interview": today.id,
        }


def test_a_clients_day_today_first_old_misses_folded_and_undo(new_page, live_server, day):
    base = day["base"]
    page = new_page()
    sign_in(page, base, day["client"])
    page.goto(f"{base}/me/")
    sections = page.locator("[data-testid^=todo-]")
    order = [sections.nth(i).get_attribute("data-testid") for i in range(sections.count())]
    assert order[0] == "todo-today", order
    assert order.index("todo-upcoming") < order.index("todo-overdue")
    today = page.get_by_test_id("todo-today")
    assert "Today Labs" in today.inner_text() and "Interview notes" in today.inner_text()
    # The four-month-old round is history: folded away, not on the list.
    listed = " ".join(
        page.get_by_test_id(t).inner_text() for t in ("todo-today", "todo-upcoming", "todo-overdue")
    )
    assert "Long Ago Inc" not in listed and "Last Week Ltd" in listed
    missed = page.get_by_test_id("todo-missed")
    assert missed.get_attribute("open") is None
    assert not missed.get_by_text("Long Ago Inc").first.is_visible()
    missed.locator("summary").click()
    assert missed.get_by_text("Long Ago Inc").first.is_visible()
    screenshot(page, "client-home")

    # Today's notes: done, then undone because it was marked by mistake.
    today.get_by_role("link", name="Interview notes").click()
    page.get_by_label("Your notes").fill("They cared about data quality and sailing.")
    page.get_by_role("button", name="Mark done").click()
    page.goto(f"{base}/me/")
    assert "Interview notes" not in page.get_by_test_id("todo-today").inner_text()
    with live_server.app_context():
        task_id = db.session.scalar(
            db.select(FollowUpTask.id).where(
                FollowUpTask.interview_id == day["today_interview"], FollowUpTask.rule == "notes"
            )
        )
    page.goto(f"{base}/me/tasks/{task_id}")
    page.get_by_role("button", name=re.compile("I marked this by mistake")).click()
    assert page.get_by_test_id("task-status").inner_text().strip() == "To do"
    page.goto(f"{base}/me/")
    assert "Interview notes" in page.get_by_test_id("todo-today").inner_text()


def test_a_coach_triages_the_queue_through_the_coach_task_page(new_page, live_server, day):
    base = day["base"]
    page = new_page()
    sign_in(page, base, day["coach"])
    page.goto(f"{base}/coach/exceptions")
    groups = page.locator(".exception-group")
    kinds = [groups.nth(i).get_attribute("data-kind") for i in range(groups.count())]
    assert kinds[0] == "due_today" and "overdue" in kinds
    assert kinds.index("overdue") > max(i for i, k in enumerate(kinds) if k == "due_today")
    assert "Long Ago Inc" not in page.locator("main").inner_text()
    screenshot(page, "coach-exceptions-triage")

    # Two days late with the thank-you email: the coach records that it was sent on time.
    overdue_email = page.locator(".exception-group[data-rule=thank_you_email][data-kind=overdue]")
    overdue_email.get_by_role("link", name=re.compile("Remy Client")).first.click()
    page.wait_for_url(re.compile(r".*/coach/tasks/\d+$"))
    assert page.get_by_test_id("task-client").inner_text() == "Remy Client’s follow-up"
    page.get_by_label("Someone else (name)").fill("Sam Interviewer")
    with live_server.app_context():
        task = db.session.scalar(
            db.select(FollowUpTask).where(
                FollowUpTask.rule == "thank_you_email",
                FollowUpTask.opportunity.has(company="Last Week Ltd"),
            )
        )
        due_local = task.due_at.astimezone(ZoneInfo(task.opportunity.client.timezone))
    sent_at = due_local - timedelta(hours=5)
    page.get_by_label(re.compile("When was it done")).fill(sent_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Record for Remy Client").click()
    page.wait_for_url(re.compile(r".*/coach/tasks/\d+$"))
    assert page.get_by_test_id("task-status").inner_text().strip() == "Done on time"
    page.goto(f"{base}/coach/exceptions")
    assert (
        page.locator(".exception-group[data-rule=thank_you_email][data-kind=overdue]").count() == 0
    )
