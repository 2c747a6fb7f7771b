"""Dashboard rollups: the facts' settled readings summed per grain, exact as of a mark.

An organisation's rollup rows hold every fact row whose open tasks were all past due at the
organisation's mark (`RollupMark.as_of`): open_due_max IS NULL or < as_of. Such a row's
settled reading never changes with the clock, only with a write, so:

- **writes** (the facts listener, `analytics_facts.refresh`) add the difference between a
  fact row's old and new contribution in the same transaction (`UPDATE n = n + delta`);
- **reads** (dashboards/data) add to the rollups the rows whose last deadline fell between
  the mark and the moment read (or take them out when reading before the mark), found
  through ix_analytics_facts_org_open_due;
- **the fold** (`fold_rollups`, run by workers.jobs.refresh_analytics_job) moves those rows
  into the rollups and advances the mark, so that slice stays small. Correctness never
  depends on it.

Deltas rather than recomputing the touched keys: a key like "this month, rejected, low
band" sums thousands of facts, a delta touches one row per grain. Additions commute, so
concurrent portal transactions need no ordering between them beyond locking rollup rows in
key order (no deadlocks). The mark is the one thing they share with the fold: a writer holds
it FOR SHARE while it decides which rows are in the rollups, the fold FOR UPDATE while it
moves the mark (SQLite serialises writers anyway).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coach_app.models.analytics import (
    PAIR_COUNTERS,
    PAIR_SHIFT,
    ROLLUP_COUNTERS,
    ROLLUP_KEYS,
    AnalyticsRollup,
    OpportunityFact,
    RollupMark,
)

ROLLUPS = AnalyticsRollup.__table__
MARKS = RollupMark.__table__
FACTS = OpportunityFact.__table__
# The key columns each grain groups by (the others hold their blank).
GRAINS = {
    "main": ("interview_month", "rounds", "industry", "outcome", "band", "hours_bucket"),
    # Rule groups one bit per key (see keys()): the rule view tests each bit on its own.
    "rules": ("interview_month", "rounds", "industry", "is_offer", "ok_mask", "bad_mask"),
    "coach": ("coach_id", "interview_month"),
}
BLANK = {"coach_id": 0, "rounds": 0, "is_offer": 0, "ok_mask": 0, "bad_mask": 0}
# What a fact row contributes from: its keys, its settled reading, and its last deadline.
FACT_COLUMNS = (
    "opportunity_id",
    *[key for key in ROLLUP_KEYS if key != "grain"],
    "is_decided",
    "open_due_max",
    *PAIR_COUNTERS,
)
_LOW = (1 << PAIR_SHIFT) - 1
BATCH = 1000


def rounds_key(rounds: int) -> int:
    """The rounds filter's grain: 1, 2, or 3 for "3 or more"."""
    return min(int(rounds), 3)


def in_rollup(open_due_max: datetime | None, as_of: datetime) -> bool:
    """Whether a fact row with this last open deadline is summed in rollups marked `as_of`."""
    return open_due_max is None or open_due_max < as_of


def settled_at(as_of: datetime):
    """Where-clause: the fact rows the rollups marked `as_of` hold."""
    return or_(FACTS.c.open_due_max.is_(None), FACTS.c.open_due_max < as_of)


def counters(row) -> list[int]:
    """A fact row's settled reading as the rollups' counters (in ROLLUP_COUNTERS order)."""
    values = {"opportunities": 1}
    for pair, (high, low) in PAIR_COUNTERS.items():
        packed = int(row[pair] or 0)
        values[high], values[low] = packed >> PAIR_SHIFT, packed & _LOW
    return [values[c] for c in ROLLUP_COUNTERS]


def keys(row) -> list[tuple]:
    """The rollup keys (one per grain it belongs to) a fact row is summed under."""
    fields = {
        "organization_id": row["organization_id"],
        "coach_id": row["coach_id"],
        "interview_month": row["interview_month"],
        "rounds": rounds_key(row["rounds"]),
        "industry": row["industry"] or "",
        "outcome": row["outcome"] or "",
        "band": row["band"] or "",
        "hours_bucket": row["hours_bucket"] or "",
        "is_offer": row["is_offer"],
        "ok_mask": row["ok_mask"],
        "bad_mask": row["bad_mask"],
    }
    found = []
    for grain, columns in GRAINS.items():
        variants = [fields]
        if grain == "rules":
            # One key per rule group the row is in (a single bit set), not per combination
            # of masks: 22 keys at most instead of thousands. The rule view tests bits one
            # at a time, so its counts are the same. Decided opportunities only.
            variants = [] if not row["is_decided"] else _single_bits(fields)
        for values in variants:
            found.append(
                tuple(
                    grain
                    if k == "grain"
                    else values[k]
                    if k in columns or k == "organization_id"
                    else BLANK.get(k, "")
                    for k in ROLLUP_KEYS
                )
            )
    return found


def _single_bits(fields: dict) -> list[dict]:
    out = []
    for mask in ("ok_mask", "bad_mask"):
        value, bit = int(fields[mask] or 0), 0
        while value >> bit:
            if (value >> bit) & 1:
                out.append({**fields, "ok_mask": 0, "bad_mask": 0, mask: 1 << bit})
            bit += 1
    return out


class Deltas:
    """Counter changes per rollup key, gathered from fact rows leaving and entering."""

    def __init__(self) -> None:
        self.sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(ROLLUP_COUNTERS))

    def add(self, row, sign: int) -> None:
        """Add (sign 1) or take out (sign -1) one fact row's contribution."""
        values = counters(row)
        for key in keys(row):
            total = self.sums[key]
            for index, value in enumerate(values):
                total[index] += sign * value

    def apply(self, connection) -> int:
        """Write the non-zero deltas, in key order (concurrent writers never deadlock)."""
        rows = [
            {
                **dict(zip(ROLLUP_KEYS, key, strict=True)),
                **dict(zip(ROLLUP_COUNTERS, v, strict=True)),
            }
            for key, v in sorted(self.sums.items())
            if any(v)
        ]
        for start in range(0, len(rows), BATCH):
            connection.execute(_upsert(connection), rows[start : start + BATCH])
        return len(rows)


def _upsert(connection):
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ROLLUPS)
    return statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEYS),
        set_={c: ROLLUPS.c[c] + statement.excluded[c] for c in ROLLUP_COUNTERS},
    )


def marks(connection, organization_ids: Iterable[int], at: datetime) -> dict[int, datetime]:
    """The organisations' marks, held FOR SHARE until commit (a new organisation's is `at`).

    Holding them keeps the fold from moving a mark while this transaction decides which of
    its fact rows are in the rollups.
    """
    ids = sorted(set(organization_ids))
    if not ids:
        return {}
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(
        insert(MARKS).on_conflict_do_nothing(index_elements=["organization_id"]),
        [{"organization_id": i, "as_of": at} for i in ids],
    )
    query = (
        select(MARKS.c.organization_id, MARKS.c.as_of)
        .where(MARKS.c.organization_id.in_(ids))
        .order_by(MARKS.c.organization_id)
        .with_for_update(read=True)
    )
    return dict(connection.execute(query).all())


def mark_of(connection, organization_id: int) -> datetime | None:
    """The instant an organisation's rollups are exact at (None: no rollups yet)."""
    return connection.scalar(
        select(MARKS.c.as_of).where(MARKS.c.organization_id == organization_id)
    )


def fact_rows(connection, where) -> list:
    """Fact rows (the columns a contribution needs) selected by `where`."""
    return (
        connection.execute(select(*[FACTS.c[c] for c in FACT_COLUMNS]).where(where))
        .mappings()
        .all()
    )


def rebuild_rollups(connection, organization_id: int | None, at: datetime) -> int:
    """Recompute the rollups (of one organisation, or all) from the facts, marked `at`."""
    clear_rollups, clear_marks = delete(ROLLUPS), delete(MARKS)
    facts_where = settled_at(at)
    if organization_id is not None:
        clear_rollups = clear_rollups.where(ROLLUPS.c.organization_id == organization_id)
        clear_marks = clear_marks.where(MARKS.c.organization_id == organization_id)
        facts_where = facts_where & (FACTS.c.organization_id == organization_id)
    connection.execute(clear_rollups)
    connection.execute(clear_marks)
    organizations = select(FACTS.c.organization_id).distinct()
    if organization_id is not None:
        organizations = organizations.where(FACTS.c.organization_id == organization_id)
    ids = list(connection.scalars(organizations))
    if ids:
        connection.execute(MARKS.insert(), [{"organization_id": i, "as_of": at} for i in ids])
    deltas = Deltas()
    for row in connection.execute(
        select(*[FACTS.c[c] for c in FACT_COLUMNS]).where(facts_where)
    ).mappings():
        deltas.add(row, 1)
    return deltas.apply(connection)


def fold_rollups(now: datetime | None = None, session=None) -> int:
    """Advance every organisation's mark to `now`, adding the rows settled since; idempotent.

    One transaction per organisation, its mark held FOR UPDATE (portal writers of that
    organisation wait a moment). A mark never moves back. Returns the fact rows moved in.
    """
    from coach_app.extensions import db
    from coach_app.services.analytics_facts import computed_at

    session = session or db.session
    now = now or computed_at()
    moved = 0
    marks_now = session.execute(select(MARKS.c.organization_id, MARKS.c.as_of)).all()
    for organization_id, seen in sorted(marks_now):
        if seen >= now:
            continue  # nothing to fold: no lock taken, no transaction ended
        connection = session.connection()
        as_of = connection.scalar(
            select(MARKS.c.as_of)
            .where(MARKS.c.organization_id == organization_id)
            .with_for_update()
        )
        if as_of is None or as_of >= now:  # another fold got there first
            session.commit()
            continue
        deltas = Deltas()
        rows = fact_rows(
            connection,
            (FACTS.c.organization_id == organization_id)
            & (FACTS.c.open_due_max >= as_of)
            & (FACTS.c.open_due_max < now),
        )
        for row in rows:
            deltas.add(row, 1)
        deltas.apply(connection)
        connection.execute(
            update(MARKS).where(MARKS.c.organization_id == organization_id).values(as_of=now)
        )
        # Keys every fact left (a rule group that no longer occurs): nothing to sum.
        connection.execute(
            delete(ROLLUPS).where(
                ROLLUPS.c.organization_id == organization_id, ROLLUPS.c.opportunities == 0
            )
        )
        session.commit()
        moved += len(rows)
    return moved
