"""The headline measures as SQL pieces, so GROUP BY aggregates agree with compliance.py.

Same-day notes rate (PLAYBOOK.md): interviews whose `notes` task was completed on the
interview's local date, over notes tasks that are neither pending nor waived.

Why this can be decided (almost always) from two columns, without time zones in SQL:
the notes task is due at the END of the interview's local day (schedule.py), so its local
date is exactly the interview's local date. A completion is therefore "on the local date"
when it falls in [start of that local day, due_at].

- Completed after due_at by a second or more: a later local date (status `late`).
- Completed at or before due_at and less than 22 hours before it: inside the local day,
  because no local day is shorter than 22 hours (DST days last 23 or 25 hours).
- Completed more than 26 hours before due_at: an earlier local date.

The brief shortcut "on_time == same day, because follow-up can't be completed before the
interview starts" holds only for interviews that start on their local date. An interview
that crosses local midnight (23:30 to 00:30) has its local day on the END date, and notes
written at 23:50 are on time but not same-day. Such completions, and the sub-second after
due_at, fall in the "check" band; callers fetch those few rows and decide them exactly with
`notes_completed_same_day` (the playbook's clock), keeping the query count fixed.
"""

from datetime import datetime, timedelta

from sqlalchemy import Float, case, null
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from .clock import local_date, require_aware
from .sql import sql_constant, status_case
from .status import COUNTED

NOTES_SAME_DAY = "same_day"
NOTES_OTHER_DAY = "other_day"
NOTES_CHECK = "check"

# Every real local day lasts between these two lengths; inside them we must look at the zone.
SHORTEST_DAY = timedelta(hours=22)
LONGEST_DAY = timedelta(hours=26)
_SUBSECOND = timedelta(seconds=1)


class epoch_seconds(FunctionElement):  # noqa: N801 (SQL function naming)
    """Seconds since 1970 of a naive-UTC timestamp column, on SQLite and PostgreSQL alike."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # julianday() parses the stored 'YYYY-MM-DD HH:MM:SS.ffffff' text; 2440587.5 is 1970-01-01.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def notes_day_case(*, due_at, completed_at, waived_reason, now):
    """CASE: NOTES_SAME_DAY, NOTES_OTHER_DAY or NOTES_CHECK for a counted notes task, else NULL.

    Apply it to `notes` tasks only. NULL means pending or waived (left out of the rate).
    """
    status = status_case(
        due_at=due_at, completed_at=completed_at, waived_reason=waived_reason, now=now
    )
    lead = epoch_seconds(due_at) - epoch_seconds(completed_at)  # seconds before the deadline
    return case(
        (status.not_in([sql_constant(s.value) for s in COUNTED]), null()),
        (completed_at.is_(None), sql_constant(NOTES_OTHER_DAY)),  # missed
        (lead <= sql_constant(-_SUBSECOND.total_seconds()), sql_constant(NOTES_OTHER_DAY)),
        (lead < sql_constant(0), sql_constant(NOTES_CHECK)),
        (lead < sql_constant(SHORTEST_DAY.total_seconds()), sql_constant(NOTES_SAME_DAY)),
        (lead > sql_constant(LONGEST_DAY.total_seconds()), sql_constant(NOTES_OTHER_DAY)),
        else_=sql_constant(NOTES_CHECK),
    )


def task_notes_day_case(task_model, now):
    """notes_day_case over a mapped FollowUpTask-like class."""
    return notes_day_case(
        due_at=task_model.due_at,
        completed_at=task_model.completed_at,
        waived_reason=task_model.waived_reason,
        now=now,
    )


def notes_completed_same_day(*, due_at: datetime, completed_at: datetime, tz) -> bool:
    """Decide a NOTES_CHECK row exactly: completed on the local date of the notes deadline."""
    due = require_aware(due_at, "due time")
    done = require_aware(completed_at, "completion time")
    return local_date(done, tz) == local_date(due, tz)
