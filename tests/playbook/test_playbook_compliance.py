"""Compliance, the headline measures, offer rate, bands and Wilson intervals."""

import math
from datetime import date

import pytest

from coach_app.playbook import (
    NotesFact,
    Outcome,
    PlaybookError,
    Rate,
    Status,
    compliance,
    compliance_band,
    compliance_from_counts,
    offer_rate,
    on_time_rate,
    same_day_notes_rate,
    wilson_interval,
)

S = Status


def test_compliance_counts_on_time_over_on_time_late_missed():
    rate = compliance([S.ON_TIME, S.ON_TIME, S.LATE, S.MISSED, S.PENDING, S.WAIVED])
    assert rate == Rate(2, 4)
    assert rate.value == 0.5
    assert compliance(["on_time", "late"]) == Rate(1, 2)


def test_no_counted_task_has_no_compliance():
    for statuses in ([], [S.PENDING], [S.WAIVED, S.PENDING]):
        rate = compliance(statuses)
        assert rate.value is None
        assert rate.display() == "—"
        assert rate.wilson() is None


def test_compliance_from_counts():
    assert compliance_from_counts(3, 1, 2) == Rate(3, 6)
    assert compliance_from_counts(0, 0, 0).value is None
    with pytest.raises(PlaybookError):
        compliance_from_counts(-1, 0, 0)


def test_unknown_status_is_an_error():
    with pytest.raises(PlaybookError, match="Unknown task status"):
        compliance(["done"])


@pytest.mark.parametrize(
    ("num", "den", "shown"),
    [
        (2, 3, "67 %"),
        (1, 3, "33 %"),
        (1, 2, "50 %"),
        (1, 1, "100 %"),
        (0, 5, "0 %"),
        (199, 200, "99 %"),  # never rounds up to a perfect score that isn't there
        (1, 1000, "1 %"),  # nor down to zero
        (0, 0, "—"),
    ],
)
def test_display(num, den, shown):
    assert Rate(num, den).display() == shown


def test_rate_counts_must_make_sense():
    for num, den in ((3, 2), (-1, 2), (0, -1)):
        with pytest.raises(PlaybookError):
            Rate(num, den)


def test_wilson_interval_known_values():
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(5, 10)
    assert math.isclose(low, 0.2366, abs_tol=1e-4)
    assert math.isclose(high, 0.7634, abs_tol=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert math.isclose(high, 0.2775, abs_tol=1e-4)
    low, high = wilson_interval(10, 10)
    assert math.isclose(low, 0.7225, abs_tol=1e-4)
    assert high == 1.0
    assert Rate(5, 10).wilson() == wilson_interval(5, 10)
    with pytest.raises(PlaybookError):
        wilson_interval(11, 10)


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (None, None),
        (0.0, "low"),
        (0.4999, "low"),
        (0.5, "medium"),
        (0.7999, "medium"),
        (0.8, "high"),
        (Rate(4, 5).value, "high"),
        (Rate(2, 3).value, "medium"),
        (1.0, "high"),
    ],
)
def test_compliance_band(value, band):
    assert compliance_band(value) == band


def test_same_day_notes_rate():
    day = date(2024, 5, 14)
    facts = [
        NotesFact(S.ON_TIME, day, day),
        NotesFact(S.LATE, day, day),  # done in the last fraction of the day's last second
        NotesFact(S.LATE, date(2024, 5, 15), day),
        NotesFact(S.MISSED, None, day),
        NotesFact(S.PENDING, None, day),
        NotesFact(S.WAIVED, None, day),
    ]
    assert same_day_notes_rate(facts) == Rate(2, 4)
    assert same_day_notes_rate([]).display() == "—"


def test_on_time_rate_for_check_ins_and_rejection_thanks():
    assert on_time_rate([S.ON_TIME, S.LATE, S.MISSED, S.PENDING, S.WAIVED]) == Rate(1, 3)
    assert on_time_rate([S.PENDING]).value is None


def test_offer_rate_leaves_open_and_withdrawn_out():
    outcomes = [Outcome.OFFER, "offer", "rejected", "no_response", "open", "withdrawn"]
    assert offer_rate(outcomes) == Rate(2, 4)
    assert offer_rate(["open", "withdrawn"]).display() == "—"
    with pytest.raises(PlaybookError, match="Unknown outcome"):
        offer_rate(["hired"])
