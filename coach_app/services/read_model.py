"""Keeps the per-client summaries (models/summaries.py) in step with every write.

SQLAlchemy session events on the portal's sessions, like services/analytics_facts.py:
`after_flush` collects the clients each flush touched (their tasks, interviews,
opportunities, profile, or the time zone of their user or organisation); `before_commit`
recomputes their rows once, on the same connection, so the summaries commit or roll back
with the change itself. Services need no call of their own.

The fold job (`fold_summaries`, every minute from workers/cron.py) recomputes the rows whose
`fresh_until` has passed. Readers never depend on it: they recompute such rows live.
Writes that bypass the ORM (bulk loads through Core) are not seen: wrap them in `paused()`
and run `rebuild_read_model()` (`flask rebuild-read-model`) afterwards.
"""

from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import bindparam, delete, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite

from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    ClientSummary,
    FollowUpTask,
    Interview,
    Opportunity,
    Organization,
    User,
)
from coach_app.services.folding import fold_in_chunks
from coach_app.services.summary_sql import client_zone, compute_summaries

PAUSE_KEY = "read_model_paused"
TOUCHED_KEY = "read_model_touched"
CHUNK_SIZE = 1000
_SUMMARIES = ClientSummary.__table__
_FIGURES = [c.name for c in _SUMMARIES.columns if c.name != "client_id"]


def computed_at() -> datetime:
    """The instant summaries are computed at by the portal (tests replace it to move time)."""
    return datetime.now(UTC)


def write_summaries(connection, client_ids: Iterable[int], at: datetime | None = None) -> int:
    """Recompute and store these clients' rows (removing rows of vanished clients)."""
    ids = sorted({i for i in client_ids if i is not None})
    written = 0
    at = at or computed_at()
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        # Lock the clients first (PostgreSQL; SQLite writes one at a time anyway): a second
        # transaction on the same client then computes after this one commits and sees it.
        connection.execute(
            select(ClientProfile.id)
            .where(ClientProfile.id.in_(chunk))
            .order_by(ClientProfile.id)
            .with_for_update()
        )
        rows = compute_summaries(connection, chunk, at)
        gone = set(chunk) - {row["client_id"] for row in rows}
        if gone:
            connection.execute(delete(_SUMMARIES).where(_SUMMARIES.c.client_id.in_(sorted(gone))))
        if rows:
            connection.execute(_upsert(connection), rows)
        written += len(rows)
    return written


def _upsert(connection):
    """INSERT ... ON CONFLICT (client_id) DO UPDATE, in the connection's dialect."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_SUMMARIES)
    return statement.on_conflict_do_update(
        index_elements=[_SUMMARIES.c.client_id],
        set_={name: statement.excluded[name] for name in _FIGURES},
    )


def fold_summaries(now: datetime | None = None, *, chunk_size: int = 500) -> int:
    """Recompute the rows whose fresh_until has passed, a chunk per commit; returns how many.

    Safe to run twice or alongside portal writes: a row is only replaced if it still has the
    `as_of` read here, so a portal write that got there first (with newer figures) wins.
    """
    moment = now or computed_at()

    def next_chunk(last: int) -> dict[int, datetime]:
        return dict(
            db.session.execute(
                select(_SUMMARIES.c.client_id, _SUMMARIES.c.as_of)
                .where(_SUMMARIES.c.fresh_until <= moment, _SUMMARIES.c.client_id > last)
                .order_by(_SUMMARIES.c.client_id)
                .limit(chunk_size)
            ).all()
        )

    return fold_in_chunks(
        next_chunk, lambda connection, seen: _replace_if_unchanged(connection, seen, moment)
    )


def _replace_if_unchanged(connection, seen: dict[int, datetime], at: datetime) -> int:
    """Rewrite these rows in place, each only if it still has the `as_of` we saw."""
    rows = compute_summaries(connection, list(seen), at)
    if not rows:
        return 0
    result = connection.execute(
        update(_SUMMARIES)
        .where(
            _SUMMARIES.c.client_id == bindparam("row_id"),
            _SUMMARIES.c.as_of == bindparam("seen_as_of"),
        )
        .values({name: bindparam(name) for name in _FIGURES}),
        [{"row_id": row["client_id"], "seen_as_of": seen[row["client_id"]], **row} for row in rows],
    )
    return result.rowcount if result.rowcount >= 0 else len(rows)


def rebuild_read_model(*, chunk_size: int = CHUNK_SIZE) -> int:
    """Recompute every client's row (bulk loads, imports); the caller commits."""
    connection = db.session.connection()
    connection.execute(delete(_SUMMARIES))
    at = computed_at()
    written, last = 0, 0
    ids = select(ClientProfile.id).order_by(ClientProfile.id).limit(chunk_size)
    while True:
        chunk = connection.scalars(ids.where(ClientProfile.id > last)).all()
        if not chunk:
            return written
        written += write_summaries(connection, chunk, at)
        last = chunk[-1]


@contextmanager
def paused(session=None):
    """Stop the listener for a bulk load in this session; rebuild_read_model() afterwards."""
    session = session or db.session
    session.info[PAUSE_KEY] = True
    try:
        yield
    finally:
        session.info.pop(PAUSE_KEY, None)


def _changed(obj, *names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _touched(session) -> tuple[set[int], set[int], set[int]]:
    """Clients whose figures may have moved, users and organisations whose zone changed."""
    clients, users, orgs = set(), set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, FollowUpTask | Interview | Opportunity):
            clients.add(obj.client_id)
        elif isinstance(obj, ClientProfile):
            if obj not in session.dirty or _changed(
                obj, "coach_id", "archived_at", "organization_id", "user_id"
            ):
                clients.add(obj.id)
        elif isinstance(obj, User) and obj in session.dirty and _changed(obj, "timezone"):
            users.add(obj.id)
        elif isinstance(obj, Organization) and obj in session.dirty and _changed(obj, "timezone"):
            orgs.add(obj.id)
    return clients, users, orgs


def _after_flush(session, _flush_context) -> None:
    # Only collect here: a unit of work flushes many times (every autoflush), and the rows
    # need computing once, when the transaction is about to commit.
    if session.info.get(PAUSE_KEY):
        return
    touched = _touched(session)
    if any(touched):
        pending = session.info.setdefault(TOUCHED_KEY, (set(), set(), set()))
        for collected, new in zip(pending, touched, strict=True):
            collected.update(new)


def _before_commit(session) -> None:
    if session.info.get(PAUSE_KEY):
        session.info.pop(TOUCHED_KEY, None)
        return
    session.flush()  # the commit's own flush would come after this hook
    clients, users, orgs = session.info.pop(TOUCHED_KEY, (set(), set(), set()))
    if not (clients or users or orgs):
        return
    connection = session.connection()
    if users or orgs:
        _update_zones(connection, users, orgs)
    if clients:
        write_summaries(connection, clients)


def _update_zones(connection, users: set[int], orgs: set[int]) -> None:
    """A new zone changes no figure, only the stored zone of the clients it applies to."""
    zone = (
        select(client_zone())
        .select_from(ClientProfile)
        .join(User, User.id == ClientProfile.user_id)
        .join(Organization, Organization.id == ClientProfile.organization_id)
        .where(ClientProfile.id == _SUMMARIES.c.client_id)
        .scalar_subquery()
    )
    of_users = select(ClientProfile.id).where(ClientProfile.user_id.in_(sorted(users)))
    connection.execute(
        update(_SUMMARIES)
        .where(
            _SUMMARIES.c.client_id.in_(of_users) | _SUMMARIES.c.organization_id.in_(sorted(orgs))
        )
        .values(timezone=zone)
    )


def _forget(session, *_args) -> None:
    session.info.pop(TOUCHED_KEY, None)


_HOOKS = {
    "after_flush": _after_flush,
    "before_commit": _before_commit,
    "after_rollback": _forget,
}


def install() -> None:
    """Listen to the portal's sessions (idempotent: safe for every app the process builds)."""
    for name, hook in _HOOKS.items():
        if not event.contains(FlaskSession, name, hook):
            event.listen(FlaskSession, name, hook)
