"""Migration f2b2c0de2fa0 (second factor) upgrades existing organisations and downgrades."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from coach_app.extensions import db
from tests.conftest import make_app
from tests.test_migrations import fresh_database_url  # noqa: F401  (fixture)


def test_existing_organisations_do_not_require_it_and_the_downgrade_works(
    fresh_database_url,  # noqa: F811
    instance_dir,
):
    app = make_app(fresh_database_url, instance_dir)
    with app.app_context():
        upgrade(revision="e5a7c9b1d3f6")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organizations (id, name, timezone, is_synthetic, created_at) "
                    "VALUES (1, 'Org', 'UTC', false, '2026-01-01 00:00:00')"
                )
            )
        upgrade(revision="f2b2c0de2fa0")
        with db.engine.connect() as connection:
            required = connection.execute(
                text("SELECT require_two_factor FROM organizations")
            ).scalar_one()
        assert required is False or required == 0
        tables = set(inspect(db.engine).get_table_names())
        assert {"two_factor", "recovery_codes", "trusted_devices"} <= tables
        downgrade(revision="e5a7c9b1d3f6")
        inspector = inspect(db.engine)
        assert "two_factor" not in inspector.get_table_names()
        assert "require_two_factor" not in {
            c["name"] for c in inspector.get_columns("organizations")
        }
        upgrade()
        db.engine.dispose()
