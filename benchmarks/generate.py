"""Build a large synthetic organisation fast, for benchmarks.

    python -m benchmarks.generate --clients 100000 --database-url sqlite:////tmp/big.sqlite3

Scale (per 100,000 clients): 500 coaches, 300,000 opportunities, 500,000 interviews and the
playbook's tasks for each (about 4,000,000). Rows go in with the DB-API's executemany (SQLite)
or COPY (PostgreSQL), not through the ORM one object at a time. Deadlines still come from the
playbook: `schedule_interview` is called for every distinct interview shape (start, zone,
duration, latest round or not) and memoised, since interviews start on a quarter-hour grid.
"""

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import create_engine, text

from coach_app import playbook

ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"]
OUTCOMES = ["offer", "rejected", "no_response", "withdrawn", "open"]
OUTCOME_WEIGHTS = [0.15, 0.5, 0.17, 0.03, 0.15]
# The data is laid out around the hour the benchmark runs, not a fixed date: the pages are
# measured against the real clock, and data anchored to a past date drifts out of the 30-day
# window (nothing left due, every open task long missed) as the calendar moves on.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
PASSWORD_HASH = "pbkdf2:sha256:1000$bench$" + "0" * 64  # nobody signs in to benchmark data


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
        self.done += count
        share = self.done / self.total if self.total else 1
        bar = "#" * int(share * 30)
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(f"\r{self.label:<14} [{bar:<30}] {self.done:>10,} {elapsed:6.1f}s")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


@lru_cache(maxsize=200_000)
def planned_tasks(start: datetime, tz: str, duration: int, latest: bool):
    """The playbook's tasks for one interview shape (memoised: starts sit on a grid)."""
    facts = playbook.InterviewFacts(
        start_at=start, tz=tz, duration_minutes=duration, is_latest_round=latest
    )
    return tuple(
        (p.rule.value, fmt(p.due_at), fmt(p.window_opens_at), p.due_at)
        for p in playbook.schedule_interview(facts)
    )


BIG_COACH_CLIENTS = 500


def coach_user_id(client_index: int, coaches: int) -> int:
    """Coach 1 (user id 2) gets the first 500 clients, the benchmark's 'big coach'."""
    if client_index < BIG_COACH_CLIENTS or coaches == 1:
        return 2
    return 3 + (client_index % (coaches - 1))


BULK_TABLES = ("users", "client_profiles", "opportunities", "interviews", "referrals",
               "follow_up_tasks")  # fmt: skip


def drop_indexes(engine, tables) -> list[str]:
    """Drop the secondary indexes of `tables`; return the DDL that recreates them."""
    statements = []
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({', '.join(repr(t) for t in tables)})"
            ).all()
        else:
            rows = connection.exec_driver_sql(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "LEFT JOIN pg_constraint c ON c.conname = i.indexname "
                f"WHERE i.tablename IN ({', '.join(repr(t) for t in tables)}) "
                "AND c.conname IS NULL"
            ).all()
        for name, ddl in rows:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
            statements.append(ddl)
    return statements


class Writer:
    """Bulk inserts through the raw DB-API connection: executemany or COPY."""

    def __init__(self, engine):
        self.engine = engine
        self.raw = engine.raw_connection()
        self.postgres = engine.dialect.name == "postgresql"

    def insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Insert rows into table."""
        cursor = self.raw.cursor()
        if self.postgres:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        cursor.close()

    def commit(self) -> None:
        """Commit the raw connection."""
        self.raw.commit()


def generate(database_url: str, clients: int, seed: int = 1) -> dict:
    """Fill an empty, migrated database; return counts and timings."""
    rng = random.Random(seed)
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    writer = Writer(engine)
    if engine.dialect.name == "sqlite":
        cursor = writer.raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()
    started = time.perf_counter()
    # Indexes are rebuilt once after the load: far cheaper than maintaining them row by row.
    dropped = drop_indexes(engine, BULK_TABLES)
    coaches = max(1, clients // 200)
    created = fmt(NOW - timedelta(days=200))
    writer.insert(
        "organizations",
        ["id", "name", "timezone", "is_synthetic", "created_at"],
        [(1, "Benchmark Coaching Network", "America/Chicago", True, created)],
    )
    user_cols = [
        "id", "organization_id", "role", "email", "name", "password_hash", "timezone",
        "active", "created_at",
    ]  # fmt: skip
    admin = (1, 1, "admin", "admin@bench.example.com", "Admin", PASSWORD_HASH, None, True, created)
    users = [admin]
    users += [
        (1 + c, 1, "coach", f"coach{c}@bench.example.com", f"Coach {c}", PASSWORD_HASH, None, True,
         created)
        for c in range(1, coaches + 1)
    ]  # fmt: skip
    first_client_user = coaches + 2
    client_zone = [ZONES[i % len(ZONES)] for i in range(clients)]
    users += [
        (first_client_user + i, 1, "client", f"client{i}@bench.example.com", f"Client {i}",
         PASSWORD_HASH, client_zone[i], True, created)
        for i in range(clients)
    ]  # fmt: skip
    writer.insert("users", user_cols, users)
    writer.insert(
        "client_profiles",
        ["id", "user_id", "organization_id", "coach_id", "created_at"],
        [
            (i + 1, first_client_user + i, 1, coach_user_id(i, coaches), created)
            for i in range(clients)
        ],
    )
    writer.commit()
    del users

    opportunities = clients * 3
    interviews_target = clients * 5
    progress = Progress("interviews", interviews_target)
    opp_rows, interview_rows, task_rows = [], [], []
    task_cols = [
        "id", "key", "rule", "client_id", "opportunity_id", "interview_id", "referral_id", "due_at",
        "window_opens_at", "completed_at", "created_at", "updated_at",
    ]  # fmt: skip
    interview_cols = [
        "id", "opportunity_id", "client_id", "round_number", "start_at", "duration_minutes",
        "timezone", "format", "created_at",
    ]  # fmt: skip
    opp_cols = [
        "id", "organization_id", "client_id", "company", "role", "industry", "outcome",
        "decided_at", "created_at", "rounds",
    ]  # fmt: skip
    interview_id = task_id = referral_id = 0
    last_activity: list[datetime | None] = [None] * clients
    referral_rows = []
    referral_cols = ["id", "interview_id", "name", "created_at"]
    # Rounds per opportunity: 300k opportunities carry 500k interviews (1, 2 or 3 rounds).
    extra_rounds = interviews_target - opportunities
    for opp_id in range(1, opportunities + 1):
        client = (opp_id - 1) % clients
        tz = client_zone[client]
        diligence = 0.3 + 0.6 * ((client * 7919) % 1000) / 1000
        rounds = 1
        while extra_rounds > 0 and rounds < 3 and rng.random() < 0.5:
            rounds += 1
            extra_rounds -= 1
        outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        day = rng.randrange(1, 180)
        start = (NOW - timedelta(days=day)).replace(minute=0, second=0, microsecond=0)
        start = start.replace(hour=13 + rng.randrange(0, 8), minute=rng.choice([0, 15, 30, 45]))
        for round_number in range(1, rounds + 1):
            interview_id += 1
            duration = rng.choice([30, 45, 60, 90])
            interview_rows.append(
                (interview_id, opp_id, client + 1, round_number, fmt(start), duration, tz,
                 "video", created)
            )  # fmt: skip
            latest = round_number == rounds
            shape = planned_tasks(start, tz, duration, latest)
            if rng.random() < 0.25:  # one referral given at a quarter of the interviews
                referral_id += 1
                referral_rows.append((referral_id, interview_id, "A referral", created))
                due = start + timedelta(minutes=duration) + timedelta(hours=72)
                shape = shape + (("referral", fmt(due), None, due),)
            for rule, due_text, window_text, due in shape:
                task_id += 1
                done = None
                if rng.random() < diligence:
                    late = rng.random() < 0.2
                    done = (
                        due + timedelta(hours=rng.uniform(1, 30))
                        if late
                        else due - timedelta(hours=rng.uniform(0.1, 10))
                    )
                    if done > NOW:
                        done = None
                    elif last_activity[client] is None or done > last_activity[client]:
                        last_activity[client] = done
                key = (
                    f"referral:{referral_id}" if rule == "referral"
                    else f"interview:{interview_id}:{rule}"
                )  # fmt: skip
                task_rows.append(
                    (task_id, key, rule, client + 1, opp_id, interview_id,
                     referral_id if rule == "referral" else None, due_text, window_text,
                     fmt(done), created, created)
                )  # fmt: skip
            start = start + timedelta(days=rng.randrange(5, 15))
        decided = None if outcome == "open" else fmt(start)
        opp_rows.append(
            (opp_id, 1, client + 1, f"Company {opp_id % 5000}", "Analyst", "software", outcome,
             decided, created, rounds)
        )  # fmt: skip
        if len(task_rows) >= 200_000:
            writer.insert("opportunities", opp_cols, opp_rows)
            writer.insert("interviews", interview_cols, interview_rows)
            writer.insert("referrals", referral_cols, referral_rows)
            writer.insert("follow_up_tasks", task_cols, task_rows)
            progress.advance(len(interview_rows))
            opp_rows, interview_rows, task_rows, referral_rows = [], [], [], []
    writer.insert("opportunities", opp_cols, opp_rows)
    writer.insert("interviews", interview_cols, interview_rows)
    writer.insert("referrals", referral_cols, referral_rows)
    writer.insert("follow_up_tasks", task_cols, task_rows)
    progress.advance(len(interview_rows))
    set_last_activity(writer, last_activity)
    writer.commit()
    progress = Progress("indexes", len(dropped))
    with engine.begin() as connection:
        for ddl in dropped:
            connection.exec_driver_sql(ddl)
            progress.advance(1)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("users", "client_profiles", "opportunities", "interviews", "referrals",
                          "follow_up_tasks"):  # fmt: skip
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
            connection.execute(text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    elapsed = time.perf_counter() - started
    return {
        "coaches": coaches,
        "clients": clients,
        "opportunities": opportunities,
        "interviews": interview_id,
        "tasks": task_id,
        "seconds": round(elapsed, 1),
        "playbook_shapes": planned_tasks.cache_info().currsize,
    }


def set_last_activity(writer: Writer, last_activity: list[datetime | None]) -> None:
    """Give each client the time of their latest completed task, as the portal keeps it."""
    cursor = writer.raw.cursor()
    cursor.execute("CREATE TABLE bench_last_activity (client_id INTEGER, at TIMESTAMP)")
    cursor.close()
    writer.insert(
        "bench_last_activity",
        ["client_id", "at"],
        [(i + 1, fmt(at)) for i, at in enumerate(last_activity) if at is not None],
    )
    cursor = writer.raw.cursor()
    cursor.execute(
        "UPDATE client_profiles SET last_activity_at = a.at FROM bench_last_activity AS a "
        "WHERE a.client_id = client_profiles.id"
    )
    cursor.execute("DROP TABLE bench_last_activity")
    cursor.close()


def bare_executemany_seconds(rows: int) -> float:
    """Time a bare executemany of `rows` task-shaped rows into a fresh SQLite file."""
    import os
    import sqlite3
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "bare.sqlite3")
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT UNIQUE, rule TEXT, client_id INT, "
        "opportunity_id INT, interview_id INT, due_at TEXT, window_opens_at TEXT, "
        "completed_at TEXT, created_at TEXT, updated_at TEXT)"
    )
    stamp = fmt(NOW)
    started = time.perf_counter()
    batch = []
    for i in range(1, rows + 1):
        batch.append((i, f"interview:{i // 8}:{i % 8}", "notes", i % 1000, i // 13, i // 8,
                      stamp, None, stamp, stamp, stamp))  # fmt: skip
        if len(batch) == 200_000:
            connection.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
            batch = []
    connection.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
    connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    os.remove(path)
    return elapsed


def main() -> None:
    """Command line: migrate an empty database, then fill it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    summary = generate(args.database_url, args.clients, args.seed)
    print(summary)


if __name__ == "__main__":
    main()
