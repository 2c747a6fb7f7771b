"""Deadlines for every rule, in the client's zone, across DST and the date line."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.playbook import (
    DEFAULT_DURATION_MINUTES,
    RULES,
    InterviewFacts,
    PlannedTask,
    PlaybookError,
    Rule,
    schedule_callback,
    schedule_check_in,
    schedule_interview,
    schedule_referral,
    schedule_rejection_thanks,
    validate_interview,
)

UTC = UTC
PER_ROUND = [
    Rule.NOTES,
    Rule.CONTACTS,
    Rule.NEXT_STEP,
    Rule.THANK_YOU_EMAIL,
    Rule.THANK_YOU_NOTE,
    Rule.INFO_GIFT,
    Rule.SECOND_INTERVIEW,
]


def at(tz: str, *args: int) -> datetime:
    """A local wall-clock time in tz, returned as UTC (what the portal stores)."""
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).isoformat()


def by_rule(tasks: list[PlannedTask]) -> dict[Rule, PlannedTask]:
    return {task.rule: task for task in tasks}


NY = "America/New_York"
BERLIN = "Europe/Berlin"


def test_one_interview_creates_every_rule_in_playbook_order():
    facts = InterviewFacts(start_at=at(NY, 2024, 5, 14, 14, 0), tz=NY, referral_count=2)
    tasks = schedule_interview(facts)
    assert [t.rule for t in tasks] == [*PER_ROUND, Rule.REFERRAL, Rule.REFERRAL, Rule.CHECK_IN]
    assert [t.referral_index for t in tasks if t.rule is Rule.REFERRAL] == [0, 1]
    assert all(t.referral_index is None for t in tasks if t.rule is not Rule.REFERRAL)
    assert all(t.due_at.tzinfo == UTC for t in tasks)


def test_deadlines_of_an_ordinary_afternoon_interview():
    facts = InterviewFacts(start_at=at(NY, 2024, 5, 14, 14, 0), tz=NY, referral_count=1)
    assert facts.end_at == at(NY, 2024, 5, 14, 15, 0)
    assert facts.local_day == date(2024, 5, 14)
    tasks = by_rule(schedule_interview(facts))
    for rule in (Rule.NOTES, Rule.CONTACTS, Rule.NEXT_STEP):
        assert local(tasks[rule].due_at, NY) == "2024-05-14T23:59:59-04:00"
    assert local(tasks[Rule.THANK_YOU_EMAIL].due_at, NY) == "2024-05-15T15:00:00-04:00"
    for rule in (Rule.THANK_YOU_NOTE, Rule.INFO_GIFT, Rule.SECOND_INTERVIEW):
        assert local(tasks[rule].due_at, NY) == "2024-05-15T23:59:59-04:00"
    assert local(tasks[Rule.REFERRAL].due_at, NY) == "2024-05-17T15:00:00-04:00"
    check_in = tasks[Rule.CHECK_IN]
    assert local(check_in.window_opens_at, NY) == "2024-05-21T00:00:00-04:00"
    assert local(check_in.due_at, NY) == "2024-05-24T23:59:59-04:00"
    assert all(tasks[r].window_opens_at is None for r in PER_ROUND)


def test_duration_defaults_to_60_minutes_and_none_means_default():
    assert DEFAULT_DURATION_MINUTES == 60
    start = at(BERLIN, 2024, 5, 14, 10, 0)
    assert InterviewFacts(start, BERLIN).end_at == start + timedelta(minutes=60)
    assert InterviewFacts(start, BERLIN, duration_minutes=None).end_at == start + timedelta(hours=1)
    assert InterviewFacts(start, BERLIN, duration_minutes=90).end_at == start + timedelta(hours=1.5)


def test_interview_ending_after_midnight_moves_day_zero_to_the_next_day():
    facts = InterviewFacts(start_at=at(BERLIN, 2024, 5, 14, 23, 30), tz=BERLIN)
    assert facts.local_day == date(2024, 5, 15)
    tasks = by_rule(schedule_interview(facts))
    assert local(tasks[Rule.NOTES].due_at, BERLIN) == "2024-05-15T23:59:59+02:00"
    assert local(tasks[Rule.THANK_YOU_NOTE].due_at, BERLIN) == "2024-05-16T23:59:59+02:00"
    assert local(tasks[Rule.THANK_YOU_EMAIL].due_at, BERLIN) == "2024-05-16T00:30:00+02:00"


def test_interview_ending_late_but_before_midnight_keeps_its_day():
    facts = InterviewFacts(start_at=at(BERLIN, 2024, 5, 14, 22, 30), tz=BERLIN)
    assert local(facts.end_at, BERLIN) == "2024-05-14T23:30:00+02:00"
    notes = by_rule(schedule_interview(facts))[Rule.NOTES]
    assert local(notes.due_at, BERLIN) == "2024-05-14T23:59:59+02:00"


@pytest.mark.parametrize(
    ("tz", "start", "day0", "day1", "email"),
    [
        # New York: DST starts 2024-03-10 02:00, ends 2024-11-03 02:00.
        (
            NY,
            (2024, 3, 9, 11),
            "2024-03-09T23:59:59-05:00",
            "2024-03-10T23:59:59-04:00",
            "2024-03-10T13:00:00-04:00",
        ),
        (
            NY,
            (2024, 3, 10, 10),
            "2024-03-10T23:59:59-04:00",
            "2024-03-11T23:59:59-04:00",
            "2024-03-11T11:00:00-04:00",
        ),
        (
            NY,
            (2024, 11, 2, 11),
            "2024-11-02T23:59:59-04:00",
            "2024-11-03T23:59:59-05:00",
            "2024-11-03T11:00:00-05:00",
        ),
        (
            NY,
            (2024, 11, 3, 10),
            "2024-11-03T23:59:59-05:00",
            "2024-11-04T23:59:59-05:00",
            "2024-11-04T11:00:00-05:00",
        ),
        # Berlin: DST starts 2024-03-31 02:00, ends 2024-10-27 03:00.
        (
            BERLIN,
            (2024, 3, 30, 11),
            "2024-03-30T23:59:59+01:00",
            "2024-03-31T23:59:59+02:00",
            "2024-03-31T13:00:00+02:00",
        ),
        (
            BERLIN,
            (2024, 3, 31, 10),
            "2024-03-31T23:59:59+02:00",
            "2024-04-01T23:59:59+02:00",
            "2024-04-01T11:00:00+02:00",
        ),
        (
            BERLIN,
            (2024, 10, 26, 11),
            "2024-10-26T23:59:59+02:00",
            "2024-10-27T23:59:59+01:00",
            "2024-10-27T11:00:00+01:00",
        ),
        (
            BERLIN,
            (2024, 10, 27, 10),
            "2024-10-27T23:59:59+01:00",
            "2024-10-28T23:59:59+01:00",
            "2024-10-28T11:00:00+01:00",
        ),
    ],
)
def test_dst_changes_never_move_a_deadline_off_its_local_date(tz, start, day0, day1, email):
    facts = InterviewFacts(start_at=at(tz, *start), tz=tz)
    tasks = by_rule(schedule_interview(facts))
    assert local(tasks[Rule.NOTES].due_at, tz) == day0
    assert local(tasks[Rule.THANK_YOU_NOTE].due_at, tz) == day1
    # "+ 24 h" is elapsed time, so across a change the wall clock shows 23 or 25 hours later.
    assert local(tasks[Rule.THANK_YOU_EMAIL].due_at, tz) == email
    assert tasks[Rule.THANK_YOU_EMAIL].due_at - facts.end_at == timedelta(hours=24)


def test_interview_in_the_repeated_hour_of_fall_back():
    start = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ZoneInfo(NY)).astimezone(UTC)
    facts = InterviewFacts(start_at=start, tz=NY)
    assert local(facts.end_at, NY) == "2024-11-03T02:30:00-05:00"
    assert local(by_rule(schedule_interview(facts))[Rule.NOTES].due_at, NY) == (
        "2024-11-03T23:59:59-05:00"
    )


def test_check_in_window_spanning_a_dst_change_keeps_local_midnight_and_end_of_day():
    facts = InterviewFacts(start_at=at(NY, 2024, 3, 1, 10), tz=NY)
    check_in = schedule_check_in(facts)
    assert local(check_in.window_opens_at, NY) == "2024-03-08T00:00:00-05:00"
    assert local(check_in.due_at, NY) == "2024-03-11T23:59:59-04:00"


@pytest.mark.parametrize(
    ("tz", "start", "day0_local", "day0_utc"),
    [
        (
            "Pacific/Kiritimati",
            (2024, 6, 10, 9),
            "2024-06-10T23:59:59+14:00",
            datetime(2024, 6, 10, 9, 59, 59, tzinfo=UTC),
        ),
        (
            "Asia/Tokyo",
            (2024, 6, 10, 18),
            "2024-06-10T23:59:59+09:00",
            datetime(2024, 6, 10, 14, 59, 59, tzinfo=UTC),
        ),
        (
            "Pacific/Pago_Pago",
            (2024, 6, 10, 16),
            "2024-06-10T23:59:59-11:00",
            datetime(2024, 6, 11, 10, 59, 59, tzinfo=UTC),
        ),
        (
            "Pacific/Honolulu",
            (2024, 6, 10, 20),
            "2024-06-10T23:59:59-10:00",
            datetime(2024, 6, 11, 9, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_far_east_and_far_west_use_the_local_date_not_the_utc_date(tz, start, day0_local, day0_utc):
    facts = InterviewFacts(start_at=at(tz, *start), tz=tz)
    assert facts.local_day == date(2024, 6, 10)
    notes = by_rule(schedule_interview(facts))[Rule.NOTES]
    assert local(notes.due_at, tz) == day0_local
    assert notes.due_at == day0_utc


def test_same_utc_moment_gives_different_day_zero_either_side_of_the_date_line():
    start = datetime(2024, 6, 10, 20, 0, tzinfo=UTC)
    east = InterviewFacts(start_at=start, tz="Pacific/Kiritimati")
    west = InterviewFacts(start_at=start, tz="Pacific/Pago_Pago")
    assert east.local_day == date(2024, 6, 11)
    assert west.local_day == date(2024, 6, 10)


class TestCheckIn:
    facts = InterviewFacts(start_at=at(BERLIN, 2024, 5, 14, 14), tz=BERLIN)  # day 0: 14 May

    def with_decision(self, days_after: int) -> PlannedTask:
        decision = date(2024, 5, 14) + timedelta(days=days_after)
        facts = InterviewFacts(self.facts.start_at, BERLIN, stated_decision_date=decision)
        return schedule_check_in(facts)

    def test_no_stated_date_opens_day_7_due_day_10(self):
        task = schedule_check_in(self.facts)
        assert task.rule is Rule.CHECK_IN
        assert local(task.window_opens_at, BERLIN) == "2024-05-21T00:00:00+02:00"
        assert local(task.due_at, BERLIN) == "2024-05-24T23:59:59+02:00"

    @pytest.mark.parametrize("days_after", [0, 3, 6])
    def test_decision_before_day_7_moves_the_check_in_to_the_day_after(self, days_after):
        task = self.with_decision(days_after)
        day = (date(2024, 5, 14) + timedelta(days=days_after + 1)).isoformat()
        assert local(task.window_opens_at, BERLIN) == f"{day}T00:00:00+02:00"
        assert local(task.due_at, BERLIN) == f"{day}T23:59:59+02:00"

    @pytest.mark.parametrize("days_after", [7, 8, 10, 21])
    def test_decision_on_or_after_day_7_keeps_the_usual_window(self, days_after):
        assert self.with_decision(days_after) == schedule_check_in(self.facts)

    def test_only_the_latest_round_without_a_decision_gets_a_check_in(self):
        first = InterviewFacts(self.facts.start_at, BERLIN, is_latest_round=False)
        second = InterviewFacts(self.facts.start_at + timedelta(days=5), BERLIN)
        decided = InterviewFacts(second.start_at, BERLIN, decision_known=True)
        assert Rule.CHECK_IN not in by_rule(schedule_interview(first))
        assert Rule.CHECK_IN in by_rule(schedule_interview(second))
        assert Rule.CHECK_IN not in by_rule(schedule_interview(decided))
        # Earlier rounds still get their own per-round work.
        assert [t.rule for t in schedule_interview(first)] == PER_ROUND


def test_referrals_one_task_each_due_72_hours_after_the_end():
    facts = InterviewFacts(start_at=at(NY, 2024, 3, 8, 16), tz=NY, referral_count=3)
    referrals = [t for t in schedule_interview(facts) if t.rule is Rule.REFERRAL]
    assert [t.referral_index for t in referrals] == [0, 1, 2]
    # 72 elapsed hours across the DST start: the wall clock reads 18:00, not 17:00.
    assert {local(t.due_at, NY) for t in referrals} == {"2024-03-11T18:00:00-04:00"}
    assert schedule_referral(facts, 5).referral_index == 5
    assert Rule.REFERRAL not in by_rule(schedule_interview(InterviewFacts(facts.start_at, NY)))


def test_referral_index_must_be_non_negative():
    facts = InterviewFacts(start_at=at(NY, 2024, 3, 8, 16), tz=NY, referral_count=1)
    with pytest.raises(PlaybookError, match="referral index"):
        schedule_referral(facts, -1)


class TestCallback:
    def test_due_at_the_end_of_the_suggested_date(self):
        task = schedule_callback(date(2024, 6, 20), NY, asked_at=at(NY, 2024, 6, 14, 10))
        assert task.rule is Rule.CALLBACK
        assert local(task.due_at, NY) == "2024-06-20T23:59:59-04:00"
        assert local(task.window_opens_at, NY) == "2024-06-20T00:00:00-04:00"

    def test_same_day_is_allowed_using_the_local_date_of_the_check_in(self):
        # 03:00 UTC on 11 June is still 10 June in Pago Pago.
        asked = datetime(2024, 6, 11, 3, 0, tzinfo=UTC)
        task = schedule_callback(date(2024, 6, 10), "Pacific/Pago_Pago", asked_at=asked)
        assert local(task.due_at, "Pacific/Pago_Pago") == "2024-06-10T23:59:59-11:00"

    def test_date_before_the_check_in_is_refused(self):
        asked = datetime(2024, 6, 11, 3, 0, tzinfo=UTC)
        with pytest.raises(PlaybookError, match="before the day the check-in"):
            schedule_callback(date(2024, 6, 10), "Asia/Tokyo", asked_at=asked)

    def test_bad_zone_and_naive_time_are_refused(self):
        with pytest.raises(PlaybookError, match="Unknown time zone"):
            schedule_callback(date(2024, 6, 20), "Nowhere", asked_at=at(NY, 2024, 6, 14, 10))
        with pytest.raises(ValueError):
            schedule_callback(date(2024, 6, 20), NY, asked_at=datetime(2024, 6, 14, 10))


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Pacific/Pago_Pago", "2024-06-11T23:59:59-11:00"),  # recorded 10 June, 16:00 local
        ("Asia/Tokyo", "2024-06-12T23:59:59+09:00"),  # recorded 11 June, 12:00 local
        ("Pacific/Kiritimati", "2024-06-12T23:59:59+14:00"),  # recorded 11 June, 17:00 local
    ],
)
def test_rejection_thanks_due_end_of_next_local_day(tz, expected):
    recorded = datetime(2024, 6, 11, 3, 0, tzinfo=UTC)
    task = schedule_rejection_thanks(recorded, tz)
    assert task.rule is Rule.REJECTION_THANKS
    assert local(task.due_at, tz) == expected


def test_rejection_recorded_just_before_midnight_still_gets_the_whole_next_day():
    task = schedule_rejection_thanks(at(BERLIN, 2024, 10, 26, 23, 59), BERLIN)
    assert local(task.due_at, BERLIN) == "2024-10-27T23:59:59+01:00"


class TestBadInput:
    start = at(NY, 2024, 5, 14, 14)

    @pytest.mark.parametrize(
        ("facts", "message"),
        [
            (InterviewFacts(datetime(2024, 5, 14, 14), NY), "no time zone"),
            (InterviewFacts(start, "Atlantis/Capital"), "Unknown time zone: Atlantis/Capital"),
            (InterviewFacts(start, ""), "Unknown time zone"),
            (InterviewFacts(start, NY, duration_minutes=-30), "at least one minute"),
            (InterviewFacts(start, NY, duration_minutes=0), "at least one minute"),
            (InterviewFacts(start, NY, duration_minutes=24 * 60 + 1), "longer than 24 hours"),
            (InterviewFacts(start, NY, duration_minutes=45.5), "whole number of minutes"),
            (InterviewFacts(start, NY, duration_minutes=True), "whole number of minutes"),
            (InterviewFacts(start, NY, referral_count=-1), "can't be negative"),
            (
                InterviewFacts(start, NY, stated_decision_date=date(2024, 5, 13)),
                r"stated decision date \(2024-05-13\) is before the interview \(2024-05-14\)",
            ),
            (
                InterviewFacts(start, NY, stated_decision_date=datetime(2024, 5, 20, tzinfo=UTC)),
                "calendar date",
            ),
        ],
    )
    def test_bad_facts_raise_playbook_error_everywhere(self, facts, message):
        for call in (validate_interview, schedule_interview, schedule_check_in):
            with pytest.raises(PlaybookError, match=message):
                call(facts)
        with pytest.raises(PlaybookError, match=message):
            schedule_referral(facts, 0)

    def test_good_facts_validate(self):
        validate_interview(InterviewFacts(self.start, NY, duration_minutes=24 * 60))
        validate_interview(InterviewFacts(self.start, NY, stated_decision_date=date(2024, 5, 14)))


def test_rules_registry_matches_the_enum():
    assert list(RULES) == list(Rule)
    assert all(spec.id is rule for rule, spec in RULES.items())
    per_interview = {rule for rule, spec in RULES.items() if spec.per_interview}
    assert per_interview == {*PER_ROUND, Rule.REFERRAL}
