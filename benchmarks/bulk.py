"""Bulk loading for the benchmark generator: COPY / executemany, and deferred indexes.

A database loads rows several times faster into bare tables and builds each index once
afterwards (what pg_restore does). On PostgreSQL that includes the primary keys, unique
constraints and foreign keys: a foreign key checked row by row costs a lookup per row in each
referenced table, while re-adding it afterwards validates all rows in one join. Re-adding them
also proves the generated rows consistent.
"""

import sys
import time
from datetime import UTC, datetime


def fmt(moment: datetime | None) -> str | None:
    """A UTC datetime in the text form SQLAlchemy stores in SQLite (naive UTC)."""
    if moment is None:
        return None
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    # isoformat is several times faster than strftime, and this runs millions of times.
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.started = label, total, 0, time.perf_counter()

    def advance(self, count: int) -> None:
        """Count `count` more done and redraw."""
        self.done += count
        share = self.done / self.total if self.total else 1
        bar = "#" * int(share * 30)
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(f"\r{self.label:<14} [{bar:<30}] {self.done:>11,} {elapsed:7.1f}s")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _quoted(tables) -> str:
    return ", ".join(repr(t) for t in tables)


def defer_indexes(engine, tables) -> list[str]:
    """Drop the indexes (and on PostgreSQL the constraints) of `tables`; return the DDL that
    puts them back, in an order that works: keys first, then indexes, then foreign keys."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({_quoted(tables)})"
            ).all()
            for name, _ddl in rows:
                connection.exec_driver_sql(f'DROP INDEX "{name}"')
            return [ddl for _name, ddl in rows]
        constraints = connection.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.contype IN ('p', 'u', 'f') "
            f"AND c.conrelid::regclass::text IN ({_quoted(tables)}) "
            # Foreign keys first: a key cannot be dropped while a foreign key still uses it.
            "ORDER BY c.contype = 'f' DESC"
        ).all()
        # Foreign keys from other tables into these tables would block dropping their keys.
        inbound = connection.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.contype = 'f' "
            f"AND c.confrelid::regclass::text IN ({_quoted(tables)}) "
            f"AND c.conrelid::regclass::text NOT IN ({_quoted(tables)})"
        ).all()
        indexes = connection.exec_driver_sql(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "LEFT JOIN pg_constraint c ON c.conname = i.indexname "
            f"WHERE i.tablename IN ({_quoted(tables)}) AND c.conname IS NULL"
        ).all()
        for table, name, _type, _ddl in [*inbound, *constraints]:
            connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ddl in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
    add = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}'
        for table, name, _type, ddl in constraints
        if _type != "f"
    ]
    foreign = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}'
        for table, name, _type, ddl in [*constraints, *inbound]
        if _type == "f"
    ]
    return add + [ddl for _name, ddl in indexes] + foreign


class Writer:
    """Bulk inserts through the raw DB-API connection: executemany or COPY."""

    def __init__(self, engine):
        self.engine = engine
        self.raw = engine.raw_connection()
        self.postgres = engine.dialect.name == "postgresql"
        self.rows: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Insert rows into table (and keep rows and seconds per table, for rows/s)."""
        started = time.perf_counter()
        cursor = self.raw.cursor()
        if self.postgres:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        cursor.close()
        self.rows[table] = self.rows.get(table, 0) + len(rows)
        self.seconds[table] = self.seconds.get(table, 0.0) + time.perf_counter() - started

    def commit(self) -> None:
        """Commit the raw connection."""
        self.raw.commit()

    def rates(self) -> dict[str, int]:
        """Rows per second of COPY/executemany time, per table."""
        return {t: int(n / max(self.seconds[t], 1e-6)) for t, n in self.rows.items() if n > 1000}
