"""The coach pipeline's queries: a fixed count whatever the roster, and the right figures."""

from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, event, select

from coach_app.extensions import db
from coach_app.models import ClientProfile, Cohort, CohortMember, FollowUpTask, Role
from coach_app.playbook import (
    InterviewFacts,
    NotesFact,
    Status,
    end_of_local_day,
    local_date,
    same_day_notes_rate,
    task_status,
)
from coach_app.playbook.measures_sql import (
    NOTES_CHECK,
    NOTES_SAME_DAY,
    notes_completed_same_day,
    notes_day_case,
)
from coach_app.services import followup, pipeline
from coach_app.services.accounts import create_user
from tests.conftest import PASSWORD
from tests.factories import interview_for


@contextmanager
def count_queries():
    """Count the SQL statements sent to the database inside the block."""
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _task(interview, rule):
    return db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == rule
        )
    )


def _add_clients(world, n, *, start=0):
    """n clients of `coach`, each with a varied follow-up history."""
    now = datetime.now(UTC)
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Roster cohort"))
    if cohort is None:
        cohort = Cohort(
            organization_id=world.org.id, organizer_id=world.organizer.id, name="Roster cohort"
        )
        db.session.add(cohort)
        db.session.flush()
    for i in range(start, start + n):
        user = create_user(
            organization_id=world.org.id,
            role=Role.CLIENT,
            email=f"bulk{i}@acme.example",
            name=f"Bulk Client {i:03d}",
            password=PASSWORD,
        )
        profile = ClientProfile(
            user_id=user.id, organization_id=world.org.id, coach_id=world.coach.id
        )
        db.session.add(profile)
        db.session.flush()
        if i % 2 == 0:
            db.session.add(CohortMember(cohort_id=cohort.id, client_id=profile.id))
        interview = interview_for(
            profile, world.coach, start_at=now - timedelta(days=2 + i % 5), commit=False
        )
        if i % 3 == 0:
            followup.complete_task(
                task=_task(interview, "notes"),
                actor=world.coach,
                completed_at=interview.start_at + timedelta(hours=2),
                now=now,
            )
        if i % 4 == 0:
            followup.record_outcome(
                opportunity=interview.opportunity, outcome="rejected", actor=world.coach, now=now
            )
        if i % 5 == 0:
            interview_for(profile, world.coach, company="Second Co", commit=False)
    db.session.commit()


def _pipeline_queries(world, query=None):
    query = query or pipeline.PipelineQuery()
    db.session.expire_all()
    db.session.refresh(world.coach)  # not counted: the signed-in user is loaded anyway
    with count_queries() as seen:
        page = pipeline.pipeline(world.coach, query, per_page=100)
    return len(seen), page


@pytest.mark.parametrize(
    "query",
    [
        pipeline.PipelineQuery(),
        pipeline.PipelineQuery(sort="compliance", descending=True),
        pipeline.PipelineQuery(sort="next_due", overdue_only=True),
        pipeline.PipelineQuery(sort="last_activity", q="client"),
    ],
    ids=["default", "compliance", "overdue-next-due", "search"],
)
def test_pipeline_query_count_does_not_grow_with_clients(app, world, query):
    _add_clients(world, 5)
    small, page = _pipeline_queries(world, query)
    assert page.rows
    _add_clients(world, 45, start=5)
    large, page = _pipeline_queries(world, query)
    assert page.total >= 45 or query.overdue_only
    assert small == large, (small, large)
    # page ids (with the count), page figures (with next due), stages; notes completed near
    # a local midnight add one more, only on pages that have some
    assert large <= 4


def test_pipeline_page_query_count_does_not_grow_with_clients(app, world, as_user):
    browser = as_user(world.coach)
    _add_clients(world, 5)

    def page_queries():
        db.session.expire_all()
        with count_queries() as seen:
            response = browser.get("/coach/?sort=overdue&dir=desc&per_page=100")
        assert response.status_code == 200
        return len(seen), response.get_data(as_text=True)

    small, _html = page_queries()
    _add_clients(world, 45, start=5)
    large, html = page_queries()
    assert "Bulk Client 049" in html
    assert small == large, (small, large)


def test_pipeline_figures_match_hand_computed_values(app, world):
    """One client, one interview three local days ago; every figure checked by hand."""
    now = datetime.now(UTC)
    tz = world.profile.timezone  # America/New_York
    day = local_date(now, tz) - timedelta(days=3)
    start = datetime.combine(day, time(10, 0)).replace(tzinfo=None)
    from zoneinfo import ZoneInfo

    start = start.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    interview = interview_for(world.profile, world.client_user, start_at=start, now=start)
    # notes: on time and on the interview's local date.
    followup.complete_task(
        task=_task(interview, "notes"),
        actor=world.client_user,
        completed_at=start + timedelta(hours=3),
        now=now,
    )
    # thank-you email: two days after the interview: late.
    followup.complete_task(
        task=_task(interview, "thank_you_email"),
        actor=world.client_user,
        completed_at=start + timedelta(days=2),
        now=now,
    )
    followup.waive_task(
        task=_task(interview, "second_interview"), actor=world.coach, reason="not offered"
    )
    # A second opportunity, rejected today: its thanks are due at the end of tomorrow.
    other = interview_for(
        world.profile, world.client_user, start_at=start, company="Beacon", now=start
    )
    followup.record_outcome(
        opportunity=other.opportunity, outcome="rejected", actor=world.client_user, now=now
    )
    db.session.commit()

    page = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=50, now=now)
    assert [r.name for r in page.rows] == ["Cleo"]
    row = page.rows[0]
    # Harbor: notes on time, email late, contacts/next step/note/gift missed, second interview
    # waived, check-in pending. Beacon: all seven round tasks missed, its check-in waived by
    # the decision (pending at the time), rejection thanks pending.
    assert (row.compliance.numerator, row.compliance.denominator) == (1, 6 + 7)
    assert (row.notes_rate.numerator, row.notes_rate.denominator) == (1, 2)
    assert row.overdue == 4 + 7
    thanks = db.session.scalar(select(FollowUpTask).where(FollowUpTask.rule == "rejection_thanks"))
    assert thanks.due_at == end_of_local_day(local_date(now, tz) + timedelta(days=1), tz)
    assert row.next_due.task_id == thanks.id
    assert row.next_due.title == "Thanks after a rejection"
    assert row.stages == [(1, 1)]
    assert row.decided == [("rejected", 1)]
    assert row.last_activity_at is not None
    assert row.compliance.display() == "8 %"


def test_pipeline_tenancy_and_archive(app, world):
    interview_for(world.profile2, world.client2_user)
    page = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=50)
    assert [r.name for r in page.rows] == ["Cleo"]
    admin_page = pipeline.pipeline(world.admin, pipeline.PipelineQuery(), per_page=50)
    assert sorted(r.name for r in admin_page.rows) == ["Cleo", "Kit"]
    only_coach2 = pipeline.pipeline(
        world.admin, pipeline.PipelineQuery(coach_id=world.coach2.id), per_page=50
    )
    assert [r.name for r in only_coach2.rows] == ["Kit"]
    foreign = pipeline.pipeline(world.foreign_admin, pipeline.PipelineQuery(), per_page=50)
    assert foreign.rows == []
    # The statements are built once per shape and shared: each user's ids are parameters.
    other_coach = pipeline.pipeline(world.coach2, pipeline.PipelineQuery(), per_page=50)
    assert [r.name for r in other_coach.rows] == ["Kit"]
    world.profile.archived_at = datetime.now(UTC)
    db.session.commit()
    assert pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=50).rows == []
    archived = pipeline.pipeline(
        world.coach, pipeline.PipelineQuery(archived="archived"), per_page=50
    )
    assert [r.name for r in archived.rows] == ["Cleo"]


def test_total_and_pages_come_with_the_page_even_past_the_end(app, world):
    _add_clients(world, 5)
    first = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=2)
    assert (first.total, first.pages, first.page, len(first.rows)) == (6, 3, 1, 2)
    past = pipeline.pipeline(world.coach, pipeline.PipelineQuery(page=40), per_page=2)
    assert (past.total, past.pages, past.page, len(past.rows)) == (6, 3, 3, 2)
    nobody = pipeline.pipeline(world.coach2, pipeline.PipelineQuery(q="zzz", page=3), per_page=2)
    assert (nobody.total, nobody.pages, nobody.page, nobody.rows) == (0, 1, 1, [])


def test_stages_follow_the_rounds_logged(app, world):
    first = interview_for(
        world.profile, world.coach, start_at=datetime.now(UTC) - timedelta(days=9)
    )
    opportunity = first.opportunity
    interview_for(world.profile, world.coach, opportunity=opportunity)
    interview_for(world.profile, world.coach, company="Other Co")
    assert opportunity.rounds == 2
    row = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=50).rows[0]
    assert row.stages == [(1, 1), (2, 1)]
    assert row.stages_text == "2 open: round 1, round 2"


def test_name_search_matches_like_wildcards_literally(app, world):
    world.profile.user.name = "Cleo 100%_sure/yes"
    db.session.commit()

    def names(q):
        page = pipeline.pipeline(world.coach, pipeline.PipelineQuery(q=q), per_page=50)
        return [r.name for r in page.rows]

    for q in ("100%_", "%_SURE/", "cleo", "/yes"):
        assert names(q) == ["Cleo 100%_sure/yes"], q
    for q in ("1_0", "C%o", "s_re", "/%"):  # each would match if read as a wildcard
        assert names(q) == [], q


def test_notes_rate_counts_the_local_date_not_just_on_time(app, world):
    """An interview across local midnight: notes written before midnight are on time but not
    on the interview's local date (the local day is the day the interview ENDS)."""
    tz = "America/New_York"
    from zoneinfo import ZoneInfo

    day = local_date(datetime.now(UTC), tz) - timedelta(days=5)
    start = datetime.combine(day, time(23, 30), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    interview = interview_for(world.profile, world.client_user, start_at=start, now=start)
    notes = _task(interview, "notes")
    followup.complete_task(
        task=notes,
        actor=world.client_user,
        completed_at=start + timedelta(minutes=20),  # 23:50, still the day before
        now=datetime.now(UTC),
    )
    db.session.commit()
    assert notes.completed_at <= notes.due_at  # on time...
    row = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=50).rows[0]
    assert (row.notes_rate.numerator, row.notes_rate.denominator) == (0, 1)  # ...not same day
    assert row.compliance.numerator >= 1


def test_notes_on_a_25_hour_local_day_are_decided_by_the_clients_zone(app, world):
    """The night clocks go back, the local day lasts 25 hours: notes written 24 h 15 min
    before the deadline are still on the interview's date, which only the zone can tell."""
    from zoneinfo import ZoneInfo

    tz = "America/New_York"
    world.client_user.timezone = tz
    start = datetime(2026, 11, 1, 0, 10, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    interview = interview_for(
        world.profile, world.client_user, start_at=start, duration_minutes=30, now=start
    )
    notes = _task(interview, "notes")
    done = start + timedelta(minutes=35)  # 00:45 local, the first of the two 01:00s to come
    followup.complete_task(task=notes, actor=world.client_user, completed_at=done, now=done)
    db.session.commit()
    assert timedelta(hours=24) < notes.due_at - notes.completed_at < timedelta(hours=25)
    later = datetime(2026, 11, 3, 12, tzinfo=UTC)
    page = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=50, now=later)
    row = next(r for r in page.rows if r.client_id == world.profile.id)
    assert (row.notes_rate.numerator, row.notes_rate.denominator) == (1, 1)


# --- the SQL split of the same-day notes measure agrees with the playbook -------------------

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia"]
DAYS = [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 4), date(2026, 11, 1), date(2026, 6, 1)]
START_HOURS = [0.5, 1.5, 9, 22.75, 23.5]
OFFSETS_MIN = [0, 20, 45, 90, 600, 1380, 1420, 1439, 1441, 1500, 2000, 3000]


def _cases():
    for tz in ZONES:
        from zoneinfo import ZoneInfo

        for day in DAYS:
            for hour in START_HOURS:
                wall = datetime.combine(day, time(0)) + timedelta(hours=hour)
                start = wall.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
                facts = InterviewFacts(start_at=start, tz=tz, duration_minutes=60)
                due = end_of_local_day(facts.local_day, tz)
                for minutes in OFFSETS_MIN:
                    yield tz, facts, due, start + timedelta(minutes=minutes)
                # Half a second after the deadline: late, yet still the same local date.
                yield tz, facts, due, due + timedelta(milliseconds=500)


def test_notes_day_case_agrees_with_the_playbook(app):
    meta = MetaData()
    table = Table(
        "tmp_notes_measure_check",
        meta,
        Column("id", Integer, primary_key=True),
        Column("due_at", DateTime),
        Column("completed_at", DateTime),
        Column("waived_reason", String(10)),
    )
    cases = list(_cases())
    now = datetime(2030, 1, 1, tzinfo=UTC)
    naive = lambda d: d.astimezone(UTC).replace(tzinfo=None)  # noqa: E731
    meta.drop_all(db.engine, checkfirst=True)
    meta.create_all(db.engine)
    try:
        with db.engine.begin() as connection:
            connection.execute(
                table.insert(),
                [
                    {"id": i, "due_at": naive(due), "completed_at": naive(done)}
                    for i, (_tz, _facts, due, done) in enumerate(cases)
                ],
            )
            expr = notes_day_case(
                due_at=table.c.due_at,
                completed_at=table.c.completed_at,
                waived_reason=table.c.waived_reason,
                now=now,
            )
            labels = dict(connection.execute(select(table.c.id, expr)).all())
    finally:
        meta.drop_all(db.engine)
    checks = 0
    for i, (tz, facts, due, done) in enumerate(cases):
        status = task_status(due_at=due, completed_at=done, waived=False, now=now)
        expected = same_day_notes_rate(
            [NotesFact(status, local_date(done, tz), facts.local_day)]
        ).numerator
        label = labels[i]
        if label == NOTES_CHECK:
            checks += 1
            got = notes_completed_same_day(due_at=due, completed_at=done, tz=tz)
        else:
            got = label == NOTES_SAME_DAY
        assert got == bool(expected), (tz, facts.start_at, done, label)
    # The exact check is the exception, not the rule.
    assert 0 < checks < len(cases) / 4


def test_pending_and_waived_notes_are_left_out(app):
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert task_status(due_at=now, completed_at=None, waived=False, now=now) is Status.PENDING
    meta = MetaData()
    table = Table(
        "tmp_notes_measure_left_out",
        meta,
        Column("id", Integer, primary_key=True),
        Column("due_at", DateTime),
        Column("completed_at", DateTime),
        Column("waived_reason", String(10), key="w"),
    )
    meta.drop_all(db.engine, checkfirst=True)
    meta.create_all(db.engine)
    try:
        with db.engine.begin() as connection:
            connection.execute(
                table.insert(),
                [
                    {"id": 1, "due_at": datetime(2026, 5, 2), "completed_at": None, "w": None},
                    {"id": 2, "due_at": datetime(2026, 4, 2), "completed_at": None, "w": "n/a"},
                ],
            )
            expr = notes_day_case(
                due_at=table.c.due_at,
                completed_at=table.c.completed_at,
                waived_reason=table.c.w,
                now=now,
            )
            labels = dict(connection.execute(select(table.c.id, expr)).all())
    finally:
        meta.drop_all(db.engine)
    assert labels == {1: None, 2: None}


def test_cohort_choices_hold_a_client_in_scope(world):
    """A coach's cohort filter offers the cohorts holding their clients; an admin's, every
    cohort with a member; an empty cohort or one of another coach's clients is not offered."""
    from tests.dashboard_fixtures import cohort

    mine = cohort(world, world.organizer, "Mine", world.profile)
    shared = cohort(world, world.organizer, "Shared", world.profile, world.profile2)
    theirs = cohort(world, world.organizer, "Theirs", world.profile2)
    cohort(world, world.organizer, "Empty")
    assert pipeline.cohort_choices(world.coach) == [(mine.id, "Mine"), (shared.id, "Shared")]
    assert pipeline.cohort_choices(world.admin) == [
        (mine.id, "Mine"),
        (shared.id, "Shared"),
        (theirs.id, "Theirs"),
    ]
    assert pipeline.cohort_choices(world.foreign_admin) == []
