"""The per-client read model: kept by every write, folded by the job, exact when stale."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import ClientSummary, FollowUpTask
from coach_app.services import deletion, followup, pipeline, profile, read_model, roster
from coach_app.services.summary_sql import compute_summaries
from tests.factories import interview_for

SUMMARIES = ClientSummary.__table__


def _stored(client_id) -> dict | None:
    db.session.expire_all()
    row = db.session.execute(select(SUMMARIES).where(SUMMARIES.c.client_id == client_id))
    found = row.mappings().one_or_none()
    return dict(found) if found else None


def assert_current(client_id) -> dict:
    """The stored row is what the tasks give at its as_of (so the last write updated it)."""
    row = _stored(client_id)
    assert row is not None
    live = compute_summaries(db.session.connection(), [client_id], row["as_of"])
    assert live == [row]
    return row


def _task(interview, rule):
    return db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == rule
        )
    )


def _days_ago(days):
    return datetime.now(UTC) - timedelta(days=days)


def test_every_write_path_keeps_the_summary(app, world):
    client = world.profile.id
    first = assert_current(client)
    assert (first["overdue"], first["counted"], first["stages"]) == (0, 0, [])
    assert first["timezone"] == "America/New_York" and first["coach_id"] == world.coach.id

    interview = interview_for(world.profile, world.client_user, start_at=_days_ago(3))
    logged = assert_current(client)
    assert logged["overdue"] > 0 and logged["stages"] == [[1, 1]]

    notes = _task(interview, "notes")
    followup.complete_task(task=notes, actor=world.client_user, completed_at=_days_ago(2.9))
    db.session.commit()
    done = assert_current(client)
    assert done["overdue"] == logged["overdue"] - 1 and done["on_time"] == 1

    followup.undo_completion(task=notes, actor=world.coach)
    db.session.commit()
    assert assert_current(client)["overdue"] == logged["overdue"]

    email = _task(interview, "thank_you_email")
    followup.waive_task(task=email, actor=world.coach, reason="no address")
    db.session.commit()
    assert assert_current(client)["overdue"] == logged["overdue"] - 1
    followup.unwaive_task(task=email, actor=world.coach)
    db.session.commit()
    assert assert_current(client)["overdue"] == logged["overdue"]

    # A decision waives what it made moot and adds the thanks task.
    followup.record_outcome(
        opportunity=interview.opportunity, outcome="rejected", actor=world.coach
    )
    db.session.commit()
    decided = assert_current(client)
    assert decided["decided"] == [["rejected", 1]] and decided["stages"] == []
    assert decided["next_rule"] == "rejection_thanks"

    second = interview_for(world.profile, world.client_user, start_at=_days_ago(1), company="B")
    assert assert_current(client)["stages"] == [[1, 1]]
    followup.reschedule_interview(
        interview=second, actor=world.coach, start_at=_days_ago(12), now=datetime.now(UTC)
    )
    db.session.commit()
    moved = assert_current(client)
    deletion.delete_interview(interview=second, actor=world.coach)
    db.session.commit()
    assert assert_current(client)["stages"] != moved["stages"]
    deletion.delete_opportunity(opportunity=interview.opportunity, actor=world.coach)
    db.session.commit()
    gone = assert_current(client)
    assert (gone["overdue"], gone["counted"], gone["decided"]) == (0, 0, [])


def test_coach_archive_and_zone_changes_move_the_summary(app, world):
    client = world.profile.id
    roster.move_client(client=world.profile, coach_id=world.coach2.id, actor=world.admin)
    db.session.commit()
    assert assert_current(client)["coach_id"] == world.coach2.id
    roster.archive_client(client=world.profile, actor=world.admin)
    db.session.commit()
    assert assert_current(client)["archived"] is True
    roster.restore_client(client=world.profile, actor=world.admin)
    db.session.commit()
    assert assert_current(client)["archived"] is False
    # The client's own zone, then (without one) the organisation's.
    world.client_user.timezone = "Asia/Tokyo"
    db.session.commit()
    assert _stored(client)["timezone"] == "Asia/Tokyo"
    world.client_user.timezone = None
    db.session.commit()
    assert _stored(client)["timezone"] == "America/New_York"
    world.org.timezone = "Europe/Paris"
    db.session.commit()
    assert _stored(client)["timezone"] == "Europe/Paris"
    assert _stored(world.profile2.id)["timezone"] == "America/New_York"  # its own zone


def test_a_rolled_back_write_leaves_the_summary(app, world):
    before = _stored(world.profile.id)
    interview_for(world.profile, world.client_user, start_at=_days_ago(3), commit=False)
    db.session.rollback()
    assert _stored(world.profile.id) == before


def _pages(user, now):
    """Every sort, both directions, and the overdue filter, plus the exceptions queue."""
    pages = []
    for sort in pipeline.SORTS:
        for descending in (False, True):
            query = pipeline.PipelineQuery(sort=sort, descending=descending)
            pages.append(pipeline.pipeline(user, query, per_page=3, now=now))
    overdue = pipeline.PipelineQuery(sort="next_due", overdue_only=True)
    pages.append(pipeline.pipeline(user, overdue, per_page=50, now=now))
    return pages, pipeline.exceptions(user, now=now)


def _history(world):
    """Clients with deadlines passing over the next days, and tasks leaving the window."""
    _user, third = world.client_of(world.coach, "third@acme.example", "Tess", "Asia/Tokyo")
    db.session.commit()
    old = interview_for(world.profile, world.client_user, start_at=_days_ago(29.5))
    followup.complete_task(
        task=_task(old, "notes"), actor=world.client_user, completed_at=_days_ago(29.4)
    )
    interview_for(world.profile, world.client_user, start_at=_days_ago(0.2), company="New")
    recent = interview_for(third, world.coach, start_at=_days_ago(2))
    followup.complete_task(
        task=_task(recent, "thank_you_email"), actor=world.coach, completed_at=_days_ago(1.9)
    )
    db.session.commit()
    return third


@pytest.mark.parametrize("days", [0.5, 1, 3, 31])
def test_stale_rows_give_the_same_figures_as_folded_ones(app, world, days):
    _history(world)
    later = datetime.now(UTC) + timedelta(days=days)
    stale = db.session.scalars(
        select(SUMMARIES.c.client_id).where(SUMMARIES.c.fresh_until <= later)
    ).all()
    assert stale  # the fold job is "stopped": deadlines passed since the rows were written
    before = _pages(world.coach, later), _pages(world.admin, later)
    assert read_model.fold_summaries(later) == len(stale)
    after = _pages(world.coach, later), _pages(world.admin, later)
    for was, now_is in zip(before, after, strict=True):
        for page_before, page_after in zip(was[0], now_is[0], strict=True):
            assert page_before == page_after
        assert was[1] == now_is[1]
    assert read_model.fold_summaries(later) == 0  # idempotent: nothing left to fold
    for client_id in stale:
        row = assert_current(client_id)
        assert row["as_of"] == later and (row["fresh_until"] is None or row["fresh_until"] > later)


def test_a_request_before_the_rows_as_of_is_computed_live(app, world):
    _history(world)
    earlier = datetime.now(UTC) - timedelta(days=2)
    pages = _pages(world.coach, earlier)
    read_model.fold_summaries(datetime.now(UTC) + timedelta(days=40))
    assert _pages(world.coach, earlier) == pages


def test_the_fold_loses_to_a_portal_write_that_got_there_first(app, world):
    interview = interview_for(world.profile, world.client_user, start_at=_days_ago(0.1))
    later = datetime.now(UTC) + timedelta(days=2)
    seen = {world.profile.id: _stored(world.profile.id)["as_of"]}
    # A portal write lands between the fold's read and its update.
    followup.complete_task(task=_task(interview, "notes"), actor=world.client_user)
    db.session.commit()
    written = _stored(world.profile.id)
    assert read_model._replace_if_unchanged(db.session.connection(), seen, later) == 0
    db.session.commit()
    assert _stored(world.profile.id) == written
    # The next run folds it from the row the portal wrote.
    assert read_model.fold_summaries(later) == 1
    assert _stored(world.profile.id)["as_of"] == later


def test_missing_rows_are_computed_live_until_rebuilt(app, world):
    with read_model.paused():
        interview_for(world.profile, world.client_user, start_at=_days_ago(3))
    now = datetime.now(UTC)
    db.session.execute(SUMMARIES.delete())
    db.session.commit()
    pages = _pages(world.coach, now)[0]
    assert pages[0].rows[0].overdue > 0
    assert read_model.rebuild_read_model() == 2
    db.session.commit()
    assert _pages(world.coach, now)[0] == pages
    assert_current(world.profile.id)


def test_the_rebuild_command(app, world):
    db.session.execute(SUMMARIES.delete())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rebuild-read-model"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the read model for 2 clients." in result.output
    assert_current(world.profile.id) and assert_current(world.profile2.id)


def test_the_fold_job_runs_from_the_worker(app, world, monkeypatch):
    from workers import jobs

    interview_for(world.profile, world.client_user, start_at=_days_ago(0.1))
    # The job's own app would open a second connection; this test's app is the same config.
    monkeypatch.setattr(jobs, "app_context", app.app_context)
    later = datetime.now(UTC) + timedelta(days=2)
    assert jobs.fold_summaries_job(later.isoformat()) == 1
    assert jobs.fold_summaries_job(later.isoformat()) == 0


def test_profile_zone_change_through_the_service(app, world):
    data = profile.ProfileInput(name=world.client_user.name, timezone="Asia/Tokyo")
    profile.update_profile(user=world.client_user, data=data)
    db.session.commit()
    assert _stored(world.profile.id)["timezone"] == "Asia/Tokyo"


def test_cron_folds_the_summaries_every_minute(monkeypatch):
    from tests.test_reminders_schedule import load_schedule

    monkeypatch.delenv("SWEEP_INTERVAL_SECONDS", raising=False)
    jobs = load_schedule(monkeypatch, RQ_QUEUE_PREFIX="acme")
    fold = jobs["workers.jobs.fold_summaries_job"]
    assert fold.queue_name == "acme-default" and fold.interval == 60
