"""The Alembic migrations build exactly the schema the models describe."""

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from coach_app.extensions import db
from tests.conftest import make_app


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of the same engine the suite runs on."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    name = f"ft_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_builds_the_models_schema(fresh_database_url, instance_dir):
    app = make_app(fresh_database_url, instance_dir)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == [], f"models and migrations differ: {differences}"


def test_rounds_are_backfilled_from_the_interviews_and_the_downgrade_works(
    fresh_database_url, instance_dir
):
    from flask_migrate import downgrade

    app = make_app(fresh_database_url, instance_dir)
    with app.app_context():
        upgrade(revision="b7d1c2a9e4f0")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organizations (id, name, timezone, is_synthetic, created_at) "
                    "VALUES (1, 'Org', 'UTC', false, '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO users (id, organization_id, role, email, name, active, "
                    "created_at) VALUES (1, 1, 'client', 'c@x.example', 'C', true, "
                    "'2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO client_profiles (id, user_id, organization_id, coach_id, "
                    "created_at) VALUES (1, 1, 1, 1, '2026-01-01 00:00:00')"
                )
            )
            for opportunity_id in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO opportunities (id, organization_id, client_id, company, "
                        "role, outcome, created_at) VALUES (:id, 1, 1, 'Co', 'Role', 'open', "
                        "'2026-01-01 00:00:00')"
                    ),
                    {"id": opportunity_id},
                )
            for round_number in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO interviews (opportunity_id, client_id, round_number, "
                        "start_at, duration_minutes, timezone, format, created_at) VALUES "
                        "(1, 1, :n, '2026-01-02 10:00:00', 60, 'UTC', 'video', "
                        "'2026-01-01 00:00:00')"
                    ),
                    {"n": round_number},
                )
        upgrade(revision="e5a7c9b1d3f6")
        with db.engine.connect() as connection:
            rounds = connection.execute(
                text("SELECT id, rounds FROM opportunities ORDER BY id")
            ).all()
        assert [tuple(r) for r in rounds] == [(1, 2), (2, 0)]
        downgrade(revision="b7d1c2a9e4f0")
        upgrade()
        db.engine.dispose()
