"""Property-based checks of the schedule, the statuses and compliance."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from coach_app.playbook import (
    InterviewFacts,
    Rule,
    Status,
    compliance,
    end_of_local_day,
    local_date,
    schedule_interview,
    start_of_local_day,
    task_status,
    wilson_interval,
    zone,
)

UTC = UTC
SECOND = timedelta(seconds=1)
# No example database: test runs must not write files into the repository.
PROFILE = settings(database=None, deadline=None, max_examples=300)

instants = st.datetimes(
    min_value=datetime(1975, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)
dates = st.dates(min_value=date(1975, 1, 1), max_value=date(2037, 12, 31))
zones = st.timezone_keys(allow_prefix=False)
statuses = st.lists(st.sampled_from(list(Status)), max_size=40)


@st.composite
def interviews(draw) -> InterviewFacts:
    start = draw(instants)
    tz = draw(zones)
    duration = draw(st.integers(min_value=1, max_value=24 * 60))
    facts = InterviewFacts(start_at=start, tz=tz, duration_minutes=duration)
    offset = draw(st.none() | st.integers(min_value=0, max_value=40))
    decision = None if offset is None else facts.local_day + timedelta(days=offset)
    return InterviewFacts(
        start_at=start,
        tz=tz,
        duration_minutes=duration,
        referral_count=draw(st.integers(min_value=0, max_value=3)),
        stated_decision_date=decision,
        is_latest_round=draw(st.booleans()),
        decision_known=draw(st.booleans()),
    )


@PROFILE
@given(interviews())
def test_every_deadline_is_after_the_interview_starts(facts):
    tasks = schedule_interview(facts)
    assert tasks
    for task in tasks:
        assert task.due_at.tzinfo == UTC
        assert task.due_at > facts.start_at
        if task.window_opens_at is not None:
            assert facts.start_at < task.window_opens_at <= task.due_at


@PROFILE
@given(interviews())
def test_same_day_rules_are_due_on_the_interviews_local_day(facts):
    tz = zone(facts.tz)
    for task in schedule_interview(facts):
        if task.rule in (Rule.NOTES, Rule.CONTACTS, Rule.NEXT_STEP):
            assert local_date(task.due_at, tz) == facts.local_day
            assert local_date(task.due_at + SECOND, tz) > facts.local_day


@PROFILE
@given(dates, zones)
def test_local_day_edges_are_the_first_and_last_second_of_the_date(day, tz_name):
    tz = zone(tz_name)
    start, end = start_of_local_day(day, tz), end_of_local_day(day, tz)
    assert local_date(start - SECOND, tz) < day < local_date(end + SECOND, tz)
    if local_date(start, tz) != day:
        # Only a date the zone skipped entirely has neither edge on it.
        assume(False)
    assert local_date(start, tz) == day == local_date(end, tz)
    assert start < end


@PROFILE
@given(instants, instants, instants, st.booleans())
def test_a_completed_task_is_never_missed_or_pending(due, completed, now, waived):
    status = task_status(due_at=due, completed_at=completed, waived=waived, now=now)
    assert status not in (Status.MISSED, Status.PENDING)


@PROFILE
@given(statuses)
def test_compliance_is_a_proportion_or_nothing(values):
    rate = compliance(values)
    if rate.value is None:
        assert rate.denominator == 0
        assert rate.display() == "—"
        return
    assert 0.0 <= rate.value <= 1.0
    low, high = rate.wilson()
    assert 0.0 <= low <= rate.value <= high <= 1.0


@PROFILE
@given(
    statuses,
    st.integers(min_value=1, max_value=20),
    st.sampled_from([Status.WAIVED, Status.PENDING]),
)
def test_waived_and_pending_tasks_never_change_compliance(values, extra, ignored):
    assert compliance([*values, *[ignored] * extra]) == compliance(values)
    assert compliance([ignored] * extra + values) == compliance(values)


@PROFILE
@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500))
def test_wilson_interval_contains_the_observed_rate(successes, extra):
    n = successes + extra
    interval = wilson_interval(successes, n)
    if n == 0:
        assert interval is None
    else:
        low, high = interval
        assert 0.0 <= low <= successes / n <= high <= 1.0
