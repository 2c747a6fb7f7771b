"""In Chromium: a cohort named like a link stays text in the charts; organisers' month range."""

import os

import pytest
from sqlalchemy import select

from coach_app.demo import DEMO_DOMAIN, DEMO_PASSWORD, build_demo
from coach_app.extensions import db
from coach_app.models import Cohort, User
from tests.browser.test_roles_in_browser import sign_in

pytestmark = pytest.mark.browser
EVIL = '<a href="https://evil.example/">x</a>'
SHOTS = os.environ.get("FT_ANALYTICS_SHOTS")  # a folder: save the organiser's screenshots


@pytest.fixture(scope="module")
def demo(live_server):
    with live_server.app_context():
        build_demo(seed=3, clients=18)
        organizer = db.session.scalar(select(User).where(User.email == f"organizer1@{DEMO_DOMAIN}"))
        first = db.session.scalars(
            select(Cohort).where(Cohort.organizer_id == organizer.id).order_by(Cohort.id)
        ).first()
        first.name = EVIL
        db.session.commit()
    return live_server.config["BASE_URL"]


@pytest.mark.parametrize("who", ["admin", "organizer1"])
def test_a_cohort_named_like_a_link_is_text_in_the_chart(new_page, demo, who):
    page = new_page({"width": 1366, "height": 900})
    sign_in(page, demo, f"{who}@{DEMO_DOMAIN}", DEMO_PASSWORD)
    page.goto(f"{demo}/analytics/")
    page.wait_for_selector("#fig-cohorts .main-svg", timeout=30000)
    page.wait_for_function(
        "document.querySelector('#fig-cohorts').textContent.includes('evil.example')",
        timeout=30000,
    )
    assert page.locator('a[href="https://evil.example/"]').count() == 0
    assert page.locator('#fig-cohorts a, #fig-cohorts [href*="evil"]').count() == 0
    # Cohorts are on the y axis (horizontal bars), long names wrapped on lines of their own.
    ticks = page.eval_on_selector_all(
        "#fig-cohorts .ytick text",
        """nodes => nodes.map(n => {
            const lines = [...n.querySelectorAll('tspan.line')].map(t => t.textContent);
            return lines.length ? lines.join(' ') : n.textContent;
        })""",
    )
    assert EVIL in ticks  # shown as the characters typed, not as a link
    tick = page.locator("#fig-cohorts .ytick text", has_text="evil").first
    tick.scroll_into_view_if_needed()
    box = tick.bounding_box()
    page.mouse.move(box["x"] + box["width"] + 60, box["y"] + box["height"] / 2)  # its bars
    page.wait_for_timeout(500)
    if who == "admin":  # an organiser's small cohort is "too few": no bar to hover there
        assert page.locator("#fig-cohorts .hoverlayer .hovertext").count() > 0
    assert page.locator('a[href="https://evil.example/"]').count() == 0
    assert page.locator("#fig-cohorts .hoverlayer a").count() == 0


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)])
def test_the_organizer_sees_whole_months(new_page, demo, size):
    width, height = size
    page = new_page({"width": width, "height": height})
    sign_in(page, demo, f"organizer1@{DEMO_DOMAIN}", DEMO_PASSWORD)
    page.goto(f"{demo}/analytics/")
    page.wait_for_selector("#fig-bands .main-svg", timeout=30000)
    note = page.locator("#f-dates-note")
    note.wait_for()
    assert "whole calendar months" in note.inner_text()
    assert "by whole months" in page.locator("#scope-text").inner_text()
    if SHOTS:
        page.wait_for_timeout(1500)
        page.screenshot(path=f"{SHOTS}/organizer-{width}x{height}.png", full_page=True)
