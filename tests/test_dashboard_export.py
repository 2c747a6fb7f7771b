"""CSV exports: the same numbers as the views, the same scope, careful with bad input."""

import io

import pandas as pd
import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models.audit import AuditEvent
from dashboards import callbacks, data, export
from tests.dashboard_fixtures import NOW, build_six, cohort


@pytest.fixture
def six(world, monkeypatch):
    monkeypatch.setattr(data, "current_time", lambda: NOW)
    return build_six(world.profile, world.client_user)


def csv_frame(response) -> pd.DataFrame:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return pd.read_csv(io.StringIO(response.get_data(as_text=True)))


def test_each_view_export_equals_the_view_data(world, six, as_user):
    browser = as_user(world.coach)
    for view, function in export.VIEWS.items():
        if view == "coaches":
            continue
        expected = function(world.coach, data.Filters())
        got = csv_frame(browser.get(f"/analytics/export/{view}.csv"))
        assert list(got.columns) == list(expected.columns), view
        assert len(got) == len(expected), view
        for column in expected.columns:
            if pd.api.types.is_numeric_dtype(got[column]) and not got[column].isna().all():
                assert got[column].tolist() == pytest.approx(
                    pd.to_numeric(expected[column]).tolist(), nan_ok=True
                ), (view, column)


def test_bands_export_matches_the_figure_on_the_page(world, six, as_user):
    overview = callbacks.overview_outputs(world.coach, *(None,) * 6)
    bars = overview[1]["data"][0]
    got = csv_frame(as_user(world.coach).get("/analytics/export/bands.csv"))
    assert list(got["band"]) == ["low", "medium", "high"]
    assert [round(v * 100, 1) for v in got["offer_rate"]] == list(bars["x"])  # horizontal
    assert list(got["opportunities"]) == [1, 2, 2]
    assert list(bars["text"]) == ["0 % (0/1)", "0 % (0/2)", "100 % (2/2)"]


def test_headline_export_matches_the_tiles(world, six, as_user):
    tiles = callbacks.overview_outputs(world.coach, *(None,) * 6)[0]
    values = {card.children.children[1].id: card.children.children[1].children for card in tiles}
    got = csv_frame(as_user(world.coach).get("/analytics/export/headline.csv"))
    for record in got.to_dict("records"):
        shown = values[f"tile-{record['measure']}-value"]
        assert shown == f"{round(record['num'] / record['den'] * 100)} %"


def test_clients_export_matches_the_table(app, world, six, as_user):
    with app.test_request_context():
        rows, _ = callbacks.client_outputs(world.coach, *(None,) * 6)
    got = csv_frame(as_user(world.coach).get("/analytics/export/clients.csv"))
    assert got["client_id"].tolist() == [r["client_id"] for r in rows]
    assert got["compliance_rate"].tolist() == pytest.approx([r["compliance"] for r in rows])
    assert got["offer_num"].tolist() == [r["offers"] for r in rows]


def test_opportunities_export_is_one_row_per_decided_opportunity(world, six, as_user):
    got = csv_frame(as_user(world.admin).get("/analytics/export/opportunities.csv"))
    assert got["opportunity_id"].tolist() == six.ids[:5]
    assert set(got["outcome"]) == {"offer", "rejected", "no_response"}
    assert "Cleo" not in got.to_csv()


def test_filters_in_the_query_string(world, six, as_user):
    browser = as_user(world.coach)
    got = csv_frame(browser.get("/analytics/export/headline.csv?start=2026-02-01&end=2026-02-28"))
    assert got.set_index("measure").loc["compliance", "den"] == 1
    assert browser.get("/analytics/export/headline.csv?start=yesterday").status_code == 400
    assert browser.get("/analytics/export/headline.csv?cohort=abc").status_code == 400
    assert browser.get("/analytics/export/headline.csv?rounds=9").status_code == 400
    assert browser.get("/analytics/export/headline.csv?coach=99999").status_code == 404
    assert browser.get(f"/analytics/export/headline.csv?coach={world.coach2.id}").status_code == 404


def test_organizer_exports_are_aggregates_with_too_few(world, six, as_user):
    group = cohort(world, world.organizer, "Cohort A", world.profile)
    browser = as_user(world.organizer)
    bands = csv_frame(browser.get(f"/analytics/export/bands.csv?cohort={group.id}"))
    assert bands["too_few"].all() and bands["offer_rate"].isna().all()
    assert browser.get("/analytics/export/opportunities.csv").status_code == 403
    assert browser.get("/analytics/export/clients.csv").status_code == 403
    assert browser.get(f"/analytics/export/headline.csv?coach={world.coach.id}").status_code == 404
    other = cohort(world, world.organizer2, "Cohort B", world.profile2)
    assert browser.get(f"/analytics/export/bands.csv?cohort={other.id}").status_code == 404


def test_text_cells_cannot_become_spreadsheet_formulas(world, six, as_user):
    group = cohort(world, world.organizer, "=HYPERLINK(1)", world.profile)
    db.session.commit()
    text = as_user(world.admin).get(f"/analytics/export/cohorts.csv?cohort={group.id}")
    assert "'=HYPERLINK(1)" in text.get_data(as_text=True)


def test_export_links_carry_the_filters(app, world):
    values = ("2026-01-05T00:00:00", None, [3, 4], None, "2", None)
    with app.test_request_context():
        links = callbacks.export_hrefs(world.coach, *values)
        organizer = callbacks.export_hrefs(world.organizer, *values)
        broken = callbacks.export_hrefs(world.coach, {"$gt": ""}, None, None, None, None, None)
    assert links[0] == "/analytics/export/headline.csv?start=2026-01-05&cohort=3&cohort=4&rounds=2"
    assert len(links) == len(export.VIEWS)
    # An organiser's links carry the whole months the page shows.
    assert organizer[0].startswith("/analytics/export/headline.csv?start=2026-01-01&")
    assert broken == [None] * len(export.VIEWS)


def test_each_download_is_audited_without_personal_data(world, six, as_user):
    group = cohort(world, world.organizer, "Cohort A", world.profile)
    browser = as_user(world.organizer)
    query = f"?end=2026-06-10&cohort={group.id}&industry=Tech"
    assert browser.get(f"/analytics/export/bands.csv{query}").status_code == 200
    assert browser.get("/analytics/export/clients.csv").status_code == 403  # refused: no event
    assert browser.get("/analytics/export/bands.csv?cohort=nope").status_code == 400
    as_user(world.coach).get("/analytics/export/opportunities.csv").get_data()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.downloaded").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_id, e.details["export"]) for e in events] == [
        (world.organizer.id, "bands"),
        (world.coach.id, "opportunities"),
    ]
    assert events[0].organization_id == world.org.id
    assert events[0].details["filters"] == {
        "start": None,
        "end": "2026-06-30",  # what the organiser was given: whole months
        "cohorts": [group.id],
        "coaches": [],
        "rounds": None,
        "industries": ["Tech"],
    }
    text = str([e.details for e in events])
    for personal in ("Cleo", "client@acme", "Cora", "Olga"):
        assert personal not in text
