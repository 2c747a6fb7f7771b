"""The Content-Security-Policy blocks nothing the product itself needs, in real Chromium.

Each role's main pages and the Dash dashboard at /analytics/ are opened with a listener for
`securitypolicyviolation` events and console errors; any violation fails the test. A page
with an injected inline script shows the policy does block what it should.
"""

import pytest

from coach_app.demo import DEMO_DOMAIN, DEMO_PASSWORD, build_demo
from tests.browser.test_roles_in_browser import sign_in

pytestmark = pytest.mark.browser

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
"""
PAGES = {
    "admin": ["/admin/users", "/admin/ops", "/admin/reminders", "/coach/", "/cohorts/"],
    "coach1": ["/coach/", "/coach/exceptions", "/coach/invite", "/coach/cohort-requests"],
    "client1": ["/me/", "/me/interviews/new"],
    "organizer1": ["/cohorts/"],
}
ANALYTICS = {"admin", "coach1", "organizer1"}


@pytest.fixture(scope="module")
def demo(live_server):
    with live_server.app_context():
        build_demo(seed=5, clients=12)
    return live_server.config["BASE_URL"]


def _open(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("who", sorted(PAGES))
def test_no_csp_violations_on_each_roles_pages(new_page, demo, who):
    page = new_page()
    page.add_init_script(LISTEN)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, demo, f"{who}@{DEMO_DOMAIN}", DEMO_PASSWORD)
    for path in [*PAGES[who], "/notifications", "/settings/reminders"]:
        _open(page, demo + path)
        assert page.evaluate("window.__csp") == [], path
    if who in ANALYTICS:
        page.goto(f"{demo}/analytics/")
        page.wait_for_selector("#fig-bands .main-svg", timeout=30000)
        page.hover("#fig-bands .main-svg")
        page.wait_for_timeout(500)
        assert page.evaluate("window.__csp") == [], "/analytics/"
        assert "Compliance" in page.locator("#tiles").inner_text()
    # Failed loads show in the console as errors; each must be one the page asked for on purpose.
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    assert [f for f in failed if not f.endswith("/favicon.ico")] == []


def test_the_policy_blocks_an_injected_inline_script(new_page, demo):
    page = new_page()
    page.add_init_script(LISTEN)
    sign_in(page, demo, f"coach1@{DEMO_DOMAIN}", DEMO_PASSWORD)
    _open(page, demo + "/coach/")
    blocked = page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__ran = true'; document.body.appendChild(s);
                   return !window.__ran; }"""
    )
    page.wait_for_timeout(200)
    assert blocked
    assert any("script-src" in v for v in page.evaluate("window.__csp"))
