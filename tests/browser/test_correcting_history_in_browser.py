"""A client corrects a mistyped interview in a real browser and sees its deadlines move."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.extensions import db
from coach_app.models import ClientProfile, Organization, Role
from coach_app.services.accounts import create_user
from coach_app.services.followup import InterviewInput, log_interview, open_opportunity
from tests.browser.conftest import screenshot
from tests.browser.test_roles_in_browser import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
TZ = "America/Chicago"


@pytest.fixture(scope="module")
def logged(live_server):
    """A client with an interview logged for yesterday 10:00 (it was really the day before)."""
    with live_server.app_context():
        org = Organization(name="History Coaching", timezone=TZ)
        db.session.add(org)
        db.session.flush()
        coach = create_user(
            organization_id=org.id, role=Role.COACH, email="coach@history.example",
            name="Hana Coach", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        client = create_user(
            organization_id=org.id, role=Role.CLIENT, email="client@history.example",
            name="Robin Client", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        profile = ClientProfile(user_id=client.id, organization_id=org.id, coach_id=coach.id)
        db.session.add(profile)
        db.session.flush()
        yesterday = (datetime.now(UTC).astimezone(ZoneInfo(TZ)) - timedelta(days=1)).date()
        start = datetime(
            yesterday.year, yesterday.month, yesterday.day, 10, 0, tzinfo=ZoneInfo(TZ)
        ).astimezone(UTC)
        opportunity = open_opportunity(
            client=profile, company="Harbr Analytics", role="Data analyst", industry=None,
            actor=client,
        )  # fmt: skip
        interview = log_interview(
            opportunity=opportunity, actor=client, data=InterviewInput(start_at=start)
        )
        db.session.commit()
        return {
            "base": live_server.config["BASE_URL"],
            "client": client.email,
            "interview": interview.id,
            "yesterday": yesterday,
        }


def _due(page, rule: str) -> datetime:
    stamp = page.get_by_test_id(f"task-{rule}").locator("time").first.get_attribute("datetime")
    return datetime.fromisoformat(stamp)


def test_client_edits_an_interview_and_sees_its_deadlines_move(new_page, logged):
    base = logged["base"]
    page = new_page()
    sign_in(page, base, logged["client"])
    page.goto(f"{base}/me/interviews/{logged['interview']}")
    email_before = _due(page, "thank_you_email")
    note_before = _due(page, "thank_you_note")

    page.get_by_role("link", name="Edit this round").click()
    page.wait_for_url(re.compile(r".*/edit$"))
    assert page.get_by_label("Company").input_value() == "Harbr Analytics"
    day_before = logged["yesterday"] - timedelta(days=1)
    page.get_by_label("Company").fill("Harbor Analytics")
    page.get_by_label("Date", exact=True).fill(day_before.isoformat())
    page.get_by_label("Start time").fill("09:00")
    screenshot(page, "client-edit-interview")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r".*/me/interviews/\d+$"))

    assert "Harbor Analytics" in page.locator("h1").inner_text()
    assert "deadlines follow the new details" in page.locator("main").inner_text()
    # 10:00 yesterday -> 09:00 the day before: the email moves 25 hours, the note a day.
    assert _due(page, "thank_you_email") == email_before - timedelta(hours=25)
    note_after = _due(page, "thank_you_note").astimezone(ZoneInfo(TZ))
    assert note_after.date() == note_before.astimezone(ZoneInfo(TZ)).date() - timedelta(days=1)
    assert page.get_by_test_id("task-thank_you_note").get_by_text("Overdue").is_visible()
