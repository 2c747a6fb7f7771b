"""The dashboard rollups stay exact on every write path, and reads correct them to the moment.

After each write, the rollup table must equal a from-scratch sum of the facts that are
settled at the organisation's mark, and every view read through the rollups must equal the
same view read from the facts alone (no mark: the fallback of dashboards/data/rollups.py).
"""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, select, true

from coach_app.extensions import db
from coach_app.models import Interview, Opportunity
from coach_app.models.analytics import ROLLUP_COUNTERS, ROLLUP_KEYS
from coach_app.services import (
    analytics_facts,
    analytics_rollups,
    deletion,
    followup,
    history,
    roster,
)
from coach_app.services.analytics_rollups import MARKS, ROLLUPS, Deltas, fact_rows, in_rollup
from dashboards import data
from dashboards.data import rollups as rollup_reads
from tests.dashboard_fixtures import build_six, tasks
from tests.factories import interview_for


def rollups_from_scratch() -> dict:
    """What the rollup table must hold: the facts settled at their organisation's mark."""
    connection = db.session.connection()
    marks = dict(connection.execute(select(MARKS.c.organization_id, MARKS.c.as_of)).all())
    expected = Deltas()
    for row in fact_rows(connection, true()):
        if in_rollup(row["open_due_max"], marks[row["organization_id"]]):
            expected.add(row, 1)
    return {k: v for k, v in expected.sums.items() if any(v)}


def stored_rollups() -> dict:
    """The rollup table's non-empty rows, by key."""
    width = len(ROLLUP_KEYS)
    query = select(*[ROLLUPS.c[k] for k in ROLLUP_KEYS], *[ROLLUPS.c[c] for c in ROLLUP_COUNTERS])
    return {
        tuple(r[:width]): list(r[width:])
        for r in db.session.connection().execute(query)
        if any(r[width:])
    }


def views(world, now) -> dict[str, pd.DataFrame]:
    """The admin's views (the ones the rollups answer), unfiltered and filtered by month."""
    frames = {}
    for name, filters in (
        ("all", None),
        ("months", data.Filters(start=now.date() - timedelta(days=400), end=now.date())),
        ("rounds", data.Filters(rounds="1")),
    ):
        for view, frame in data.overview(world.admin, filters, now).items():
            frames[f"{name}_{view}"] = frame
        frames[f"{name}_coaches"] = data.by_coach(world.admin, filters, now)
    return frames


def assert_exact(world, monkeypatch, *moments) -> None:
    """Rollups equal a from-scratch sum; views through them equal views from the facts."""
    db.session.commit()
    assert stored_rollups() == rollups_from_scratch()
    for now in moments or (datetime.now(UTC),):
        through_rollups = views(world, now)
        with monkeypatch.context() as patch:
            patch.setattr(rollup_reads, "mark_of", lambda *_args: None)
            from_facts = views(world, now)
        for name, frame in through_rollups.items():
            pd.testing.assert_frame_equal(frame, from_facts[name], check_dtype=False, obj=name)


@pytest.fixture
def six(world, monkeypatch):
    built = build_six(world.profile, world.client_user)
    analytics_facts.rebuild_facts()
    db.session.commit()
    return built


def test_rebuild_fills_the_rollups_and_the_marks(world, six, monkeypatch):
    assert db.session.scalar(select(MARKS.c.as_of).where(MARKS.c.organization_id == world.org.id))
    assert len(stored_rollups()) > 0
    assert_exact(world, monkeypatch)


def test_every_write_path_keeps_the_rollups_exact(world, six, monkeypatch):
    o1, o2, o3, o4, o5, o6 = six.opportunities
    actor = world.client_user
    # Complete a missed task (late), and undo a completion.
    followup.complete_task(task=tasks(o3.id)["info_gift"], actor=actor)
    assert_exact(world, monkeypatch)
    followup.undo_completion(task=tasks(o1.id)["notes"], actor=actor)
    assert_exact(world, monkeypatch)
    # Waive and un-waive.
    followup.waive_task(task=tasks(o5.id)["thank_you_note"], actor=world.coach, reason="n/a")
    assert_exact(world, monkeypatch)
    followup.unwaive_task(task=tasks(o5.id)["thank_you_note"], actor=world.coach)
    assert_exact(world, monkeypatch)
    # An outcome on an old opportunity (its row is in the rollups).
    followup.record_outcome(opportunity=o6, outcome="rejected", actor=actor)
    assert_exact(world, monkeypatch)
    # A new interview today: its tasks are not due yet, so its row is not in the rollups.
    fresh = interview_for(world.profile2, world.client2_user)
    assert_exact(world, monkeypatch)
    # Edit an old interview (its opportunity's industry too).
    first = db.session.scalars(select(Interview).where(Interview.opportunity_id == o2.id)).first()
    history.edit_interview(
        interview=first,
        data=history.InterviewChanges(
            start_at=first.start_at,
            duration_minutes=first.duration_minutes,
            timezone=first.timezone,
            format=first.format,
            company=o2.company,
            role=o2.role,
            industry="Logistics",
        ),
        actor=actor,
    )
    assert_exact(world, monkeypatch)
    # The client moves to another coach: the coach grain moves with them.
    roster.move_client(client=world.profile, coach_id=world.coach2.id, actor=world.admin)
    assert_exact(world, monkeypatch)
    # Deletions: a fresh round, then whole opportunities (their fact rows cascade away).
    deletion.delete_opportunity(opportunity=fresh.opportunity, actor=world.client2_user)
    assert_exact(world, monkeypatch)
    deletion.delete_opportunity(opportunity=o5, actor=actor)
    assert_exact(world, monkeypatch)
    assert db.session.get(Opportunity, o5.id) is None


def test_the_fold_stopped_for_a_day_changes_no_figure(world, six, monkeypatch):
    now = datetime.now(UTC)
    interview_for(world.profile2, world.client2_user, start_at=now - timedelta(hours=3))
    db.session.commit()
    later = [now + timedelta(days=d) for d in (1, 3, 30)]
    # The mark stays where the rebuild put it: every read adds the rows settled since.
    assert_exact(world, monkeypatch, now, *later)
    assert analytics_rollups.fold_rollups(now + timedelta(days=3)) >= 0
    folded = stored_rollups()
    assert analytics_rollups.fold_rollups(now + timedelta(days=3)) == 0  # idempotent
    assert stored_rollups() == folded
    # Reading before the mark takes the rows settled since out again.
    assert_exact(world, monkeypatch, now, *later)
    # The refresh job folds and refreshes; running it twice changes nothing.
    analytics_rollups.fold_rollups(now + timedelta(days=40))
    assert_exact(world, monkeypatch, now + timedelta(days=40), now)


def test_reads_without_any_mark_fall_back_to_the_facts(world, six, monkeypatch):
    expected = views(world, datetime.now(UTC))
    db.session.execute(delete(ROLLUPS))
    db.session.execute(delete(MARKS))
    db.session.commit()
    for name, frame in views(world, datetime.now(UTC)).items():
        pd.testing.assert_frame_equal(frame, expected[name], check_dtype=False, obj=name)
