"""Column types shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current moment as an aware UTC datetime (used as a column default)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Store naive UTC, hand back aware UTC, refuse naive input.

    SQLite has no time zone type, so every datetime is normalised to UTC on the way in
    and tagged as UTC on the way out; the same code then works on PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def result_processor(self, dialect, coltype):
        """Aware UTC datetimes from the driver's values (naive UTC text or datetimes).

        In place of TypeDecorator's process_result_value: pages read hundreds of datetimes,
        and its wrapper plus `replace(tzinfo=...)` cost over a microsecond each.
        """
        parse = self.impl_instance.result_processor(dialect, coltype)
        if parse is None:  # the driver hands back naive datetimes itself (psycopg)

            def process(value):
                return None if value is None else value.replace(tzinfo=UTC)

            return process

        def process(value):
            if value is None:
                return None
            try:
                # SQLite's stored text, read as UTC in one C call.
                return datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                return parse(value).replace(tzinfo=UTC)

        return process
