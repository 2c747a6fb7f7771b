"""Daily-use screens in a real browser: the coach's client page on a desk and a phone, time
zones (search, the browser's zone preselected, under the strict CSP), reminders and the
admin's Delivery page on a phone."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from coach_app.extensions import db
from coach_app.models import ClientProfile, Organization, OutboxMessage, Role
from coach_app.services import followup
from coach_app.services.accounts import create_user, invitation_link, invite_client
from tests.browser.conftest import screenshot
from tests.browser.test_roles_in_browser import sign_in
from tests.conftest import PASSWORD
from tests.factories import interview_for

pytestmark = pytest.mark.browser
TZ = "America/Denver"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


def _ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@pytest.fixture(scope="module")
def people(live_server):
    """A coach whose client has open and decided opportunities, an admin, an invitee."""
    with live_server.app_context():
        org = Organization(name="Polish Coaching", timezone=TZ)
        db.session.add(org)
        db.session.flush()
        coach = create_user(
            organization_id=org.id, role=Role.COACH, email="coach@polish.example",
            name="Pia Coach", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        admin = create_user(
            organization_id=org.id, role=Role.ADMIN, email="admin@polish.example",
            name="Ada Admin", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        client = create_user(
            organization_id=org.id, role=Role.CLIENT, email="client@polish.example",
            name="Remy Client", password=PASSWORD, timezone=TZ,
        )  # fmt: skip
        profile = ClientProfile(user_id=client.id, organization_id=org.id, coach_id=coach.id)
        db.session.add(profile)
        db.session.flush()
        first = interview_for(profile, client, company="Lumen Bank", start_at=_ago(170))
        interview_for(profile, client, opportunity=first.opportunity, start_at=_ago(150))
        followup.record_outcome(opportunity=first.opportunity, outcome="rejected", actor=client)
        offer = interview_for(profile, client, company="Atlas Insurance", start_at=_ago(90))
        followup.record_outcome(opportunity=offer.opportunity, outcome="offer", actor=client)
        for i, company in enumerate(("Bluefin Logistics", "Kestrel Energy", "Northstar Clinics")):
            opened = interview_for(
                profile, client, company=company, start_at=_ago(40 - 15 * i),
                referrals=["Lee at the guild", "Port analytics team"],
            )  # fmt: skip
            interview_for(profile, client, opportunity=opened.opportunity, start_at=_ago(3 + i))
        invited, token = invite_client(
            coach=coach, email="new@polish.example", name="Nova New", timezone=None
        )
        db.session.commit()
        return {
            "base": live_server.config["BASE_URL"],
            "coach": coach.email,
            "admin": admin.email,
            "client": client.email,
            "org": org.id,
            "profile": profile.id,
            "rejected": first.opportunity_id,
            "decided": offer.opportunity_id,
            "decided_round": offer.id,
            "invitation": invitation_link(token),
        }


def _width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    return errors


def test_client_page_fits_a_screen_and_a_phone(new_page, people):
    base, url = people["base"], f"{people['base']}/coach/clients/{people['profile']}"
    desk = new_page(DESK)
    errors = _csp_errors(desk)
    sign_in(desk, base, people["coach"])
    desk.goto(url)
    # Open opportunities first, decided ones folded with their outcome in view.
    summaries = desk.locator("details.decided > summary")
    assert summaries.count() == 2
    # The latest decision first (the offer was recorded after the rejection).
    assert "Offer" in summaries.first.inner_text() and "Rejected" in summaries.nth(1).inner_text()
    # The offer is folded; the rejection opens by itself: its thank-you is still to do.
    assert not desk.locator(f"#opportunity-{people['decided']}").evaluate("d => d.open")
    assert desk.locator(f"#opportunity-{people['rejected']}").evaluate("d => d.open")
    height = desk.evaluate("document.documentElement.scrollHeight")
    # Five opportunities, eight rounds, 78 open tasks (17 still worth doing): about three
    # screens (the demo client1 went from 5,324 px to about 1,300 px at this width).
    assert height < 3200, height
    screenshot(desk, "coach-client-page")

    # The timeline dates rounds by their interview; its link opens the folded round.
    timeline = desk.locator("section[aria-labelledby=timeline-h]")
    link = timeline.locator(f"a[href='#round-{people['decided_round']}']")
    if not link.is_visible():
        timeline.locator("summary").click()  # older entries fold under "Earlier"
    link.click()
    assert desk.locator(f"#opportunity-{people['decided']}").evaluate("d => d.open")
    assert desk.locator(f"#round-{people['decided_round']}").evaluate("d => d.open")
    assert not errors

    phone = new_page(PHONE)
    sign_in(phone, base, people["coach"])
    phone.goto(url)
    assert _width(phone) <= PHONE["width"]
    screenshot(phone, "coach-client-page-phone")
    # Everything unfolded (rounds, task tables, contacts) still fits the phone's width.
    phone.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert _width(phone) <= PHONE["width"], _width(phone)
    cell = phone.locator("table.client-tasks td[data-label=Due]").first
    assert cell.evaluate("td => getComputedStyle(td).display") == "flex"  # stacked rows


def test_accepting_an_invitation_preselects_the_browser_zone_and_searches(browser, people):
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Calcutta")
    try:
        page = context.new_page()
        errors = _csp_errors(page)
        page.goto(people["invitation"])
        zone = page.get_by_label("Your time zone")
        # Chromium reports the old name Asia/Calcutta; the current one is preselected.
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == (
            "Asia/Calcutta"
        )
        assert zone.input_value() == "Asia/Kolkata"
        assert "Preselected from your browser" in page.locator(".tz-status").inner_text()
        assert zone.locator("optgroup").count() >= 10
        assert zone.locator("option[value='Africa/Asmera']").count() == 0
        search = page.get_by_label("Find a time zone")
        search.fill("buenos")
        assert zone.input_value() == "America/Argentina/Buenos_Aires"
        assert "1 zone matches" in page.locator(".tz-status").inner_text()
        search.fill("europe ber")
        assert zone.input_value() == "Europe/Berlin"
        search.fill("")
        assert zone.locator("option").count() > 400 and zone.input_value() == "Europe/Berlin"
        assert _width(page) <= PHONE["width"]
        screenshot(page, "accept-invitation-timezone-phone")
        page.get_by_label("Choose a password").fill("nova-password-1")
        page.get_by_label("Repeat it").fill("nova-password-1")
        page.get_by_role("button", name="Set password").click()
        page.wait_for_url(re.compile(r".*/me/$"))
        page.goto(people["base"] + "/account/")
        assert page.get_by_label("Your time zone").input_value() == "Europe/Berlin"
        assert not errors
    finally:
        context.close()


def test_reminders_and_delivery_pages_fit_a_phone(new_page, people, live_server):
    with live_server.app_context():
        for n in range(3):
            db.session.add(
                OutboxMessage(
                    dedupe_key=f"polish:sent:{n}",
                    organization_id=people["org"],
                    to_email="x@polish.example",
                    kind="due_soon",
                    channel="both",
                    subject=f"Due soon for Kestrel Energy {n}",
                    body_text="x",
                    due_at=_ago(1),
                    status="sent",
                    sent_at=_ago(1 - n / 10),
                )
            )
        db.session.commit()
    client = new_page(PHONE)
    sign_in(client, people["base"], people["client"])
    client.goto(people["base"] + "/settings/reminders")
    assert client.get_by_test_id("upcoming").locator("tbody tr").count() >= 1
    assert _width(client) <= PHONE["width"], _width(client)
    screenshot(client, "reminders-settings-phone")

    for viewport, suffix in ((DESK, ""), (PHONE, "-phone")):
        admin = new_page(viewport)
        sign_in(admin, people["base"], people["admin"])
        admin.goto(people["base"] + "/admin/ops")
        counts = admin.get_by_test_id("outbox-counts").inner_text()
        assert "Not sent, on purpose" in counts and "Waiting for its time" in counts
        assert admin.get_by_test_id("upcoming-messages").locator("tbody tr").count() >= 1
        assert _width(admin) <= viewport["width"], _width(admin)
        screenshot(admin, f"admin-delivery{suffix}")
