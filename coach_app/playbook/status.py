"""Task status at a moment, and the rules for completing and waiving a task."""

from datetime import datetime
from enum import StrEnum

from .clock import PlaybookError, require_aware

MAX_REASON_LENGTH = 500

WAIVED_MESSAGE = "This task is waived; un-waive it before completing it."
ALREADY_COMPLETE_MESSAGE = "This task is already complete."
NOT_HAPPENED_MESSAGE = "You can't complete follow-up for an interview that hasn't happened yet."


class Status(StrEnum):
    """Where a task stands at a given moment."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    PENDING = "pending"
    WAIVED = "waived"


# The statuses that compliance and the on-time rates count; pending and waived count nowhere.
COUNTED = frozenset({Status.ON_TIME, Status.LATE, Status.MISSED})


def task_status(
    *, due_at: datetime, completed_at: datetime | None, waived: bool, now: datetime
) -> Status:
    """Return the status of a task at the moment now."""
    due = require_aware(due_at, "due time")
    current = require_aware(now, "current time")
    if waived:
        return Status.WAIVED
    if completed_at is not None:
        # Status of completed work is fixed by when it was done, whatever `now` is.
        done = require_aware(completed_at, "completion time")
        return Status.ON_TIME if done <= due else Status.LATE
    return Status.MISSED if current > due else Status.PENDING


def can_complete(
    *,
    completed_at: datetime,
    interview_start_at: datetime,
    waived: bool,
    already_completed: bool,
    now: datetime | None = None,
) -> None:
    """Raise PlaybookError if the task may not be marked complete at completed_at."""
    done = require_aware(completed_at, "completion time")
    start = require_aware(interview_start_at, "interview start")
    if waived:
        raise PlaybookError(WAIVED_MESSAGE)
    if already_completed:
        raise PlaybookError(ALREADY_COMPLETE_MESSAGE)
    # Follow-up can begin once the interview has started (a short interview may end early).
    if done < start:
        raise PlaybookError(NOT_HAPPENED_MESSAGE)
    if now is not None and done > require_aware(now, "current time"):
        raise PlaybookError("You can't record follow-up as done at a time still in the future.")


def can_waive(
    *, already_completed: bool, reason: str | None, missed: bool = False, by_client: bool = False
) -> str:
    """Return the cleaned waiver reason, or raise PlaybookError if the task can't be waived."""
    if already_completed:
        raise PlaybookError("This task is already complete, so it can't be waived.")
    # A miss stays a miss unless the coach decides it never applied: a client waiving their
    # own misses would quietly erase exactly what the coach needs to see.
    if missed and by_client:
        raise PlaybookError(
            "This task is past its deadline. Ask your coach if it should not count."
        )
    cleaned = reason.strip() if isinstance(reason, str) else ""
    if not cleaned:
        raise PlaybookError("Give a reason for waiving this task.")
    if len(cleaned) > MAX_REASON_LENGTH:
        raise PlaybookError(f"Keep the reason to {MAX_REASON_LENGTH} characters or fewer.")
    return cleaned


def can_unwaive(*, waived: bool) -> None:
    """Raise PlaybookError if the task is not waived (nothing to undo)."""
    if not waived:
        raise PlaybookError("This task is not waived.")
