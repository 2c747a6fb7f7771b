"""ANALYTICS_DATABASE_URL: the dashboard reads a real streaming replica, the portal writes
to the primary (issue 15, docs/operations.md).

The proof: with the replica's WAL replay paused, a portal write lands on the primary at once
while the dashboard's CSV export still shows the figures from before it; resumed, the export
catches up. A dashboard that read the primary would see the write immediately.
"""

import io
import subprocess

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from coach_app.extensions import db
from coach_app.models import Opportunity
from coach_app.models.audit import AuditEvent
from dashboards.source import analytics_connection, analytics_engine
from tests import pg_replica
from tests.conftest import World, login, make_app, service_unavailable
from tests.dashboard_fixtures import build_six

pytestmark = [pytest.mark.service, pytest.mark.slow]


@pytest.fixture(scope="module")
def pair():
    bin_path = pg_replica.bindir()
    if bin_path is None:
        service_unavailable("PostgreSQL server binaries (initdb, pg_basebackup) not installed")
    try:
        running = pg_replica.start_pair(bin_path)
    except (subprocess.CalledProcessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        service_unavailable(f"could not start a PostgreSQL primary and replica: {error} {detail}")
    yield running
    running.stop()


@pytest.fixture
def replica_app(pair, instance_dir):
    app = make_app(pair.primary_url, instance_dir, ANALYTICS_DATABASE_URL=pair.replica_url)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        analytics_engine().dispose()
        db.engine.dispose()


def server(connection) -> tuple[int, bool]:
    """Which server a connection talks to: its port, and whether it is a standby."""
    return tuple(connection.execute(text("SELECT inet_server_port(), pg_is_in_recovery()")).one())


def decided_in_export(browser) -> int:
    """Rows of the opportunities CSV export: one per decided opportunity."""
    response = browser.get("/analytics/export/opportunities.csv")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return len(pd.read_csv(io.StringIO(response.get_data(as_text=True))))


def test_analytics_connection_is_the_replica_and_the_session_the_primary(pair, replica_app):
    with replica_app.test_request_context():
        assert server(analytics_connection()) == (pair.replica_port, True)
        assert server(db.session.connection()) == (pair.primary_port, False)


def test_the_analytics_bind_reads_one_snapshot_and_never_writes(pair, instance_dir):
    # Pointed at the writable primary on purpose: the engine itself refuses writes.
    app = make_app(pair.primary_url, instance_dir, ANALYTICS_DATABASE_URL=pair.primary_url)
    with app.test_request_context():
        connection = analytics_connection()
        assert connection.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        with pytest.raises(Exception, match="read-only transaction"):
            connection.execute(text("CREATE TEMPORARY TABLE t (id int)"))
        db.session.rollback()
        analytics_engine().dispose()
        db.engine.dispose()


def test_dashboard_reads_the_replica_while_the_portal_writes_the_primary(pair, replica_app):
    world = World()
    six = build_six(world.profile, world.client_user)
    pair.wait_for_replay()
    admin = replica_app.test_client()
    login(admin, world.admin.email)
    assert decided_in_export(admin) == 5  # O6 is still open

    pair.replay(paused=True)
    try:
        client = replica_app.test_client()  # signing in reads and writes the primary
        login(client, world.client_user.email)
        response = client.post(f"/me/opportunities/{six.ids[5]}/outcome", data={"outcome": "offer"})
        assert response.status_code == 302
        decided = select(func.count(Opportunity.decided_at))
        assert db.session.scalar(decided) == 6  # on the primary at once
        audits = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "export.downloaded")
        )
        before = db.session.scalar(audits)
        assert decided_in_export(admin) == 5  # the replica has not replayed it yet
        db.session.rollback()
        assert db.session.scalar(audits) == before + 1  # the export's audit went to the primary
    finally:
        pair.replay(paused=False)
    pair.wait_for_replay()
    assert decided_in_export(admin) == 6
