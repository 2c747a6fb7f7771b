"""The SQL status expression agrees with the pure status function on every case."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, select

from coach_app.playbook import task_status
from coach_app.playbook.sql import status_case

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DUE = NOW
CASES = [
    (None, False),
    (DUE - timedelta(hours=1), False),
    (DUE, False),
    (DUE + timedelta(seconds=1), False),
    (None, True),
]


@pytest.mark.parametrize("due_offset", [timedelta(hours=-2), timedelta(0), timedelta(hours=2)])
def test_sql_status_matches_python(due_offset):
    engine = create_engine("sqlite://")
    meta = MetaData()
    tasks = Table(
        "t",
        meta,
        Column("id", Integer, primary_key=True),
        Column("due_at", DateTime),
        Column("completed_at", DateTime),
        Column("waived_reason", String),
    )
    meta.create_all(engine)
    due = DUE + due_offset
    naive = lambda d: d.replace(tzinfo=None) if d else None  # noqa: E731
    with engine.begin() as connection:
        for i, (completed, waived) in enumerate(CASES):
            connection.execute(
                tasks.insert().values(
                    id=i,
                    due_at=naive(due),
                    completed_at=naive(completed),
                    waived_reason="n/a" if waived else None,
                )
            )
        expr = status_case(
            due_at=tasks.c.due_at,
            completed_at=tasks.c.completed_at,
            waived_reason=tasks.c.waived_reason,
            now=NOW,
        )
        rows = dict(connection.execute(select(tasks.c.id, expr)).all())
    # SQLite compares the naive UTC strings; the bound `now` must be naive UTC too.
    for i, (completed, waived) in enumerate(CASES):
        expected = task_status(due_at=due, completed_at=completed, waived=waived, now=NOW)
        assert rows[i] == expected.value, (i, completed, waived)
