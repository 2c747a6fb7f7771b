"""Build a large synthetic organisation fast, for benchmarks.

    python -m benchmarks.generate --clients 100000 --database-url sqlite:////tmp/big.sqlite3

Scale (per 100,000 clients): 500 coaches, 50 organizers running 400 cohorts (four clients in
five are in one), 300,000 opportunities, 500,000 interviews, the playbook's tasks for each
(about 4,260,000) and about 10,500 live sessions (plus 10,000 expired ones). Rows go in with
executemany (SQLite) or COPY (PostgreSQL) into tables whose indexes and constraints are
rebuilt once at the end (benchmarks/bulk.py). Deadlines come from the playbook:
`schedule_interview` is called for every distinct interview shape (start, zone, duration) and
memoised, since interviews start on a quarter-hour grid. The life cycle is the services'
(benchmarks/lifecycle.py): a later round waives the earlier round's pending check-ins, a
decision waives what DECISION_WAIVES lists, and a rejection adds the rejection thanks.
"""

import argparse
import hashlib
import random
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import create_engine, text

from benchmarks.bulk import Progress, Writer, defer_indexes, fmt
from benchmarks.lifecycle import Batch, plan_opportunity

ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"]
# The data is laid out around the hour the benchmark runs, not a fixed date: the pages are
# measured against the real clock, and data anchored to a past date drifts out of the 30-day
# window (nothing left due, every open task long missed) as the calendar moves on.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
PASSWORD_HASH = "pbkdf2:sha256:1000$bench$" + "0" * 64  # nobody signs in to benchmark data
BIG_COACH_CLIENTS = 500
CLIENTS_PER_COHORT = 250
BATCH_TASKS = 200_000

BULK_TABLES = ("users", "client_profiles", "cohorts", "cohort_members", "opportunities",
               "interviews", "referrals", "follow_up_tasks", "user_sessions")  # fmt: skip
USER_COLS = ["id", "organization_id", "role", "email", "name", "password_hash", "timezone",
             "active", "created_at"]  # fmt: skip
SESSION_COLS = ["id", "user_id", "token_hash", "method", "remember", "created_at", "last_seen_at",
                "reauthenticated_at", "expires_at"]  # fmt: skip


def coach_user_id(client_index: int, coaches: int) -> int:
    """Coach 1 (user id 2) gets the first 500 clients, the benchmark's 'big coach'."""
    if client_index < BIG_COACH_CLIENTS or coaches == 1:
        return 2
    return 3 + (client_index % (coaches - 1))


@lru_cache(maxsize=1)
def _created() -> str:
    return fmt(NOW - timedelta(days=200))


def people(writer: Writer, clients: int) -> tuple[int, list[str]]:
    """Organisation, admin, coaches, clients, organizers, cohorts; returns coaches and zones."""
    coaches = max(1, clients // 200)
    created = _created()
    organization = (1, "Benchmark Coaching Network", "America/Chicago", True, created)
    writer.insert("organizations", ["id", "name", "timezone", "is_synthetic", "created_at"],
                  [organization])  # fmt: skip
    # Ids: admin 1, coaches 2.., clients from coaches + 2 (run.py relies on it), organizers last.
    users = [
        (1, 1, "admin", "admin@bench.example.com", "Admin", PASSWORD_HASH, None, True, created)
    ]
    users += [(1 + c, 1, "coach", f"coach{c}@bench.example.com", f"Coach {c}", PASSWORD_HASH,
               None, True, created) for c in range(1, coaches + 1)]  # fmt: skip
    first_client_user = coaches + 2
    zones = [ZONES[i % len(ZONES)] for i in range(clients)]
    users += [(first_client_user + i, 1, "client", f"client{i}@bench.example.com", f"Client {i}",
               PASSWORD_HASH, zones[i], True, created) for i in range(clients)]  # fmt: skip
    organizers = max(1, coaches // 10)
    first_organizer = first_client_user + clients
    users += [(first_organizer + k, 1, "organizer", f"organizer{k}@bench.example.com",
               f"Organizer {k}", PASSWORD_HASH, None, True, created)
              for k in range(organizers)]  # fmt: skip
    writer.insert("users", USER_COLS, users)
    writer.insert("client_profiles", ["id", "user_id", "organization_id", "coach_id", "created_at"],
                  [(i + 1, first_client_user + i, 1, coach_user_id(i, coaches), created)
                   for i in range(clients)])  # fmt: skip
    cohorts = max(1, clients // CLIENTS_PER_COHORT)
    starts = (NOW - timedelta(days=200)).date()
    writer.insert("cohorts", ["id", "organization_id", "organizer_id", "name", "starts_on",
                              "created_at"],
                  [(k + 1, 1, first_organizer + k % organizers, f"Cohort {k + 1}", starts, created)
                   for k in range(cohorts)])  # fmt: skip
    writer.insert("cohort_members", ["cohort_id", "client_id", "added_at"],
                  [(i // CLIENTS_PER_COHORT % cohorts + 1, i + 1, created)
                   for i in range(clients) if i % 5 != 4])  # fmt: skip
    writer.insert("user_sessions", SESSION_COLS, sessions(users, coaches))
    writer.commit()
    return coaches, zones


def sessions(users: list[tuple], coaches: int) -> list[tuple]:
    """One live session per staff member and per tenth client, and as many expired ones."""
    rows = []
    for user in users:
        user_id, role = user[0], user[2]
        if role == "client" and user_id % 10:
            continue
        for index, (seen, expires) in enumerate(((1, 11), (400, 390))):  # live, then expired
            if index and role != "client":
                continue
            token = hashlib.sha256(f"bench-session:{user_id}:{index}".encode()).hexdigest()
            last = fmt(NOW - timedelta(hours=seen))
            rows.append((len(rows) + 1, user_id, token, "password", False, last, last, last,
                         fmt(NOW + timedelta(hours=expires - seen))))  # fmt: skip
    return rows


def generate(database_url: str, clients: int, seed: int = 1) -> dict:
    """Fill an empty, migrated database; return counts, timings and rows per second."""
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
    deferred = defer_indexes(engine, BULK_TABLES)
    coaches, zones = people(writer, clients)
    counts = work_history(writer, rng, clients, zones, coaches + 2)
    load_seconds = time.perf_counter() - started
    progress = Progress("indexes", len(deferred))
    with engine.begin() as connection:
        for ddl in deferred:
            connection.exec_driver_sql(ddl)
            progress.advance(1)
    index_seconds = time.perf_counter() - started - load_seconds
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in BULK_TABLES:
                if table != "cohort_members":
                    connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    ))  # fmt: skip
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {
        "coaches": coaches,
        "clients": clients,
        **counts,
        "seconds": round(time.perf_counter() - started, 1),
        "load_seconds": round(load_seconds, 1),
        "index_seconds": round(index_seconds, 1),
        "rows_per_second": writer.rates(),
    }


def work_history(writer: Writer, rng, clients: int, zones: list[str], first_user: int) -> dict:
    """Opportunities, interviews, referrals and tasks, in batches; returns their counts."""
    opportunities = clients * 3
    progress = Progress("interviews", clients * 5)
    # Rounds per opportunity: 300k opportunities carry 500k interviews (1, 2 or 3 rounds).
    extra_rounds = clients * 5 - opportunities
    last_activity: list[datetime | None] = [None] * clients
    batch = Batch()
    ids = {"interview": 0, "task": 0, "referral": 0}
    waived = 0
    for opp_id in range(1, opportunities + 1):
        client = (opp_id - 1) % clients
        rounds = 1
        while extra_rounds > 0 and rounds < 3 and rng.random() < 0.5:
            rounds += 1
            extra_rounds -= 1
        planned = plan_opportunity(rng, opp_id, client, zones[client], rounds, NOW, ids,
                                   actor=first_user + client, created=_created())  # fmt: skip
        waived += planned.waived
        batch.add(planned)
        if planned.last_done and (last_activity[client] is None
                                  or planned.last_done > last_activity[client]):  # fmt: skip
            last_activity[client] = planned.last_done
        if len(batch.tasks) >= BATCH_TASKS:
            progress.advance(batch.write(writer))
            batch = Batch()
    progress.advance(batch.write(writer))
    set_last_activity(writer, last_activity)
    writer.commit()
    return {
        "opportunities": opportunities,
        "interviews": ids["interview"],
        "tasks": ids["task"],
        "waived_tasks": waived,
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


def main() -> None:
    """Command line: fill an empty, migrated database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(generate(args.database_url, args.clients, args.seed))


if __name__ == "__main__":
    main()
