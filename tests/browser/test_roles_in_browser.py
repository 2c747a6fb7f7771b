"""Each role doing its job in a real browser (Debian Chromium via Playwright)."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.extensions import db
from coach_app.models import Organization, Role
from coach_app.services.accounts import create_user
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
TZ = "America/Chicago"


@pytest.fixture(scope="module")
def people(live_server):
    with live_server.app_context():
        org = Organization(name="Browser Coaching", timezone=TZ)
        db.session.add(org)
        db.session.flush()
        coach = create_user(
            organization_id=org.id, role=Role.COACH, email="coach@browser.example",
            name="Casey Coach", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        organizer = create_user(
            organization_id=org.id, role=Role.ORGANIZER, email="org@browser.example",
            name="Oli Organizer", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        db.session.commit()
        return {
            "coach": coach.email,
            "organizer": organizer.email,
            "base": live_server.config["BASE_URL"],
        }


def sign_in(page, base, email, password=PASSWORD):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_coach_invites_client_who_logs_interview_and_completes_tasks(new_page, people):
    base = people["base"]
    coach = new_page()
    sign_in(coach, base, people["coach"])
    coach.goto(f"{base}/coach/invite")
    coach.get_by_label("Client's name").fill("Rowan Client")
    coach.get_by_label("Client's email").fill("rowan@browser.example")
    coach.get_by_role("button", name="Send invitation").click()
    link = coach.get_by_test_id("invitation-link").input_value()
    assert link.startswith(base + "/auth/invitation/")

    client = new_page(viewport={"width": 390, "height": 844})  # a phone
    client.goto(link)
    client.get_by_label("Choose a password").fill("rowan-password-1")
    client.get_by_label("Repeat it").fill("rowan-password-1")
    client.get_by_role("button", name="Set password").click()
    client.wait_for_url(re.compile(r".*/me/$"))

    # Log yesterday's interview: its same-day work is overdue, next-day work is due today.
    day = (datetime.now(UTC).astimezone(ZoneInfo(TZ)) - timedelta(days=1)).date()
    client.get_by_role("link", name="Log an interview").first.click()
    client.get_by_label("Company").fill("Harbor Analytics")
    client.get_by_label("Role", exact=True).fill("Data analyst")
    client.get_by_label("Date", exact=True).fill(day.isoformat())
    client.get_by_label("Start time").fill("10:00")
    client.locator("input[name='contacts-0-name']").fill("Dana Reyes")
    client.locator("input[name='contacts-0-interests']").fill("sailing, jazz")
    screenshot(client, "client-log-interview")
    client.get_by_role("button", name="Save and see my checklist").click()
    client.wait_for_url(re.compile(r".*/me/interviews/\d+$"))
    checklist = client.url
    assert client.get_by_text("Harbor Analytics").first.is_visible()
    screenshot(client, "client-checklist")

    # Task 1: notes.
    client.get_by_role("link", name=re.compile("Interview notes")).first.click()
    client.get_by_label("Your notes").fill("Dana sails on weekends; asked about SQL tuning.")
    client.get_by_role("button", name="Mark done").click()
    client.wait_for_load_state()
    assert client.get_by_text(re.compile("late|on time", re.I)).first.is_visible()

    # Task 2: an informational gift that looks tangible brings up the warning first.
    client.goto(checklist)
    client.get_by_role("link", name=re.compile("Informational gift")).first.click()
    client.get_by_label("The gift (title, link or name)").fill("A $25 gift card for coffee")
    client.get_by_label("…or another interest").fill("coffee")
    client.get_by_role("button", name="Mark done").click()
    warnings = client.get_by_test_id("warnings")
    assert "bribe" in warnings.inner_text().lower()
    screenshot(client, "client-gift-warning")
    client.get_by_role("button", name="Save anyway").click()
    client.wait_for_load_state()
    assert client.get_by_text(re.compile("Done on time", re.I)).first.is_visible()

    # The coach sees the client's compliance and the overdue work in the exceptions queue.
    coach.goto(f"{base}/coach/")
    row = coach.get_by_test_id("pipeline").locator("tr", has_text="Rowan Client")
    compliance = row.get_by_test_id("compliance").inner_text()
    assert re.fullmatch(r"\d+ % \(\d+/\d+\)", compliance.strip()), compliance
    assert int(row.get_by_test_id("overdue").inner_text()) >= 1
    screenshot(coach, "coach-pipeline")
    coach.get_by_role("link", name="Exceptions").first.click()
    queue = coach.locator("main").inner_text()
    assert "overdue" in queue.lower() and "Rowan Client" in queue
    screenshot(coach, "coach-exceptions")
    coach.get_by_role("link", name="Rowan Client").first.click()
    coach.wait_for_load_state()
    assert coach.get_by_text("Harbor Analytics").first.is_visible()
    screenshot(coach, "coach-client-detail")


def test_organizer_creates_a_cohort_and_sees_its_aggregate(new_page, people):
    base = people["base"]
    organizer = new_page()
    sign_in(organizer, base, people["organizer"])
    organizer.wait_for_url(re.compile(r".*/cohorts/$"))
    organizer.get_by_label("Cohort name").fill("Winter restart")
    organizer.get_by_role("button", name="Create cohort").click()
    organizer.wait_for_url(re.compile(r".*/cohorts/\d+$"))
    organizer.get_by_role("link", name="Invite a new client").click()
    organizer.get_by_label("Client's name").fill("Sky Newcomer")
    organizer.get_by_label("Client's email").fill("sky@browser.example")
    organizer.get_by_label("Coach").select_option(label="Casey Coach")
    organizer.get_by_role("button", name="Send invitation").click()
    organizer.wait_for_url(re.compile(r".*/cohorts/\d+$"))
    figures = organizer.get_by_test_id("cohort-figures")
    # Invited, not yet a member: members count people who accepted their invitation.
    assert organizer.get_by_test_id("size").inner_text().strip() == "0"
    assert organizer.get_by_test_id("invited").inner_text().strip() == "1"
    assert "too few" in figures.inner_text().lower()
    page_text = organizer.locator("main").inner_text()
    assert "Sky Newcomer" not in page_text  # organizers see aggregates, never names
    screenshot(organizer, "organizer-cohort")
