"""Run every benchmark at several scales on SQLite and PostgreSQL; print a JSON report.

    python -m benchmarks.run --scales 1000,10000,100000 --engines sqlite,postgresql \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5439/postgres --out results.json

`scripts/bench.sh` starts the servers and calls this; docs/benchmarks.md has the results.
Each figure comes with a floor measured in the same run on the same machine:
- pages: in-process server time and SQL queries per request; requests per second under
  gunicorn (2 workers) against a minimal Flask endpoint doing one indexed lookup, measured
  in three interleaved rounds (the ratio is the median of the per-round ratios);
- dashboard: full load and a filter change, against one bare GROUP BY over the task table
  that computes only the compliance bands and their offer rates;
- reminders: the sweep's due-row query and claim; delivery messages per second per worker
  against a bare loop sending the same messages over one SMTP connection.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, text

from benchmarks.common import ROOT, USER_AGENT, free_port, gunicorn, log, summary, wrk
from benchmarks.generate import NOW, coach_user_id, generate
from benchmarks.read_models import build_read_models

BENCH_PASSWORD = "benchmark-password"
SAMPLES = 30
THROUGHPUT_ROUNDS = 3


def fresh_database(engine_name: str, scale: int, pg_url: str | None) -> str:
    """An empty database URL for this engine and scale."""
    if engine_name == "sqlite":
        path = Path("/tmp/ft-bench") / f"bench-{scale}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"ft_bench_{scale}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


def make_app(database_url: str):
    """The real app factory, pointed at the benchmark database."""
    from coach_app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "MAIL_BACKEND": "memory",
            "TESTING": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def prepare(database_url: str, clients: int) -> dict:
    """Migrate, generate, build the read models, set benchmark passwords."""
    from flask_migrate import upgrade

    from coach_app.extensions import db
    from coach_app.models import User

    app = make_app(database_url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    counts = generate(database_url, clients)
    with app.app_context():
        counts.update(build_read_models())
        counts["database_mb"] = database_mb(database_url)
        for user_id in (1, 2, client_user_id(clients)):
            user = db.session.get(User, user_id)
            user.set_password(BENCH_PASSWORD)
        db.session.commit()
    return counts


def database_mb(database_url: str) -> int:
    """Size on disk of the benchmark database (tables, indexes, TOAST), in MB."""
    engine = create_engine(database_url)
    try:
        if engine.dialect.name == "sqlite":
            return round(Path(engine.url.database).stat().st_size / 2**20)
        with engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            return round(size.scalar() / 2**20)
    finally:
        engine.dispose()


def client_user_id(clients: int) -> int:
    """The user id of client 0 (a client of the big coach)."""
    coaches = max(1, clients // 200)
    assert coach_user_id(0, coaches) == 2
    return coaches + 2


def count_queries(engine) -> list[int]:
    """Attach a statement counter to the engine; returns a one-item list to read."""
    counter = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args):
        counter[0] += 1

    return counter


def page_times(app, email: str, paths: dict[str, str]) -> dict:
    """Median/p95 server time and SQL statements per request, in-process.

    No app context is held around the requests: each one opens its own database session
    and loads the signed-in user again, as it does under gunicorn.
    """
    from coach_app.extensions import db

    with app.app_context():
        counter = count_queries(db.engine)
    results = {}
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": BENCH_PASSWORD})
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        samples, queries = [], []
        for _ in range(SAMPLES):
            before = counter[0]
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            queries.append(counter[0] - before)
        results[name] = {**summary(samples), "queries": statistics.median(queries)}
    return results


def session_cookie(base: str, email: str, path: str) -> str:
    """Sign in over HTTP, open `path` once, and return the session cookie header value.

    The first page after sign-in may store its CSRF token in the session, which rewrites the
    cookie: the cookie is read after that, so wrk sends the one the session settled on.
    """
    import re

    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    form = session.get(f"{base}/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = session.post(
        f"{base}/auth/login",
        data={"email": email, "password": BENCH_PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"benchmark sign-in failed for {email}: {response.status_code}")
    session.get(f"{base}{path}", allow_redirects=False)
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def throughput(database_url: str, paths: dict, rounds: int = THROUGHPUT_ROUNDS) -> dict:
    """Requests per second under gunicorn for each page and for the floor endpoint.

    Both servers run side by side and are measured in turn, `rounds` times: one 10 s wrk run
    swings by a tenth on this shared machine, so each page's ratio is the median of its
    per-round ratios to the floor measured just before it.
    """
    import requests

    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "benchmark-secret",
        "LOG_JSON": "0",
    }
    samples: dict[str, list[dict]] = {"floor": [], **{name: [] for name in paths}}
    ratios: dict[str, list[float]] = {name: [] for name in paths}
    with (
        gunicorn("benchmarks.floor_app:create_floor_app()", env) as floor_base,
        gunicorn("coach_app:create_app()", env) as base,
    ):
        cookies = {}
        for name, (path, email) in paths.items():
            cookies[name] = session_cookie(base, email, path)
            # wrk counts redirects as successes: make sure the page itself answers.
            check = requests.get(
                base + path,
                headers={"Cookie": cookies[name], "User-Agent": USER_AGENT},
                allow_redirects=False,
            )
            if check.status_code != 200:
                raise RuntimeError(f"{path} answered {check.status_code} under gunicorn")
            if "set-cookie" in check.headers:
                raise RuntimeError(f"{path} rewrote the session cookie: the sign-in did not hold")
        for _ in range(rounds):
            floor = wrk(f"{floor_base}/floor/2")
            samples["floor"].append(floor)
            for name, (path, _email) in paths.items():
                page = wrk(base + path, cookie=cookies[name])
                samples[name].append(page)
                ratios[name].append(page["rps"] / floor["rps"])
    results = {}
    for name, runs in samples.items():
        results[name] = {
            "rps": statistics.median(run["rps"] for run in runs),
            "rps_samples": [run["rps"] for run in runs],
            "non_2xx": sum(run["non_2xx"] for run in runs),
        }
        if name in ratios:
            results[name]["ratio_to_floor"] = round(statistics.median(ratios[name]), 3)
            results[name]["ratio_samples"] = [round(r, 3) for r in ratios[name]]
    return results


DASHBOARD_SCRIPT = """
import json, sys, time
from benchmarks.run import make_app
from coach_app.extensions import db
from coach_app.models import User
from dashboards import callbacks

app = make_app(sys.argv[1])
with app.app_context():
    admin = db.session.get(User, 1)
    blank = (None, None, None, None, None, None)
    def full(values):
        callbacks.overview_outputs(admin, *values)
        callbacks.cohort_outputs(admin, *values)
        callbacks.coach_outputs(admin, *values)
    full(blank)  # warm caches and imports, as a running server would be
    t = []
    for _ in range(5):
        s = time.perf_counter(); full(blank); t.append(time.perf_counter() - s)
    f = []
    for _ in range(5):
        s = time.perf_counter()
        callbacks.overview_outputs(admin, None, None, None, [2], None, None)
        f.append(time.perf_counter() - s)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) benchmark process
    # this one was forked from, while VmHWM belongs to this program's own memory.
    status = open("/proc/self/status").read()
    rss = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps({"full_load_s": round(sorted(t)[2], 3),
                      "filter_change_s": round(sorted(f)[2], 3), "peak_rss_mb": round(rss)}))
"""

BARE_GROUP_BY = """
SELECT band, COUNT(*) AS opportunities, SUM(CASE WHEN outcome = 'offer' THEN 1 ELSE 0 END)
FROM (
  SELECT o.id, o.outcome,
    CASE WHEN 1.0 * SUM(CASE WHEN t.completed_at IS NOT NULL AND t.completed_at <= t.due_at
                             THEN 1 ELSE 0 END)
              / NULLIF(SUM(CASE WHEN t.completed_at IS NOT NULL OR t.due_at < :now
                                THEN 1 ELSE 0 END), 0) >= 0.8 THEN 'high'
         WHEN 1.0 * SUM(CASE WHEN t.completed_at IS NOT NULL AND t.completed_at <= t.due_at
                             THEN 1 ELSE 0 END)
              / NULLIF(SUM(CASE WHEN t.completed_at IS NOT NULL OR t.due_at < :now
                                THEN 1 ELSE 0 END), 0) >= 0.5 THEN 'medium'
         ELSE 'low' END AS band
  FROM follow_up_tasks t JOIN opportunities o ON o.id = t.opportunity_id
  WHERE o.outcome IN ('offer', 'rejected', 'no_response') AND t.waived_reason IS NULL
  GROUP BY o.id, o.outcome
) per_opportunity GROUP BY band
"""


def dashboard(database_url: str) -> dict:
    """Dashboard full load and filter change (in a fresh process, for its peak memory)."""
    output = subprocess.run(
        [sys.executable, "-c", DASHBOARD_SCRIPT, database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "LOG_JSON": "0", "LOG_LEVEL": "WARNING"},
    )
    if output.returncode != 0:
        return {"error": output.stderr[-800:]}
    result = json.loads(output.stdout.strip().splitlines()[-1])
    engine = create_engine(database_url)
    now = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
    with engine.connect() as connection:
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            connection.execute(text(BARE_GROUP_BY), {"now": now}).all()
            samples.append(time.perf_counter() - started)
    engine.dispose()
    result["bare_group_by_s"] = round(sorted(samples)[1], 3)
    result["full_load_ratio"] = round(result["full_load_s"] / result["bare_group_by_s"], 2)
    result["filter_change_ratio"] = round(result["filter_change_s"] / result["bare_group_by_s"], 2)
    return result


def reminders(database_url: str, app, messages: int = 2000) -> dict:
    """Sweep query time over the open tasks' outbox rows, and delivery throughput."""
    from aiosmtpd.controller import Controller

    from coach_app.extensions import db
    from workers import delivery

    engine = create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    stamp = (lambda d: d.replace(tzinfo=None).isoformat(" ", "microseconds")) if sqlite else (
        lambda d: d
    )  # fmt: skip
    # One pending reminder per open task (due two hours before its deadline), set up in SQL.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM outbox_messages"))
        created = connection.execute(
            text(
                "INSERT INTO outbox_messages (dedupe_key, organization_id, recipient_id, to_email,"
                " kind, channel, task_id, subject, body_text, due_at, status, attempts, created_at)"
                " SELECT 'task:' || t.id || '\\:due_soon', 1, u.id, u.email, 'due_soon', 'email',"
                " t.id, 'Two hours left', 'A reminder', :later, 'pending', 0, :now"
                " FROM follow_up_tasks t JOIN client_profiles c ON c.id = t.client_id"
                " JOIN users u ON u.id = c.user_id"
                " WHERE t.completed_at IS NULL AND t.waived_reason IS NULL"
            ),
            # All waiting in the future, as in a live system; a sample is made due below.
            {"now": stamp(NOW), "later": stamp(datetime.now(UTC) + timedelta(days=2))},
        ).rowcount
        connection.execute(text("ANALYZE"))
    due_query = text(
        "SELECT id FROM outbox_messages WHERE status = 'pending' AND due_at <= :now "
        "ORDER BY due_at LIMIT 500"
    )
    plan_sql = ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + due_query.text
    moment = stamp(datetime.now(UTC))
    with engine.connect() as connection:
        plan = " | ".join(
            str(row[-1]) for row in connection.execute(text(plan_sql), {"now": moment})
        )
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            connection.execute(due_query, {"now": moment}).all()
            samples.append((time.perf_counter() - started) * 1000)
    result = {"open_task_reminders": created, "due_query_plan": plan, **summary(samples)}

    received = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            received.append(len(envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        import smtplib
        from email.message import EmailMessage

        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as connection:
            for i in range(messages):
                message = EmailMessage()
                message["From"], message["To"] = "bench@example.com", f"c{i}@example.com"
                message["Subject"] = "Two hours left"
                message.set_content("A reminder")
                connection.send_message(message)
        bare = messages / (time.perf_counter() - started)

        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        with app.app_context():
            # Make `messages` rows due, one per recipient, then claim and deliver them.
            ids = (
                db.session.execute(
                    text(
                        "SELECT MIN(id) FROM outbox_messages WHERE status = 'pending'"
                        " GROUP BY recipient_id LIMIT :n"
                    ),
                    {"n": messages},
                )
                .scalars()
                .all()
            )
            past = datetime.now(UTC) - timedelta(minutes=1)
            db.session.execute(
                # Sent as plain messages (no task): quiet hours and deadline checks, which
                # depend on the hour the benchmark runs, would otherwise hold some back.
                text("UPDATE outbox_messages SET due_at = :due, kind = 'invitation', "
                     "task_id = NULL WHERE id IN ("
                     + ",".join(str(int(i)) for i in ids) + ")"),
                {"due": stamp(past)},
            )  # fmt: skip
            db.session.commit()
            started = time.perf_counter()
            token, claimed = delivery.claim_due(limit=len(ids))
            claim_seconds = time.perf_counter() - started
            started = time.perf_counter()
            sent = 0
            for batch in delivery.batches_by_recipient(claimed):
                stats = delivery.deliver(batch, token, app.config)
                sent += stats.get("sent", 0)
            worker = sent / (time.perf_counter() - started)
    finally:
        controller.stop()
    engine.dispose()
    result.update(
        claim_ms=round(claim_seconds * 1000, 1),
        delivered=sent,
        bare_smtp_per_s=round(bare),
        worker_per_s=round(worker),
        worker_ratio=round(worker / bare, 2),
    )
    return result


def run_scale(engine_name: str, clients: int, pg_url: str | None, with_load: bool) -> dict:
    """Every measurement for one engine at one scale."""
    log(f"== {engine_name}, {clients:,} clients")
    database_url = fresh_database(engine_name, clients, pg_url)
    counts = prepare(database_url, clients)
    log(f"   generated: {counts}")
    app = make_app(database_url)
    client_id = client_user_id(clients)
    with app.app_context():
        from coach_app.extensions import db

        interview = db.session.execute(
            text("SELECT i.id FROM interviews i WHERE i.client_id = 1 ORDER BY i.id LIMIT 1")
        ).scalar()
        coach_email = db.session.execute(text("SELECT email FROM users WHERE id = 2")).scalar()
        client_email = db.session.execute(
            text("SELECT email FROM users WHERE id = :id"), {"id": client_id}
        ).scalar()
    pages = {
        "pipeline": ("/coach/", coach_email),  # the default page: 50 clients
        "pipeline-25": ("/coach/?per_page=25", coach_email),
        "exceptions": ("/coach/exceptions", coach_email),
        "home": ("/me/", client_email),
        "checklist": (f"/me/interviews/{interview}", client_email),
    }
    result = {"engine": engine_name, "clients": clients, "generated": counts}
    result["server_time"] = {}
    for name, (path, email) in pages.items():
        result["server_time"].update(page_times(app, email, {name: path}))
    log(f"   server time: {result['server_time']}")
    if with_load:
        result["throughput"] = throughput(database_url, pages)
        log(f"   throughput: {result['throughput']}")
    with app.app_context():
        from coach_app.services.analytics_facts import refresh_stale

        # What the 5-minute cron job does in a running system: fold in the deadlines that
        # passed since the facts were built (the page measurements above take minutes).
        started = time.perf_counter()
        refreshed = refresh_stale()
        result["analytics_refresh"] = {
            "rows": refreshed,
            "seconds": round(time.perf_counter() - started, 2),
        }
    log(f"   analytics refresh: {result['analytics_refresh']}")
    result["dashboard"] = dashboard(database_url)
    log(f"   dashboard: {result['dashboard']}")
    result["reminders"] = reminders(database_url, app)
    log(f"   reminders: {result['reminders']}")
    return result


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1000,10000,100000")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL"))
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn + wrk runs")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "runs": [],
    }
    for engine_name in args.engines.split(","):
        if engine_name == "postgresql" and not args.pg_url:
            log("skipping postgresql: no --pg-url")
            continue
        for scale in (int(s) for s in args.scales.split(",")):
            report["runs"].append(run_scale(engine_name, scale, args.pg_url, not args.no_load))
            if args.out:
                Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
