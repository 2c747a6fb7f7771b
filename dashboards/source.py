"""Where the dashboard's reads run: one function, so a read replica can be swapped in.

Every dashboard and CSV-export query executes on `analytics_connection()`. Without
ANALYTICS_DATABASE_URL that is the portal's own session connection. With it set, it is a
connection to that database (a PostgreSQL streaming replica in production, docs/operations.md)
through the "analytics" bind: heavy aggregates never load the primary.

The replica connection joins the request's database session, so it is opened on the first
dashboard query of a request and returned to its pool when Flask-SQLAlchemy removes the session
at the end of the request, exactly like the primary's. Only reads belong here: the bind is
read-only, so a write sent to it fails loudly instead of landing on the wrong server. What a
request writes (the export's audit event) and what decides who is signed in go through
`db.session` to the primary, as everywhere else in the portal.
"""

from sqlalchemy.engine import Connection

from coach_app.extensions import db

BIND_KEY = "analytics"


def analytics_bind(url: str, primary_options: dict) -> dict:
    """The SQLALCHEMY_BINDS entry for ANALYTICS_DATABASE_URL (engine options included)."""
    options = {key: value for key, value in primary_options.items() if key != "url"}
    options["pool_pre_ping"] = not url.startswith("sqlite")  # as for the primary
    if url.startswith("postgresql"):
        # One snapshot per request: a dashboard load runs several queries, and on a replica
        # replaying WAL they would otherwise each see a slightly later state, so the
        # headline and the table below it could disagree. Read-only: writes go to the primary.
        options.setdefault("isolation_level", "REPEATABLE READ")
        options.setdefault("execution_options", {"postgresql_readonly": True})
    return {"url": url, **options}


def analytics_connection() -> Connection:
    """The connection dashboard queries run on: the analytics bind when set, else the primary."""
    engine = db.engines.get(BIND_KEY)
    if engine is None:
        return db.session.connection()
    return db.session.connection(bind_arguments={"bind": engine})
