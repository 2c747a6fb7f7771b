"""Issue 14, item 6, in Chromium: at 1366 px every text in the charts renders at 12 px or
more (the "Offer rate by rule" labels were 7.5 px), intervals are drawn, coach points grow
with their counts, and the clients section says its instruction once.

Sizes are measured as rendered: the computed font size times the scale of the element's
screen transform, since plotly shrinks bar text with a transform, not with font-size.
"""

import pytest

from coach_app.demo import DEMO_DOMAIN, DEMO_PASSWORD, build_demo
from tests.browser.conftest import screenshot
from tests.browser.test_roles_in_browser import sign_in

pytestmark = pytest.mark.browser

GRAPHS = ("fig-bands", "fig-rules", "fig-hours", "fig-cohorts", "fig-months", "fig-coaches")
# The charts whose captions promise 95 % Wilson intervals: all of them.
WITH_INTERVALS = GRAPHS

RENDERED_TEXT = r"""
() => {
  const out = [];
  for (const graph of document.querySelectorAll('.js-plotly-plot')) {
    const section = graph.closest('section');
    if (section && getComputedStyle(section).display === 'none') continue;
    for (const el of graph.querySelectorAll('svg text')) {
      if (!el.textContent.trim()) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      let size = parseFloat(style.fontSize);
      for (const span of el.querySelectorAll('tspan')) {
        if (!span.textContent.trim()) continue;
        size = Math.min(size, parseFloat(getComputedStyle(span).fontSize));
      }
      const m = el.getScreenCTM();
      out.push({
        graph: graph.closest('[id^=fig-]').id,
        text: el.textContent.slice(0, 40),
        computed: parseFloat(style.fontSize),
        rendered: size * Math.sqrt(m.a * m.a + m.b * m.b),
      });
    }
  }
  return out;
}
"""

ERROR_BARS = r"""
(id) => [...document.querySelectorAll('#' + id + ' g.errorbar path')]
  .filter(p => (p.getAttribute('d') || '').length > 2 && p.getBoundingClientRect().height +
          p.getBoundingClientRect().width > 0).length
"""

COACH_POINTS = r"""
() => [...document.querySelectorAll('#fig-coaches .scatterlayer path.point')]
  .map(p => p.getBoundingClientRect().width)
"""


@pytest.fixture(scope="module")
def demo(live_server):
    from sqlalchemy import select

    from coach_app.extensions import db
    from coach_app.models import User
    from dashboards import data

    with live_server.app_context():
        build_demo(seed=3, clients=18)
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        # The coaches the comparison draws: those with opportunities in the facts.
        coaches = list(data.by_coach(admin)["coach"])
    return {"base": live_server.config["BASE_URL"], "coaches": coaches}


def open_dashboard(new_page, demo, width, height):
    page = new_page({"width": width, "height": height})
    sign_in(page, demo["base"], f"admin@{DEMO_DOMAIN}", DEMO_PASSWORD)
    page.goto(f"{demo['base']}/analytics/")
    for graph in GRAPHS:
        page.wait_for_selector(f"#{graph} .main-svg", timeout=30000)
    page.wait_for_selector("#fig-coaches .scatterlayer path.point", timeout=30000)
    page.wait_for_selector("#fig-rules .textpoint", timeout=30000)
    page.wait_for_timeout(500)  # plotly's second pass (automargin) settles
    return page


def rendered_texts(page) -> list[dict]:
    texts = page.evaluate(RENDERED_TEXT)
    assert {t["graph"] for t in texts} == set(GRAPHS)
    return texts


def test_every_chart_text_renders_at_12_px_or_more_at_1366(new_page, demo):
    page = open_dashboard(new_page, demo, 1366, 900)
    texts = rendered_texts(page)
    assert len(texts) > 100  # ticks, labels, legends, titles of six charts
    smallest = min(texts, key=lambda t: t["rendered"])
    assert smallest["rendered"] >= 11.95, smallest
    # The rule chart's labels, the 7 px case, are all there and readable.
    rule_labels = [t for t in texts if t["graph"] == "fig-rules" and "%" in t["text"]]
    assert len(rule_labels) >= 22 and min(t["rendered"] for t in rule_labels) >= 11.95
    for graph in WITH_INTERVALS:
        assert page.evaluate(ERROR_BARS, graph) > 0, graph
    # Coach points: labelled with the coach's name, and not all one size.
    labels = page.locator("#fig-coaches .scatterlayer .textpoint").all_text_contents()
    assert sorted(labels) == sorted(demo["coaches"])
    widths = page.evaluate(COACH_POINTS)
    assert len(widths) == len(demo["coaches"]) and max(widths) > min(widths) + 2
    # Clients: the instruction once, no empty grid under it.
    section = page.locator("#sec-clients")
    assert section.inner_text().lower().count("choose one coach") == 1
    assert not page.locator("#client-table .dash-spreadsheet-container").is_visible()
    screenshot(page, "analytics-admin")


def test_every_chart_text_stays_12_px_on_a_phone(new_page, demo):
    page = open_dashboard(new_page, demo, 390, 844)
    texts = rendered_texts(page)
    smallest = min(texts, key=lambda t: t["rendered"])
    assert smallest["rendered"] >= 11.95, smallest
    # No chart is wider than the phone: nothing to scroll sideways, no text cut off.
    for graph in GRAPHS:
        box = page.locator(f"#{graph} .main-svg").first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, graph
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot svg text')].filter(t => {
            const r = t.getBoundingClientRect();
            const svg = t.closest('.js-plotly-plot').getBoundingClientRect();
            return r.width > 0 && (r.left < svg.left - 1 || r.right > svg.right + 1);
        }).map(t => t.textContent)"""
    )
    assert overflow == []
    screenshot(page, "analytics-admin-phone")


def test_the_coachs_table_uses_the_portals_font(new_page, demo):
    page = new_page({"width": 1366, "height": 900})
    sign_in(page, demo["base"], f"coach1@{DEMO_DOMAIN}", DEMO_PASSWORD)
    page.goto(f"{demo['base']}/analytics/")
    page.wait_for_selector("#client-table td", timeout=30000)
    cells = page.evaluate(
        """() => [...document.querySelectorAll('#client-table td, #client-table th')].map(c => ({
            font: getComputedStyle(c.querySelector('.dash-cell-value') || c).fontFamily,
            align: getComputedStyle(c).textAlign, column: c.dataset.dashColumn}))"""
    )
    assert cells and not [c for c in cells if "monospace" in c["font"].lower()]
    assert {c["align"] for c in cells if c["column"] == "client"} == {"left"}
    assert {c["align"] for c in cells if c["column"] == "offers"} == {"right"}
