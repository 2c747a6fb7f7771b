"""The pure reminder policy: quiet hours, time zones, DST days, deadlines, snoozes, overrides.

Times in the tables are local wall times in the row's zone; the assertions convert the
policy's UTC output back to that zone, so an hour lost or gained at a DST change shows up.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.playbook import InterviewFacts, schedule_interview
from coach_app.playbook import reminders as policy

NY = "America/New_York"
BERLIN = "Europe/Berlin"
TOKYO = "Asia/Tokyo"
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11


def local(tz: str, text: str) -> datetime:
    """'2026-06-10 13:00' in `tz` as an aware UTC datetime (fold=0 for ambiguous times)."""
    naive = datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def show(tz: str, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def plan(tz, start, rule, *, duration=60, now=None, **kwargs):
    facts = InterviewFacts(start_at=local(tz, start), tz=tz, duration_minutes=duration)
    task = next(p for p in schedule_interview(facts) if p.rule.value == rule)
    times = policy.reminder_times(
        rule=rule,
        due_at=task.due_at,
        interview_end_at=facts.end_at,
        tz=tz,
        now=now or facts.start_at,
        **kwargs,
    )
    return [(kind, show(tz, moment)) for kind, moment in times]


# zone, interview start (local), rule, expected [(kind, local time)]
TASK_CASES = [
    pytest.param(
        NY,
        "2026-06-10 10:00",
        "notes",
        [
            ("nudge", "2026-06-10 13:00 EDT"),
            # 21:59:59 is quiet, 08:00 next day is past the deadline: the evening before.
            ("due_soon", "2026-06-10 20:00 EDT"),
            ("overdue", "2026-06-11 09:00 EDT"),
        ],
        id="ny-same-day-notes",
    ),
    pytest.param(
        NY,
        "2026-06-10 10:00",
        "thank_you_email",
        # Due 11:00 next day: due_soon (09:00) and due_morning (09:00) clash; urgency wins.
        [("due_soon", "2026-06-11 09:00 EDT"), ("overdue", "2026-06-12 09:00 EDT")],
        id="ny-thank-you-email-clash",
    ),
    pytest.param(
        NY,
        "2026-06-10 10:00",
        "thank_you_note",
        [
            ("due_morning", "2026-06-11 09:00 EDT"),
            ("due_soon", "2026-06-11 20:00 EDT"),
            ("overdue", "2026-06-12 09:00 EDT"),
        ],
        id="ny-next-day-note",
    ),
    pytest.param(
        NY,
        "2026-06-10 19:30",
        "notes",
        # The nudge (22:30) is quiet and 08:00 is past the deadline: dropped. The evening slot
        # (20:00) is before the interview ended (20:30): dropped. Only the overdue remains.
        [("overdue", "2026-06-11 09:00 EDT")],
        id="ny-late-interview",
    ),
    pytest.param(
        NY,
        "2026-10-31 18:30",
        "thank_you_email",
        # +24 h elapsed across the fall-back night lands at 18:30 EST, so due_soon is 16:30.
        [
            ("due_morning", "2026-11-01 09:00 EST"),
            ("due_soon", "2026-11-01 16:30 EST"),
            ("overdue", "2026-11-02 09:00 EST"),
        ],
        id="ny-dst-end-elapsed-24h",
    ),
    pytest.param(
        NY,
        "2026-03-07 18:30",
        "thank_you_email",
        [
            ("due_morning", "2026-03-08 09:00 EDT"),
            ("due_soon", "2026-03-08 18:30 EDT"),
            ("overdue", "2026-03-09 09:00 EDT"),
        ],
        id="ny-dst-start-elapsed-24h",
    ),
    pytest.param(
        BERLIN,
        "2026-03-29 00:30",
        "notes",
        # Ends 01:30 CET; +2 h elapsed is 04:30 CEST (the clock jumped): quiet, so 08:00.
        [
            ("nudge", "2026-03-29 08:00 CEST"),
            ("due_morning", "2026-03-29 09:00 CEST"),
            ("due_soon", "2026-03-29 20:00 CEST"),
            ("overdue", "2026-03-30 09:00 CEST"),
        ],
        id="berlin-dst-start-night",
    ),
    pytest.param(
        BERLIN,
        "2026-10-25 00:00",
        "notes",
        # Ends 01:00 CEST; +2 h elapsed is 02:00 CET (after the fall back): quiet, so 08:00.
        [
            ("nudge", "2026-10-25 08:00 CET"),
            ("due_morning", "2026-10-25 09:00 CET"),
            ("due_soon", "2026-10-25 20:00 CET"),
            ("overdue", "2026-10-26 09:00 CET"),
        ],
        id="berlin-dst-end-night",
    ),
    pytest.param(
        TOKYO,
        "2026-06-10 07:00",
        "notes",
        [
            ("due_morning", "2026-06-10 09:00 JST"),
            ("nudge", "2026-06-10 10:00 JST"),
            ("due_soon", "2026-06-10 20:00 JST"),
            ("overdue", "2026-06-11 09:00 JST"),
        ],
        id="tokyo-early-interview",
    ),
    pytest.param(
        KIRITIMATI,
        "2026-06-10 16:00",
        "notes",
        [
            ("nudge", "2026-06-10 19:00 +14"),
            ("due_soon", "2026-06-10 20:00 +14"),
            ("overdue", "2026-06-11 09:00 +14"),
        ],
        id="kiritimati-utc+14",
    ),
    pytest.param(
        PAGO_PAGO,
        "2026-06-10 16:00",
        "notes",
        [
            ("nudge", "2026-06-10 19:00 SST"),
            ("due_soon", "2026-06-10 20:00 SST"),
            ("overdue", "2026-06-11 09:00 SST"),
        ],
        id="pago-pago-utc-11",
    ),
    pytest.param(
        PAGO_PAGO,
        "2026-06-10 22:30",
        "thank_you_email",
        # Due 23:30 next day; due_soon 21:30 is quiet and 08:00 the day after is too late,
        # so it moves to 20:00 that evening.
        [("due_morning", "2026-06-11 09:00 SST"), ("due_soon", "2026-06-11 20:00 SST")]
        + [("overdue", "2026-06-12 09:00 SST")],
        id="pago-pago-late-thank-you",
    ),
]


@pytest.mark.parametrize("tz,start,rule,expected", TASK_CASES)
def test_reminder_times_across_zones_and_dst(tz, start, rule, expected):
    assert plan(tz, start, rule) == expected


def test_kiritimati_overdue_falls_on_the_previous_utc_day():
    times = dict(plan(KIRITIMATI, "2026-06-10 16:00", "notes"))
    facts = InterviewFacts(start_at=local(KIRITIMATI, "2026-06-10 16:00"), tz=KIRITIMATI)
    task = next(p for p in schedule_interview(facts) if p.rule.value == "notes")
    overdue = dict(
        policy.reminder_times(
            rule="notes",
            due_at=task.due_at,
            interview_end_at=facts.end_at,
            tz=KIRITIMATI,
            now=facts.start_at,
        )
    )["overdue"]
    assert times["overdue"] == "2026-06-11 09:00 +14"
    assert overdue == datetime(2026, 6, 10, 19, 0, tzinfo=UTC)


# zone, local moment, expected local moment after quiet hours
QUIET_CASES = [
    (NY, "2026-06-10 20:59", "2026-06-10 20:59 EDT"),
    (NY, "2026-06-10 21:00", "2026-06-11 08:00 EDT"),
    (NY, "2026-06-10 03:00", "2026-06-10 08:00 EDT"),
    (NY, "2026-06-10 07:59:59", "2026-06-10 08:00 EDT"),
    (NY, "2026-06-10 08:00", "2026-06-10 08:00 EDT"),
    # DST start: the night is an hour shorter, 08:00 is still 08:00 local.
    (NY, "2026-03-07 23:00", "2026-03-08 08:00 EDT"),
    (NY, "2026-03-08 01:30", "2026-03-08 08:00 EDT"),
    # DST end: 01:30 happens twice; either way the reminder waits for 08:00 EST.
    (NY, "2026-11-01 01:30", "2026-11-01 08:00 EST"),
    (BERLIN, "2026-03-29 02:30", "2026-03-29 08:00 CEST"),  # a wall time that never existed
    (BERLIN, "2026-10-25 02:30", "2026-10-25 08:00 CET"),
    (TOKYO, "2026-06-10 22:00", "2026-06-11 08:00 JST"),
    (KIRITIMATI, "2026-12-31 23:30", "2027-01-01 08:00 +14"),
    (PAGO_PAGO, "2026-12-31 23:30", "2027-01-01 08:00 SST"),
]


@pytest.mark.parametrize("tz,moment,expected", QUIET_CASES)
def test_quiet_hours_move_to_eight(tz, moment, expected):
    assert show(tz, policy.out_of_quiet_hours(local(tz, moment), tz)) == expected


def test_quiet_hours_eight_am_is_the_right_utc_instant_on_dst_days():
    moved = policy.out_of_quiet_hours(local(NY, "2026-03-08 01:30"), NY)
    assert moved == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # EDT: UTC-4
    moved = policy.out_of_quiet_hours(local(NY, "2026-11-01 01:30"), NY)
    assert moved == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # EST: UTC-5


def test_custom_quiet_hours_and_times():
    custom = policy.ReminderPolicy(
        nudge_after=timedelta(hours=1),
        morning=time(10, 0),
        quiet_start=time(22, 0),
        quiet_end=time(7, 0),
    )
    assert plan(NY, "2026-06-10 10:00", "notes", policy=custom) == [
        ("nudge", "2026-06-10 12:00 EDT"),
        # 21:59:59 is not quiet before 22:00 (displayed to the minute).
        ("due_soon", "2026-06-10 21:59 EDT"),
        ("overdue", "2026-06-11 10:00 EDT"),
    ]
    assert show(NY, policy.out_of_quiet_hours(local(NY, "2026-06-10 23:00"), NY, custom)) == (
        "2026-06-11 07:00 EDT"
    )


def test_quiet_hours_that_do_not_cross_midnight():
    early = policy.ReminderPolicy(quiet_start=time(0, 0), quiet_end=time(6, 0))
    assert policy.in_quiet_hours(local(NY, "2026-06-10 05:00"), NY, early)
    assert not policy.in_quiet_hours(local(NY, "2026-06-10 23:00"), NY, early)
    moved = policy.out_of_quiet_hours(local(NY, "2026-06-10 00:30"), NY, early)
    assert show(NY, moved) == "2026-06-10 06:00 EDT"


def test_kinds_turned_off_by_the_organisation_are_not_planned():
    only_overdue = policy.ReminderPolicy(kinds=frozenset({policy.OVERDUE}))
    assert plan(NY, "2026-06-10 10:00", "notes", policy=only_overdue) == [
        ("overdue", "2026-06-11 09:00 EDT")
    ]


def test_reminders_already_past_are_dropped():
    later = local(NY, "2026-06-10 14:00")
    assert plan(NY, "2026-06-10 10:00", "notes", now=later) == [
        ("due_soon", "2026-06-10 20:00 EDT"),
        ("overdue", "2026-06-11 09:00 EDT"),
    ]


def test_snooze_holds_reminders_and_drops_those_past_the_deadline():
    noon = local(NY, "2026-06-10 12:00")
    snoozed = plan(
        NY, "2026-06-10 10:00", "notes", now=noon, snoozed_until=noon + policy.SNOOZE_FOR
    )
    assert snoozed == [("overdue", "2026-06-11 12:00 EDT")]


def test_snooze_of_a_row_already_due_pushes_it():
    due = local(NY, "2026-06-12 23:59:59")
    now = local(NY, "2026-06-10 13:00")
    moved = policy.place(
        policy.DUE_MORNING,
        local(NY, "2026-06-10 13:00"),
        due_at=due,
        tz=NY,
        now=now,
        not_before=now + policy.SNOOZE_FOR,
    )
    assert show(NY, moved) == "2026-06-11 13:00 EDT"
    too_late = policy.place(
        policy.NUDGE,
        now,
        due_at=local(NY, "2026-06-10 23:59:59"),
        tz=NY,
        now=now,
        not_before=now + policy.SNOOZE_FOR,
    )
    assert too_late is None


@pytest.mark.parametrize(
    "tz,utc_now,expected",
    [
        (TOKYO, datetime(2026, 6, 9, 23, 30, tzinfo=UTC), date(2026, 6, 10)),  # 08:30 JST
        (TOKYO, datetime(2026, 6, 9, 22, 59, tzinfo=UTC), None),  # 07:59 JST
        (TOKYO, datetime(2026, 6, 10, 12, 30, tzinfo=UTC), None),  # 21:30 JST: quiet
        (NY, datetime(2026, 3, 8, 12, 0, tzinfo=UTC), date(2026, 3, 8)),  # 08:00 EDT
        (NY, datetime(2026, 3, 8, 11, 59, tzinfo=UTC), None),
        (KIRITIMATI, datetime(2026, 6, 9, 18, 0, tzinfo=UTC), date(2026, 6, 10)),
        (PAGO_PAGO, datetime(2026, 6, 10, 19, 0, tzinfo=UTC), date(2026, 6, 10)),
    ],
)
def test_digest_is_due_from_eight_coach_local(tz, utc_now, expected):
    assert policy.digest_date(utc_now, tz) == expected
    if expected is not None:
        assert show(tz, policy.digest_moment(expected, tz)).split(" ")[1] == "08:00"


def test_policy_errors_name_the_field():
    bad = policy.ReminderPolicy(
        kinds=frozenset({"carrier_pigeon"}),
        nudge_after=timedelta(0),
        quiet_start=time(8, 0),
        quiet_end=time(8, 0),
    )
    assert set(policy.policy_errors(bad)) == {"kinds", "nudge_after", "quiet_end"}
    assert policy.policy_errors(policy.DEFAULT_POLICY) == {}


def test_quiet_hours_deferral_for_late_rows():
    night = local(NY, "2026-06-10 23:00")
    assert show(NY, policy.quiet_hours_deferral(night, NY)) == "2026-06-11 08:00 EDT"
    assert policy.quiet_hours_deferral(local(NY, "2026-06-10 12:00"), NY) is None
