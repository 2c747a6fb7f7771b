"""Triage of open tasks: today, coming up, overdue still worth doing, or history."""

from datetime import UTC, datetime, timedelta

import pytest

from coach_app.playbook import STILL_WORTH_DOING, Bucket, Rule, triage_bucket

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York
NY = "America/New_York"


def bucket(rule, due_at, tz=NY):
    return triage_bucket(rule=rule, due_at=due_at, now=NOW, tz_name=tz)


def test_pending_today_and_later():
    end_of_today_ny = datetime(2026, 3, 11, 3, 59, 59, tzinfo=UTC)
    assert bucket(Rule.NOTES, end_of_today_ny) is Bucket.TODAY
    assert bucket(Rule.NOTES, end_of_today_ny + timedelta(seconds=1)) is Bucket.UPCOMING
    # 21:00 tonight in New York is already tomorrow in London.
    assert bucket(Rule.NOTES, NOW + timedelta(hours=10)) is Bucket.TODAY
    assert bucket(Rule.NOTES, NOW + timedelta(hours=10), tz="Europe/London") is Bucket.UPCOMING


@pytest.mark.parametrize("rule", list(Rule))
def test_a_miss_is_worth_doing_until_its_rule_horizon(rule):
    horizon = STILL_WORTH_DOING[rule]
    assert bucket(rule, NOW - timedelta(seconds=1)) is Bucket.OVERDUE
    assert bucket(rule, NOW - horizon) is Bucket.OVERDUE
    assert bucket(rule, NOW - horizon - timedelta(seconds=1)) is Bucket.MISSED


def test_every_rule_has_a_horizon_and_a_check_in_outlasts_a_thank_you():
    assert set(STILL_WORTH_DOING) == set(Rule)
    assert STILL_WORTH_DOING[Rule.CHECK_IN] > STILL_WORTH_DOING[Rule.THANK_YOU_EMAIL]
