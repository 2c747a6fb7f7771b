"""Where the dashboard's reads run: one function, so a read replica can be swapped in.

Every dashboard and CSV-export query executes on `analytics_connection()`. Today it is the
portal's own session connection; with ANALYTICS_DATABASE_URL set (issue 15) it becomes a
connection to a PostgreSQL streaming replica, so heavy aggregates never load the primary.
"""

from sqlalchemy.engine import Connection

from coach_app.extensions import db


def analytics_connection() -> Connection:
    """The connection dashboard queries run on (the primary's session connection for now)."""
    return db.session.connection()
