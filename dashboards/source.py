"""Where the dashboard's reads run: one function, so a read replica can be swapped in.

Every dashboard and CSV-export query executes on `analytics_connection()`. Without
ANALYTICS_DATABASE_URL that is the portal's own session connection. With it set, it is a
connection to that database (a PostgreSQL streaming replica in production, docs/operations.md)
through an engine of its own (`init_app`): heavy aggregates never load the primary.

The replica connection joins the request's database session, so it is opened on the first
dashboard query of a request and returned to its pool when Flask-SQLAlchemy removes the session
at the end of the request, exactly like the primary's. Only reads belong here: its
transactions are read-only, so a write sent to it fails loudly instead of landing on the wrong
server. What a request writes (the export's audit event) and what decides who is signed in go
through `db.session` to the primary, as everywhere else in the portal.
"""

from flask import Flask, current_app
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from coach_app.config import sqlalchemy_url
from coach_app.extensions import db

EXTENSION = "analytics_engine"


def engine_options(url: str, primary_options: dict) -> dict:
    """Engine options for ANALYTICS_DATABASE_URL: the primary's, read-only, one snapshot."""
    options = dict(primary_options)
    options["pool_pre_ping"] = not url.startswith("sqlite")  # as for the primary
    if url.startswith("postgresql"):
        # One snapshot per request: a dashboard load runs several queries, and on a replica
        # replaying WAL they would otherwise each see a slightly later state, so the
        # headline and the table below it could disagree. Read-only: writes go to the primary.
        options.setdefault("isolation_level", "REPEATABLE READ")
        options.setdefault("execution_options", {"postgresql_readonly": True})
    return options


def init_app(app: Flask) -> None:
    """Create the analytics engine when ANALYTICS_DATABASE_URL is set (it connects lazily)."""
    # An engine of our own rather than a Flask-SQLAlchemy bind: a bind adds its key to the
    # shared `db` object's metadata, and create_all/drop_all of any other app in the same
    # process (tests, scripts) would then look for that bind and fail.
    url = app.config.get("ANALYTICS_DATABASE_URL")
    if url:
        url = sqlalchemy_url(url)
        options = engine_options(url, app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        app.extensions[EXTENSION] = create_engine(url, **options)


def analytics_engine() -> Engine | None:
    """The current app's analytics engine, or None when dashboards read the primary."""
    return current_app.extensions.get(EXTENSION)


def analytics_connection() -> Connection:
    """The connection dashboard queries run on: the analytics database if set, else the primary."""
    engine = analytics_engine()
    if engine is None:
        return db.session.connection()
    # Joined to the request's session: opened on first use, returned to the pool when
    # Flask-SQLAlchemy removes the session at the end of the request.
    return db.session.connection(bind_arguments={"bind": engine})
