"""Every task status, completing and waiving (and un-waiving) a task."""

from datetime import UTC, datetime, timedelta

import pytest

from coach_app.playbook import (
    MAX_REASON_LENGTH,
    PlaybookError,
    Status,
    can_complete,
    can_unwaive,
    can_waive,
    task_status,
)

UTC = UTC
DUE = datetime(2024, 5, 14, 21, 59, 59, tzinfo=UTC)
BEFORE = DUE - timedelta(hours=3)
AFTER = DUE + timedelta(hours=3)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("completed_at", "waived", "now", "expected"),
    [
        (None, False, BEFORE, Status.PENDING),
        (None, False, DUE, Status.PENDING),  # due "at or before": the due second still counts
        (None, False, DUE + TICK, Status.MISSED),
        (None, False, AFTER, Status.MISSED),
        (BEFORE, False, AFTER, Status.ON_TIME),
        (DUE, False, AFTER, Status.ON_TIME),
        (DUE + TICK, False, AFTER, Status.LATE),
        (AFTER, False, AFTER, Status.LATE),
        (None, True, BEFORE, Status.WAIVED),
        (None, True, AFTER, Status.WAIVED),
    ],
)
def test_status_at_a_moment(completed_at, waived, now, expected):
    assert task_status(due_at=DUE, completed_at=completed_at, waived=waived, now=now) is expected


def test_completed_status_does_not_depend_on_now():
    for now in (BEFORE, DUE, AFTER, AFTER + timedelta(days=400)):
        assert task_status(due_at=DUE, completed_at=BEFORE, waived=False, now=now) is Status.ON_TIME
        assert task_status(due_at=DUE, completed_at=AFTER, waived=False, now=now) is Status.LATE


def test_unwaiving_returns_the_status_the_task_would_have():
    assert task_status(due_at=DUE, completed_at=None, waived=True, now=AFTER) is Status.WAIVED
    can_unwaive(waived=True)
    assert task_status(due_at=DUE, completed_at=None, waived=False, now=AFTER) is Status.MISSED
    assert task_status(due_at=DUE, completed_at=None, waived=False, now=BEFORE) is Status.PENDING


def test_status_values_are_the_stored_strings():
    assert [s.value for s in Status] == ["on_time", "late", "missed", "pending", "waived"]
    assert Status("late") is Status.LATE


def test_naive_datetimes_are_refused():
    naive = datetime(2024, 5, 14, 12)
    with pytest.raises(ValueError):
        task_status(due_at=naive, completed_at=None, waived=False, now=AFTER)
    with pytest.raises(ValueError):
        task_status(due_at=DUE, completed_at=naive, waived=False, now=AFTER)
    with pytest.raises(ValueError):
        task_status(due_at=DUE, completed_at=None, waived=False, now=naive)


class TestCanComplete:
    start = datetime(2024, 5, 14, 14, 0, tzinfo=UTC)

    def check(self, **overrides):
        kwargs = dict(
            completed_at=self.start + timedelta(hours=2),
            interview_start_at=self.start,
            waived=False,
            already_completed=False,
        )
        kwargs.update(overrides)
        can_complete(**kwargs)

    def test_ordinary_completion_is_allowed(self):
        self.check()
        self.check(completed_at=self.start)  # from the moment the interview starts
        self.check(now=self.start + timedelta(hours=2))

    def test_waived_task(self):
        with pytest.raises(PlaybookError) as error:
            self.check(waived=True)
        assert str(error.value) == "This task is waived; un-waive it before completing it."

    def test_already_complete(self):
        with pytest.raises(PlaybookError) as error:
            self.check(already_completed=True)
        assert str(error.value) == "This task is already complete."

    def test_before_the_interview(self):
        with pytest.raises(PlaybookError) as error:
            self.check(completed_at=self.start - timedelta(seconds=1))
        assert str(error.value) == (
            "You can't complete follow-up for an interview that hasn't happened yet."
        )

    def test_in_the_future(self):
        with pytest.raises(PlaybookError, match="future"):
            self.check(now=self.start + timedelta(hours=1))

    def test_naive_completion_time(self):
        with pytest.raises(ValueError, match="no time zone"):
            self.check(completed_at=datetime(2024, 5, 14, 16))


class TestCanWaive:
    def test_reason_is_required_and_cleaned(self):
        assert can_waive(already_completed=False, reason="  no referrals were given ") == (
            "no referrals were given"
        )
        for blank in ("", "   ", None):
            with pytest.raises(PlaybookError, match="reason"):
                can_waive(already_completed=False, reason=blank)

    def test_reason_length_limit(self):
        assert MAX_REASON_LENGTH == 500
        can_waive(already_completed=False, reason="x" * 500)
        with pytest.raises(PlaybookError, match="500 characters"):
            can_waive(already_completed=False, reason="x" * 501)

    def test_completed_task_cannot_be_waived(self):
        with pytest.raises(PlaybookError, match="already complete"):
            can_waive(already_completed=True, reason="changed my mind")

    def test_unwaive_needs_a_waived_task(self):
        with pytest.raises(PlaybookError, match="not waived"):
            can_unwaive(waived=False)
