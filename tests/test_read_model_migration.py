"""The migration that adds the read model builds a row for every existing client."""

from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import ClientSummary
from coach_app.services import analytics_facts, pipeline, read_model
from tests.conftest import World, make_app
from tests.factories import interview_for
from tests.test_migrations import fresh_database_url  # noqa: F401 (a fixture)

BEFORE = "f6f6c0de4157"  # the revision before client_summaries


def test_upgrade_builds_rows_for_existing_clients(fresh_database_url, instance_dir):  # noqa: F811
    app = make_app(fresh_database_url, instance_dir)
    with app.app_context():
        upgrade(revision=BEFORE)
        # Neither the summaries nor the dashboard rollups (whose upkeep the facts' hook runs)
        # exist yet at this revision: the history is written as it was then, without them.
        with read_model.paused(), analytics_facts.paused():
            world = World()
            interview_for(
                world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=3)
            )
        now = datetime.now(UTC)
        upgrade()
        rows = db.session.execute(select(ClientSummary.__table__)).mappings().all()
        assert {row["client_id"] for row in rows} == {world.profile.id, world.profile2.id}
        by_id = {row["client_id"]: row for row in rows}
        assert by_id[world.profile.id]["timezone"] == "America/New_York"
        assert by_id[world.profile2.id]["coach_id"] == world.coach2.id
        # Built stale: readers compute them live, exactly, until the fold job catches up.
        query = pipeline.PipelineQuery(sort="overdue", descending=True)
        live = pipeline.pipeline(world.admin, query, per_page=50, now=now)
        queue = pipeline.exceptions(world.coach, now=now)
        assert live.rows[0].overdue > 0 and queue
        assert read_model.fold_summaries(now) == 2
        assert pipeline.pipeline(world.admin, query, per_page=50, now=now) == live
        assert pipeline.exceptions(world.coach, now=now) == queue
        db.session.remove()
        db.engine.dispose()
