"""Two-step sign-in in a real browser (CSRF on): enrol from the QR page, then the challenge."""

import re
import time

import pyotp
import pytest

from coach_app.extensions import db
from coach_app.models import Organization, Role
from coach_app.services.accounts import create_user
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def coach(live_server):
    with live_server.app_context():
        org = Organization(name="Two-step Coaching", timezone="Europe/London")
        db.session.add(org)
        db.session.flush()
        user = create_user(
            organization_id=org.id, role=Role.COACH, email="coach@twostep.example",
            name="Tess Twostep", password=PASSWORD,
        )  # fmt: skip
        db.session.commit()
        return {"email": user.email, "base": live_server.config["BASE_URL"]}


def sign_in(page, base, email):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_enrol_by_qr_page_then_sign_in_with_a_code(new_page, coach):
    base = coach["base"]
    page = new_page()
    sign_in(page, base, coach["email"])
    page.get_by_role("link", name="Tess Twostep").click()  # own account: password, two-step
    page.get_by_role("link", name="Two-step sign-in").click()
    page.get_by_role("button", name="Set up two-step sign-in").click()
    assert page.locator("svg.qr-code").is_visible()
    screenshot(page, "two-factor-enrol")
    key = page.get_by_test_id("setup-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)
    page.get_by_label("The 6-digit code your app shows now").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    assert page.get_by_test_id("two-factor-on").is_visible()
    page.get_by_role("button", name="Sign out").click()

    phone = new_page(viewport=PHONE)
    sign_in(phone, base, coach["email"])
    phone.wait_for_url(re.compile(r".*/auth/two-factor/challenge$"))
    screenshot(phone, "two-factor-challenge-phone")
    phone.get_by_label("Code from your authenticator app, or a recovery code").fill("000000")
    phone.get_by_role("button", name="Sign in").click()
    assert phone.get_by_text("That code is not right").is_visible()
    # The next step's code: the enrolment used up the current one.
    phone.get_by_label("Code from your authenticator app, or a recovery code").fill(
        totp.at(time.time() + 30)
    )
    phone.get_by_label("Trust this device for 30 days").check()
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url(re.compile(r".*/coach/$"))

    # A trusted browser goes straight in after the password.
    phone.get_by_role("button", name="Sign out").click()
    sign_in(phone, base, coach["email"])
    phone.wait_for_url(re.compile(r".*/coach/$"))
