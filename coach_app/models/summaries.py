"""Per-client summary rows: what a pipeline row shows, kept by every write (a read model).

One row per client profile (coach_app/services/read_model.py keeps it in the same transaction
as every change to the client's tasks, interviews, opportunities, profile or time zone).
Task status depends on the clock, so each row is exact *as of* the instant it was computed:

- `as_of`: when the figures were computed;
- `fresh_until`: the earliest later instant at which a figure would change with no write
  (an open task's deadline passes, a completed task enters the 30-day window, the oldest task
  in the window leaves it). NULL: nothing will ever change without a write.

The row is exact for any `now` in [as_of, fresh_until). Readers use it as stored there and
recompute the client live otherwise (coach_app/services/summary_sql.py); the fold job
(`read_model.fold_summaries`) recomputes rows whose fresh_until has passed, so that live
set stays small. Correctness never depends on the fold job.
"""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from coach_app.extensions import db
from coach_app.models.types import UTCDateTime


class ClientSummary(db.Model):
    """One client's pipeline figures, exact for now in [as_of, fresh_until)."""

    __tablename__ = "client_summaries"
    __table_args__ = (
        # The exceptions queue: a coach's (or an organisation's) active clients' time zones.
        Index("ix_client_summaries_coach", "organization_id", "coach_id", "archived", "timezone"),
        Index("ix_client_summaries_org", "organization_id", "archived", "timezone"),
        # The fold job: rows whose figures have moved since they were computed.
        Index("ix_client_summaries_fresh_until", "fresh_until"),
    )

    # No foreign key: a read model row is removed in the commit after its client's flush.
    client_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(Integer)
    coach_id: Mapped[int] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(Boolean)
    # The client's effective zone (their own, else the organisation's).
    timezone: Mapped[str] = mapped_column(String(64))
    # Open tasks past due, and the earliest open task not yet due.
    overdue: Mapped[int] = mapped_column(Integer)
    next_task_id: Mapped[int | None] = mapped_column(Integer)
    next_rule: Mapped[str | None] = mapped_column(String(32))
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Tasks due in the 30 days up to as_of: on time / counted (on time, late, missed).
    on_time: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int] = mapped_column(Integer)
    # Notes tasks of the same window: done on the interview's local date / counted.
    notes_same_day: Mapped[int] = mapped_column(Integer)
    notes_counted: Mapped[int] = mapped_column(Integer)
    # Open opportunities by latest round [[round, count], ...] and decided [[outcome, count]].
    stages: Mapped[list] = mapped_column(JSON)
    decided: Mapped[list] = mapped_column(JSON)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    fresh_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
