"""The audit log page and its CSV: filters, the admin's zone, tenancy, formula-safe cells."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import AuditEvent, Role
from coach_app.services import reminders
from coach_app.services.audit_log import AuditFilters, page_of_events


def _event(org_id, actor_id, action, at, *, object_type="User", object_id=None, details=None):
    event = AuditEvent(
        organization_id=org_id,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        created_at=at,
    )
    db.session.add(event)
    return event


@pytest.fixture
def log(world, as_user):
    """The admin's browser, and a few known events (the sign-in's and the world's removed)."""
    admin = as_user(world.admin)
    db.session.query(AuditEvent).delete()
    # The admin's zone is America/New_York: 03:00 UTC on 10 March is still 9 March there.
    _event(world.org.id, world.coach.id, "task.waived", datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    _event(
        world.org.id,
        world.admin.id,
        "user.role_changed",
        datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
        object_id=world.organizer.id,
        details={"from": "organizer", "to": "coach"},
    )
    _event(world.org.id, None, "something.new", datetime(2026, 3, 11, 12, 0, tzinfo=UTC))
    _event(
        world.other_org.id,
        world.foreign_admin.id,
        "task.waived",
        datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
    )
    db.session.commit()
    return admin


def _actions(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [part.split('"')[0] for part in text.split('data-action="')[1:]]


def test_newest_first_with_readable_labels_in_the_admins_zone(app, world, log, as_user):
    response = log.get("/admin/audit")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _actions(response) == ["something.new", "user.role_changed", "task.waived"]
    assert "Changed a role" in text and "Waived a task" in text
    assert "something.new" in text  # an unknown action is shown by its raw name
    assert "Person: Olga Organizer" in text and "from=organizer; to=coach" in text
    assert "System" in text  # no actor
    # 03:00 UTC on 10 March, shown in New York time.
    assert "Mon 09 Mar 2026, 23:00 EDT" in text
    assert "Foreign Admin" not in text


@pytest.mark.parametrize(
    "query, expected",
    [
        ("action=task.waived", ["task.waived"]),
        ("action=user.role_changed", ["user.role_changed"]),
        ("start=2026-03-10&end=2026-03-10", ["user.role_changed"]),
        ("start=2026-03-09&end=2026-03-09", ["task.waived"]),
        ("start=2026-03-11", ["something.new"]),
        ("end=2026-03-09", ["task.waived"]),
        ("action=nothing.like.this", []),
    ],
)
def test_filters_by_action_and_dates(app, world, log, as_user, query, expected):
    response = log.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert _actions(response) == expected


def test_filter_by_person(app, world, log, as_user):
    admin = log
    assert _actions(admin.get(f"/admin/audit?actor={world.coach.id}")) == ["task.waived"]
    # Another organisation's person filters to nothing, never to their events.
    assert _actions(admin.get(f"/admin/audit?actor={world.foreign_admin.id}")) == []


@pytest.mark.parametrize(
    "query",
    [
        "actor=abc",
        "actor=99999999999999999999",
        "actor=2147483648",
        "start=2026-13-45",
        "end=yesterday",
        "start=2026-03-11&end=2026-03-10",
        "action=" + "x" * 65,
    ],
)
def test_malformed_filters_are_reported_not_fatal(app, world, log, as_user, query):
    response = log.get(f"/admin/audit?{query}")
    assert response.status_code == 400
    assert 'data-testid="filter-errors"' in response.get_data(as_text=True)


def test_a_control_character_in_a_filter_is_refused_by_the_input_filter(app, world, log):
    response = log.get("/admin/audit?action=bad%00action")
    # The portal-wide filter answers before the page: a 400 that names the field.
    assert response.status_code == 400 and "action" in response.get_data(as_text=True)


def test_pages_hold_fifty_events(app, world, as_user):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(60):
        _event(world.org.id, world.coach.id, "task.completed", start + timedelta(minutes=minute))
    db.session.commit()
    admin = as_user(world.admin)
    first = admin.get("/admin/audit?action=task.completed")
    second = admin.get("/admin/audit?action=task.completed&page=2")
    assert len(_actions(first)) == 50 and len(_actions(second)) == 10
    assert "60 events" in first.get_data(as_text=True)
    assert admin.get("/admin/audit?page=0").status_code == 200


def test_nobody_but_an_admin_reads_the_log(app, world, log):
    for user in (world.coach, world.organizer, world.client_user):
        assert db.session.scalars(scoped(AuditEvent, user)).all() == []
    visible = db.session.scalars(scoped(AuditEvent, world.foreign_admin)).all()
    assert {event.organization_id for event in visible} == {world.other_org.id}
    page = page_of_events(world.foreign_admin, AuditFilters())
    assert page.total == 1


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_download_is_filtered_safe_and_audited(app, world, log, as_user):
    world.coach.name = '=HYPERLINK("https://evil.example","x")'
    db.session.commit()
    admin = log
    response = admin.get("/admin/audit.csv?action=task.waived")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv_rows(response)
    assert [row["action"] for row in rows] == ["task.waived"]  # the other org's is not there
    assert rows[0]["who"].startswith("'=")  # neutralised, as in the analytics exports
    assert rows[0]["when"].startswith("2026-03-09 23:00:00")
    exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported"))
    assert exported.actor_id == world.admin.id
    assert exported.details == {"action": "task.waived"}
    # The download appears in the log itself.
    assert "Downloaded the audit log" in admin.get("/admin/audit").get_data(as_text=True)


def test_csv_of_nothing_still_has_its_header(app, world, log, as_user):
    response = log.get("/admin/audit.csv?action=nothing.like.this")
    lines = response.get_data(as_text=True).strip().splitlines()
    assert lines == ["when,who,who_email,action,what,object,object_type,object_id,details"]


def test_csv_holds_every_matching_event_across_chunks(app, world, as_user, monkeypatch):
    from coach_app.services import audit_log

    monkeypatch.setattr(audit_log, "CSV_CHUNK", 7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for second in range(30):
        # Pairs of events at the same instant: keyset paging must not skip or repeat them.
        _event(
            world.org.id, world.coach.id, "task.completed", start + timedelta(seconds=second // 2)
        )
    db.session.commit()
    rows = _csv_rows(as_user(world.admin).get("/admin/audit.csv?action=task.completed"))
    assert len(rows) == 30


def test_preference_changes_are_audited_once_per_real_change(app, world, as_user):
    before = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "preferences.changed")
    )
    assert before == 0
    kinds = reminders.kinds_for_role(Role.CLIENT)
    everything = {kind: {"email", "in_app"} for kind in kinds}
    reminders.save_preferences(world.client_user, everything)  # the default: no change
    db.session.commit()
    reminders.save_preferences(world.client_user, {**everything, kinds[0]: {"in_app"}})
    db.session.commit()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "preferences.changed")
    ).all()
    assert len(events) == 1
    assert events[0].actor_id == world.client_user.id
    assert events[0].details == {"channels": {kinds[0]: ["in_app"]}}
