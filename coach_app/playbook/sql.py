"""The playbook's task status as a SQL expression, for aggregates computed in the database.

This mirrors `status.task_status` exactly (tests/playbook/test_playbook_sql.py checks the
two agree), so pipelines, digests and dashboards can GROUP BY status without pulling rows
into Python. It uses SQLAlchemy Core only: no session, no Flask.
"""

from datetime import datetime

from sqlalchemy import Float, Integer, String, and_, case, literal_column, or_
from sqlalchemy.sql.elements import ColumnElement

from .clock import require_aware
from .status import Status
from .triage import STILL_WORTH_DOING


def sql_constant(value: str | int | float) -> ColumnElement:
    """A fixed playbook value (a status, a rule id, a count, a threshold) written into the SQL.

    Bound parameters are sent again at every execution: a statement built once for the
    pipeline carried some fifty of these constants. Only the playbook's own identifiers and
    numbers come here, never user input, and identifiers are checked to be plain words.
    """
    if isinstance(value, str):
        if not value.replace("_", "").isalnum():
            raise ValueError(f"not a plain identifier: {value!r}")
        return literal_column(f"'{value}'", String())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a playbook constant: {value!r}")
    return literal_column(repr(value), Integer() if isinstance(value, int) else Float())


def status_case(*, due_at, completed_at, waived_reason, now: "datetime | ColumnElement"):
    """CASE expression giving a task's Status value at `now` from its columns.

    `now` is an aware datetime, or a bound parameter (`bindparam("now")`) so that a
    statement can be built once and executed at any moment.
    """
    moment = now if isinstance(now, ColumnElement) else require_aware(now, "current time")
    return case(
        (waived_reason.is_not(None), sql_constant(Status.WAIVED.value)),
        (
            completed_at.is_not(None) & (completed_at <= due_at),
            sql_constant(Status.ON_TIME.value),
        ),
        (completed_at.is_not(None), sql_constant(Status.LATE.value)),
        (due_at < moment, sql_constant(Status.MISSED.value)),
        else_=sql_constant(Status.PENDING.value),
    )


def task_status_case(task_model, now: "datetime | ColumnElement"):
    """status_case over a mapped FollowUpTask-like class (due_at, completed_at, waived_reason)."""
    return status_case(
        due_at=task_model.due_at,
        completed_at=task_model.completed_at,
        waived_reason=task_model.waived_reason,
        now=now,
    )


def past_worth_doing(*, rule, due_at, now: datetime) -> ColumnElement:
    """True for a deadline further back than its rule's horizon (`triage.STILL_WORTH_DOING`).

    Open tasks matching it have left every to-do list for the "Missed" history.
    """
    moment = require_aware(now, "current time")
    return or_(
        *(
            and_(rule == sql_constant(rule_id.value), due_at < moment - horizon)
            for rule_id, horizon in STILL_WORTH_DOING.items()
        )
    )
