"""Reminder pages: preferences, one-click unsubscribe, snooze, admin operations and policy."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import (
    FollowUpTask,
    OrganizationReminderPolicy,
    OutboxMessage,
    ReminderPreference,
)
from coach_app.services import reminders as service
from tests.conftest import make_app
from tests.factories import interview_for, zone_where_it_is
from tests.reminders_helpers import redis_app_fixture, sweep_at  # noqa: F401


@pytest.fixture
def task(world):
    """An open thank-you-note task with reminders still to come (interview just ended)."""
    now = datetime.now(UTC)
    # Early afternoon locally, whatever hour the suite runs at: which reminders are still to
    # come (and survive a day's snooze) depends on the local time of day.
    world.client_user.timezone = zone_where_it_is(14, now)
    db.session.commit()
    interview = interview_for(
        world.profile, world.client_user, start_at=now - timedelta(minutes=70), now=now
    )
    return db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == "thank_you_note"
        )
    )


def test_settings_show_the_kinds_of_the_role_and_save_choices(world, as_user):
    client = as_user(world.client_user)
    page = client.get("/settings/reminders").get_data(as_text=True)
    assert "Nudge after an interview" in page and "Coach&#39;s daily digest" not in page
    response = client.post(
        "/settings/reminders",
        data={"nudge__in_app": "y", "overdue__email": "y", "overdue__in_app": "y"},
    )
    assert response.status_code == 302
    wanted = service.wanted_channels(world.client_user)
    assert wanted["nudge"] == {"in_app"} and wanted["due_morning"] == frozenset()
    assert wanted["overdue"] == {"email", "in_app"}
    coach_page = as_user(world.coach).get("/settings/reminders").get_data(as_text=True)
    assert "Coach&#39;s daily digest" in coach_page
    organizer_page = as_user(world.organizer).get("/settings/reminders").get_data(as_text=True)
    assert "There are no reminders for your role" in organizer_page


def test_settings_offer_only_what_the_organisation_allows(world, as_user):
    db.session.add(
        OrganizationReminderPolicy(
            organization_id=world.org.id, kinds=["overdue"], channels=["in_app"]
        )
    )
    db.session.commit()
    client = as_user(world.client_user)
    page = client.get("/settings/reminders").get_data(as_text=True)
    assert 'name="overdue__in_app"' in page and 'name="overdue__email"' not in page
    assert "Turned off by your organisation: nudge, due morning, due soon" in page
    client.post("/settings/reminders", data={})
    # The email choice the organisation hides is kept, not wiped: it is still never used.
    assert service.wanted_channels(world.client_user)["overdue"] == {"email"}


def test_unsubscribe_link_works_without_login_and_with_csrf_on(world, database_url, instance_dir):
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    token = service.unsubscribe_token(world.client_user.id, ["nudge", "overdue"])
    browser = app.test_client()
    page = browser.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Unsubscribe" in page.get_data(as_text=True)
    # RFC 8058: the mail provider POSTs this body, with no session and no CSRF token.
    done = browser.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    db.session.expire_all()
    pref = db.session.get(ReminderPreference, world.client_user.id)
    assert pref.channels_for("nudge") == {"in_app"} and pref.channels_for("overdue") == {"in_app"}
    assert pref.channels_for("due_soon") == {"email", "in_app"}
    assert browser.get("/unsubscribe/forged-token").status_code == 404
    assert browser.post("/unsubscribe/forged-token").status_code == 404


def test_a_client_snoozes_a_task_for_a_day(world, task, as_user):
    before = {
        r.kind: r.due_at
        for r in db.session.scalars(select(OutboxMessage).where(OutboxMessage.task_id == task.id))
    }
    response = as_user(world.client_user).post(
        f"/tasks/{task.id}/snooze", data={"next": f"/me/tasks/{task.id}"}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/me/tasks/{task.id}"
    db.session.expire_all()
    task = db.session.get(FollowUpTask, task.id)
    assert task.snoozed_until > datetime.now(UTC) + timedelta(hours=23)
    pending = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.task_id == task.id, OutboxMessage.status == "pending"
        )
    ).all()
    assert pending and all(r.due_at >= task.snoozed_until for r in pending)
    assert {r.kind: r.due_at for r in pending} != before


def test_snooze_is_for_the_tasks_own_client_only(world, task, as_user):
    assert as_user(world.client2_user).post(f"/tasks/{task.id}/snooze").status_code == 404
    assert as_user(world.coach).post(f"/tasks/{task.id}/snooze").status_code == 403
    assert as_user(world.client_user).get(f"/tasks/{task.id}/snooze").status_code == 405


def test_snoozing_a_closed_task_says_why(world, task, as_user):
    task.completed_at = datetime.now(UTC)
    db.session.commit()
    client = as_user(world.client_user)
    response = client.post(f"/tasks/{task.id}/snooze", follow_redirects=True)
    assert "no reminders to snooze" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FollowUpTask, task.id).snoozed_until is None


def test_a_snooze_with_an_outside_next_goes_to_the_settings_page(world, task, as_user):
    response = as_user(world.client_user).post(
        f"/tasks/{task.id}/snooze", data={"next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/settings/reminders"


def test_settings_list_upcoming_reminders_with_a_snooze_button(world, task, as_user):
    page = as_user(world.client_user).get("/settings/reminders").get_data(as_text=True)
    assert f'action="/tasks/{task.id}/snooze"' in page


# --- admin pages ---------------------------------------------------------------------------


def failed_row(world, org=None) -> OutboxMessage:
    row = OutboxMessage(
        dedupe_key=f"test:failed:{(org or world.org).id}",
        organization_id=(org or world.org).id,
        recipient_id=world.client_user.id,
        to_email=world.client_user.email,
        kind="invitation",
        channel="email",
        subject="A <b>failed</b> message",
        body_text="x",
        due_at=datetime.now(UTC),
        status="failed",
        attempts=5,
        last_error="SMTPRecipientsRefused: 451 4.3.0 try again later",
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_ops_page_survives_redis_being_down(app, world, as_user):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    row = failed_row(world)
    response = as_user(world.admin).get("/admin/ops")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Redis unreachable" in page
    assert "A &lt;b&gt;failed&lt;/b&gt; message" in page and "451 4.3.0" in page
    assert f'action="/admin/outbox/{row.id}/retry"' in page


def test_ops_page_shows_queue_lengths_failed_jobs_and_last_sweep(redis_app, world, as_user):
    sweep_at(redis_app, datetime.now(UTC))
    page = as_user(world.admin).get("/admin/ops").get_data(as_text=True)
    assert 'data-testid="queue-stats"' in page
    assert "Jobs waiting" in page and "Failed jobs" in page
    assert 'data-testid="last-sweep">never' not in page


def test_retry_puts_a_failed_row_back_and_is_org_scoped(world, as_user):
    row = failed_row(world)
    foreign = failed_row(world, org=world.other_org)
    assert as_user(world.foreign_admin).post(f"/admin/outbox/{row.id}/retry").status_code == 404
    assert as_user(world.coach).post(f"/admin/outbox/{row.id}/retry").status_code == 403
    assert as_user(world.admin).post(f"/admin/outbox/{foreign.id}/retry").status_code == 404
    response = as_user(world.admin).post(f"/admin/outbox/{row.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    again = db.session.get(OutboxMessage, row.id)
    assert (again.status, again.attempts) == ("pending", 0)
    assert db.session.get(OutboxMessage, foreign.id).status == "failed"


POLICY_FORM = {
    "kinds": ["nudge", "overdue", "digest"],
    "channels": ["email"],
    "nudge_after_minutes": "90",
    "due_soon_minutes": "120",
    "morning_at": "09:30",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
    "digest_at": "07:30",
}


def test_admin_sets_the_organisation_policy(world, as_user):
    admin = as_user(world.admin)
    page = admin.get("/admin/reminders").get_data(as_text=True)
    assert 'value="21:00"' in page and 'value="120"' in page
    response = admin.post("/admin/reminders", data=POLICY_FORM)
    assert response.status_code == 302
    policy = service.policy_for(world.org.id)
    assert policy.kinds == {"nudge", "overdue", "digest"} and policy.channels == {"email"}
    assert policy.nudge_after == timedelta(minutes=90)
    assert policy.quiet_start.hour == 22 and policy.quiet_end.hour == 7
    assert service.policy_for(world.other_org.id) == service.policy_for(world.other_org.id)
    assert service.policy_for(world.other_org.id).quiet_start.hour == 21


@pytest.mark.parametrize(
    "change,message",
    [
        ({"nudge_after_minutes": "0"}, "Number must be between 1 and 1440."),
        ({"nudge_after_minutes": "soon"}, "Not a valid integer value."),
        ({"quiet_start": "08:00", "quiet_end": "08:00"}, "need a start and an end that differ"),
        ({"morning_at": "25:99"}, "Not a valid time value."),
        ({"kinds": ["carrier_pigeon"]}, "not a valid choice"),
    ],
)
def test_a_bad_policy_is_refused_with_the_message_next_to_the_field(
    world, as_user, change, message
):
    response = as_user(world.admin).post("/admin/reminders", data={**POLICY_FORM, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.get(OrganizationReminderPolicy, world.org.id) is None
