"""The analytics dashboard renders its figures in a real browser for each role."""

import pytest

from coach_app.demo import DEMO_DOMAIN, DEMO_PASSWORD, build_demo
from tests.browser.conftest import screenshot
from tests.browser.test_roles_in_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(live_server):
    from sqlalchemy import select

    from coach_app.extensions import db
    from coach_app.models import User

    with live_server.app_context():
        build_demo(seed=3, clients=18)
        names = db.session.scalars(select(User.name).where(User.role == "client")).all()
    return {"base": live_server.config["BASE_URL"], "client_names": names}


@pytest.mark.parametrize(
    "email, shot",
    [
        (f"coach1@{DEMO_DOMAIN}", "analytics-coach"),
        (f"organizer1@{DEMO_DOMAIN}", "analytics-organizer"),
        # The admin's screenshots (1366 and 390 px) come from test_dashboard_legibility_in_browser.
        (f"admin@{DEMO_DOMAIN}", None),
    ],
)
def test_analytics_renders_for_each_role(new_page, demo, email, shot):
    page = new_page()
    sign_in(page, demo["base"], email, DEMO_PASSWORD)
    page.goto(f"{demo['base']}/analytics/")
    page.wait_for_selector("#tiles .card, #tiles div", timeout=30000)
    page.wait_for_selector("#fig-bands .main-svg", timeout=30000)
    tiles = page.locator("#tiles").inner_text()
    assert "Compliance" in tiles and "Offer rate" in tiles
    assert "association" in page.locator("main, body").first.inner_text().lower()
    if "organizer" in email:
        body = page.locator("body").inner_text()
        assert not [name for name in demo["client_names"] if name in body]
    if shot:
        screenshot(page, shot)
