"""Scheduled folds of a read model: rewrite the rows a passed deadline made stale, in chunks.

Both read models (the client summaries and the analytics facts) fold the same way: read a
chunk of stale rows with the stamp each had, recompute them, and replace each one only if its
stamp is unchanged, so a portal write that got there first (with newer figures) wins.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError, OperationalError

from coach_app.extensions import db


def fold_in_chunks(
    next_chunk: Callable[[int], dict[int, datetime]],
    rewrite: Callable[[object, dict[int, datetime]], int],
) -> int:
    """Fold chunk after chunk, a commit each; returns the rows rewritten.

    `next_chunk(last_id)` returns {id: stamp seen} for the next stale rows after `last_id`;
    `rewrite(connection, seen)` replaces those still carrying their stamp and counts them.
    """
    written, last = 0, 0
    while True:
        seen = next_chunk(last)
        if not seen:
            db.session.commit()  # ends the read transaction of the last empty chunk
            return written
        last = max(seen)
        try:
            written += rewrite(db.session.connection(), seen)
            db.session.commit()
        except (IntegrityError, OperationalError):
            # Busy with a portal transaction: this run stops, the next one picks them up.
            db.session.rollback()
            return written
