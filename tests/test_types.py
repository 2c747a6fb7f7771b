"""UTCDateTime: aware UTC in, naive UTC stored, aware UTC out, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from coach_app.extensions import db
from coach_app.models import Organization


def _stored_back(organization_id):
    db.session.expire_all()
    return db.session.scalar(
        select(Organization.created_at).where(Organization.id == organization_id)
    )


def test_datetimes_come_back_aware_in_utc(app):
    moment = datetime(2026, 3, 8, 6, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    organization = Organization(name="Types", timezone="UTC", created_at=moment)
    db.session.add(organization)
    db.session.commit()
    back = _stored_back(organization.id)
    assert back == moment and back.tzinfo == UTC
    assert back.utcoffset() == timedelta(0)


def test_values_written_without_microseconds_read_the_same(app):
    organization = Organization(name="Types", timezone="UTC", created_at=datetime.now(UTC))
    db.session.add(organization)
    db.session.commit()
    # Another writer (an import, a psql session) may store whole seconds.
    db.session.execute(
        text("UPDATE organizations SET created_at = '2026-03-08 06:30:15' WHERE id = :id"),
        {"id": organization.id},
    )
    db.session.commit()
    assert _stored_back(organization.id) == datetime(2026, 3, 8, 6, 30, 15, tzinfo=UTC)


def test_naive_datetimes_are_refused(app):
    db.session.add(Organization(name="Types", timezone="UTC", created_at=datetime(2026, 3, 8)))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
    db.session.rollback()
