"""The sweep's claim with a large backlog of pending reminders (issue 15: <= 0.1 s at 1.66 M).

    python -m benchmarks.claim --engine sqlite --pending 1660000
    python -m benchmarks.claim --engine postgresql \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5439/postgres --pending 1660000

Builds a database with the migrations, `--recipients` clients and `--pending` pending outbox
rows spread over them (due in the coming days, as in a live system), makes `--due` rows of
different people due now, and times `workers.delivery.claim_batches` (the sweep's claim, with
the per-person widening, in delivery batches of 200) in rounds, putting the claimed rows
back to pending between rounds.
Prints one JSON object: median and p95 ms and the query plans of the claim's two queries.
"""

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import ROOT, log

SQLITE_PATH = Path("/tmp/ft-bench/claim.sqlite3")


def fresh_database(engine_name: str, pg_url: str | None) -> str:
    """An empty database for this run."""
    if engine_name == "sqlite":
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(SQLITE_PATH) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{SQLITE_PATH}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text('DROP DATABASE IF EXISTS "ft_bench_claim" WITH (FORCE)'))
        connection.execute(text('CREATE DATABASE "ft_bench_claim"'))
    admin.dispose()
    return pg_url.rsplit("/", 1)[0] + "/ft_bench_claim"


def fill(database_url: str, recipients: int, pending: int) -> None:
    """Users and pending outbox rows, generated inside the database (fast on both engines)."""
    engine = create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = (lambda d: d.replace(tzinfo=None).isoformat(" ")) if sqlite else (lambda d: d)
    series = (
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) "
        "SELECT n FROM s"
        if sqlite
        else "SELECT n FROM generate_series(1, :count) AS n"
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, timezone, is_synthetic, require_two_factor,"
                " created_at) VALUES (1, 'Bench', 'UTC', false, false, :now)"
            ),
            {"now": stamp(now)},
        )
        connection.execute(
            text(
                "INSERT INTO users (id, organization_id, role, email, name, timezone, active,"
                " created_at) SELECT n, 1, 'client', 'c' || n || '@bench.example', 'C' || n,"
                f" 'UTC', true, :now FROM ({series}) AS q"
            ),
            {"count": recipients, "now": stamp(now)},
        )
        # Row n belongs to person n % recipients, due over the next 14 days.
        due = (
            "datetime(:now, '+' || (3600 + (n * 7919) % 1209600) || ' seconds')"
            if sqlite
            else "CAST(:now AS timestamptz)"
            " + ((3600 + (CAST(n AS bigint) * 7919) % 1209600) * interval '1 second')"
        )
        connection.execute(
            text(
                "INSERT INTO outbox_messages (dedupe_key, organization_id, recipient_id, to_email,"
                " kind, channel, subject, body_text, due_at, status, attempts, created_at)"
                " SELECT 'bench:' || n, 1, 1 + n % :recipients, 'c@bench.example', 'due_soon',"
                f" 'email', 'Two hours left', 'A reminder', {due}, 'pending', 0, :now"
                f" FROM ({series}) AS q"
            ),
            {"count": pending, "recipients": recipients, "now": stamp(now)},
        )
        connection.execute(text("ANALYZE"))
    engine.dispose()


def plans(engine, now: datetime, sqlite: bool) -> dict:
    """EXPLAIN of the claim's due-row query and of its per-person widening."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from workers import delivery

    dialect = sqlite_dialect.dialect() if sqlite else postgresql.dialect()
    result = {}
    with engine.connect() as connection:
        for name, statement in delivery.claim_statements(now, 5000, list(range(1, 501))).items():
            compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = connection.execute(text(prefix + str(compiled))).all()
            result[name] = " | ".join(str(row[-1]).strip() for row in rows)
    return result


def measure(database_url: str, due: int, rounds: int) -> dict:
    """Median and p95 of claim_due over `rounds`, each with `due` rows of different people due."""
    from benchmarks.run import make_app
    from coach_app.extensions import db
    from workers import delivery

    app = make_app(database_url)
    samples = []
    with app.app_context():
        engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        now = datetime.now(UTC)
        past = now - timedelta(minutes=1)
        ids = db.session.scalars(
            text("SELECT MIN(id) FROM outbox_messages GROUP BY recipient_id ORDER BY 1 LIMIT :n"),
            {"n": due},
        ).all()
        id_list = ",".join(str(int(i)) for i in ids)
        stamp = past.replace(tzinfo=None).isoformat(" ") if sqlite else past
        for _ in range(rounds):
            db.session.execute(
                text(
                    "UPDATE outbox_messages SET due_at = :due, status = 'pending',"
                    f" claim_token = NULL, claimed_at = NULL WHERE id IN ({id_list})"
                ),
                {"due": stamp},
            )
            db.session.commit()
            started = time.perf_counter()
            batches = delivery.claim_batches(datetime.now(UTC), config=app.config)
            samples.append((time.perf_counter() - started) * 1000)
            claimed = sum(len(batch) for _token, batch in batches)
            assert claimed == len(ids), (claimed, len(ids))
        plan = plans(engine, datetime.now(UTC), sqlite)
    ordered = sorted(samples)
    return {
        "claimed": len(ids),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "plans": plan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=1_660_000)
    parser.add_argument("--due", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="measure the last run's database")
    args = parser.parse_args()
    from flask_migrate import upgrade

    from benchmarks.run import make_app

    if args.keep:
        url = (
            f"sqlite:///{SQLITE_PATH}"
            if args.engine == "sqlite"
            else args.pg_url.rsplit("/", 1)[0] + "/ft_bench_claim"
        )
    else:
        url = fresh_database(args.engine, args.pg_url)
    with make_app(url).app_context():
        upgrade(directory=str(ROOT / "migrations"))
    if not args.keep:
        started = time.perf_counter()
        fill(url, args.recipients, args.pending)
        log(f"filled {args.pending:,} pending rows in {time.perf_counter() - started:.0f}s")
    result = {"engine": args.engine, "pending": args.pending, "recipients": args.recipients}
    result.update(measure(url, args.due, args.rounds))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
