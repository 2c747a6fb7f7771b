"""Facts read from their reading as of their computation give the same views as row by row.

A fact row that is not settled (a task not yet due) is summed in SQL from its `*_asof`
columns while no deadline has passed since it was computed, and read one by one otherwise.
Computing the facts after the moment read forces every such row through the one-by-one
path, which is the reference here; the hand-worked numbers are in tests/dashboard_fixtures.py.
"""

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import OpportunityFact
from coach_app.models.analytics import unpack
from coach_app.services import analytics_facts
from coach_app.services.followup import complete_task
from dashboards import callbacks, data, figures
from tests.dashboard_fixtures import LATER, NOW, build_six, cohort, tasks

MOMENTS = (NOW, NOW + timedelta(days=2), LATER)


def computed(monkeypatch, moment) -> None:
    """Recompute every fact row as if at `moment`."""
    monkeypatch.setattr(analytics_facts, "computed_at", lambda: moment)
    analytics_facts.rebuild_facts()
    db.session.commit()


def views(world, now) -> dict[str, pd.DataFrame]:
    """Every view of the coach and the admin at `now` (names and ids kept)."""
    frames = {f"overview_{k}": v for k, v in data.overview(world.coach, now=now).items()}
    frames["cohorts"] = data.by_cohort(world.admin, now=now)
    frames["coaches"] = data.by_coach(world.admin, now=now)
    frames["clients"] = data.by_client(world.coach, now=now)
    return frames


@pytest.fixture
def six(world):
    built = build_six(world.profile, world.client_user)
    cohort(world, world.organizer, "Spring", world.profile)
    return built


def test_o6_is_read_from_its_reading_as_of_its_computation(world, six, monkeypatch):
    computed(monkeypatch, NOW - timedelta(hours=1))
    where = data.scope_clauses(world.coach)
    assert data._live_rows(where, NOW).empty  # nothing read one by one
    current = data._current_sums(where, NOW, ["coach_id"])
    assert current["opportunities"].tolist() == [1]  # O6
    tiles = data.headline(world.coach, now=NOW).set_index("measure")
    assert tiles.loc["compliance", ["num", "den"]].tolist() == [29, 43]
    assert tiles.loc["check_in", ["num", "den"]].tolist() == [3, 5]
    # Two days on, O6's first deadlines have passed since: it is read one by one again.
    assert len(data._live_rows(where, NOW + timedelta(days=2))) == 1


@pytest.mark.parametrize("read_at", MOMENTS, ids=["now", "two-days-on", "later"])
def test_every_view_matches_the_row_by_row_reading(world, six, monkeypatch, read_at):
    computed(monkeypatch, read_at + timedelta(days=60))  # after read_at: one by one
    expected = views(world, read_at)
    computed(monkeypatch, NOW - timedelta(hours=1))
    for name, frame in views(world, read_at).items():
        pd.testing.assert_frame_equal(frame, expected[name], check_dtype=False, obj=name)


def test_a_task_change_recomputes_the_reading_as_of_then(world, six, monkeypatch):
    o6 = six.opportunities[5]
    monkeypatch.setattr(analytics_facts, "computed_at", lambda: NOW)
    email = tasks(o6.id)["thank_you_email"]
    complete_task(task=email, actor=world.client_user, completed_at=NOW, now=NOW)
    db.session.commit()
    fact = db.session.scalar(select(OpportunityFact).where(OpportunityFact.opportunity_id == o6.id))
    assert fact.updated_at == NOW
    # notes and the email on time, 6 tasks pending: 2 of 2 counted; the band is high.
    assert unpack(fact.pair_compliance_asof) == (2, 2)
    assert fact.band_asof == "high"
    assert fact.next_open_due > NOW
    tiles = data.headline(world.coach, now=NOW).set_index("measure")
    assert tiles.loc["compliance", ["num", "den"]].tolist() == [30, 44]
    assert data._live_rows(data.scope_clauses(world.coach), NOW).empty


def test_refreshing_stale_rows_makes_them_current_and_changes_no_number(world, six, monkeypatch):
    computed(monkeypatch, NOW - timedelta(hours=1))
    later = NOW + timedelta(days=2)
    where = data.scope_clauses(world.coach)
    expected = views(world, later)
    assert len(data._live_rows(where, later)) == 1  # O6: its first deadlines have passed
    assert analytics_facts.refresh_stale(later) == 1
    assert data._live_rows(where, later).empty
    assert analytics_facts.refresh_stale(later) == 0  # nothing left to do
    for name, frame in views(world, later).items():
        pd.testing.assert_frame_equal(frame, expected[name], check_dtype=False, obj=name)


def test_a_refresh_never_overwrites_a_row_the_portal_rewrote_meanwhile(world, six, monkeypatch):
    computed(monkeypatch, NOW - timedelta(hours=1))
    later = NOW + timedelta(days=2)
    stale = db.session.execute(
        select(OpportunityFact.opportunity_id, OpportunityFact.updated_at).where(
            analytics_facts.stale_clause(later)
        )
    ).one()
    # The refresh read the row at one updated_at; the portal rewrote it since (a task changed).
    seen = {stale.opportunity_id: stale.updated_at - timedelta(minutes=5)}
    connection = db.session.connection()
    assert analytics_facts._update_in_place(connection, seen, later) == 0
    fact = db.session.get(OpportunityFact, stale.opportunity_id)
    db.session.refresh(fact)
    assert fact.updated_at == stale.updated_at  # left as the portal wrote it
    assert analytics_facts._update_in_place(connection, dict([stale]), later) == 1


def test_the_coaches_figure_from_its_two_measures_equals_the_one_from_all(world, six):
    full = data.by_coach(world.admin, now=NOW)
    narrow = data.by_coach(world.admin, now=NOW, measures=figures.COACH_MEASURES)
    assert figures.coaches_figure(narrow) == figures.coaches_figure(full)
    assert callbacks.coach_outputs(world.admin, *[None] * 6, now=NOW) == figures.coaches_figure(
        full
    )
    for column in narrow.columns:
        pd.testing.assert_series_equal(narrow[column], full[column], check_dtype=False)
