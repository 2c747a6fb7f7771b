"""Claiming and delivering outbox rows in-process (memory mail backend, no Redis needed)."""

import smtplib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from coach_app.extensions import db
from coach_app.models import (
    FollowUpTask,
    Notification,
    OrganizationReminderPolicy,
    OutboxMessage,
    Role,
)
from coach_app.services import reminders as service
from coach_app.services.followup import complete_task
from coach_app.services.outbox import queue_email, retry_failed
from tests.factories import interview_for
from workers import delivery
from workers.mail import MemoryBackend

NY = ZoneInfo("America/New_York")
START = datetime(2026, 6, 10, 10, 0, tzinfo=NY)  # ends 11:00; nudges at 13:00
NUDGE_AT = datetime(2026, 6, 10, 13, 0, tzinfo=NY)


@pytest.fixture(autouse=True)
def memory_mail():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


def log_interview(world, **kwargs):
    return interview_for(
        world.profile, world.client_user, start_at=START, now=START + timedelta(hours=1), **kwargs
    )


def run(app, now):
    """Claim what is due at `now` and deliver it, batch by batch (what a worker does)."""
    token, ids = delivery.claim_due(now, config=app.config)
    stats = []
    for batch in delivery.batches_by_recipient(ids):
        stats.append(delivery.deliver(batch, token, app.config, now=now))
    return ids, stats


def rows(**filters):
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return db.session.scalars(query).all()


def task_of(interview, rule):
    return db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == rule
        )
    )


def sent_ids():
    return [int(i) for m in MemoryBackend.outbox for i in m["X-Followthrough-Ids"].split(",")]


def test_nothing_is_claimed_before_its_time(app, world):
    log_interview(world)
    ids, _ = run(app, NUDGE_AT - timedelta(seconds=1))
    assert ids == [] and MemoryBackend.outbox == []


def test_reminders_due_within_ten_minutes_go_out_as_one_message(app, world):
    interview = log_interview(world)
    notes = task_of(interview, "notes")
    # Another reminder for the same person 8 minutes after the nudges, one 15 minutes after.
    for minutes, kind in ((8, "extra_a"), (15, "extra_b")):
        db.session.add(
            OutboxMessage(
                dedupe_key=f"test:{kind}",
                organization_id=world.org.id,
                recipient_id=world.client_user.id,
                to_email=world.client_user.email,
                kind=kind,
                channel="email",
                task_id=notes.id,
                subject=kind,
                body_text=kind,
                due_at=NUDGE_AT + timedelta(minutes=minutes),
            )
        )
    db.session.commit()
    ids, _ = run(app, NUDGE_AT)
    assert len(ids) == 4  # three nudges + the one 8 minutes ahead
    [email] = MemoryBackend.outbox
    assert sorted(sent_ids()) == sorted(ids)
    assert email["Subject"] == "4 follow-up reminders"
    assert [r.status for r in rows(kind="extra_b")] == ["pending"]


def test_each_message_is_claimed_once_and_rerunning_a_delivery_sends_nothing(app, world):
    log_interview(world)
    token, ids = delivery.claim_due(NUDGE_AT, config=app.config)
    assert delivery.claim_due(NUDGE_AT, config=app.config)[1] == []
    delivery.deliver(ids, token, app.config, now=NUDGE_AT)
    delivery.deliver(ids, token, app.config, now=NUDGE_AT)  # RQ ran the job twice
    assert len(MemoryBackend.outbox) == 1
    sent = rows(status="sent")
    assert len(sent) == 3 and all(r.attempts == 1 and r.sent_at for r in sent)


def test_a_task_completed_after_the_claim_is_not_sent(app, world):
    interview = log_interview(world)
    token, ids = delivery.claim_due(NUDGE_AT, config=app.config)
    complete_task(task=task_of(interview, "notes"), actor=world.client_user, now=NUDGE_AT)
    db.session.commit()
    delivery.deliver(ids, token, app.config, now=NUDGE_AT)
    [email] = MemoryBackend.outbox
    assert email["Subject"] == "2 follow-up reminders"
    notes_rows = rows(task_id=task_of(interview, "notes").id)
    assert {r.status for r in notes_rows} == {"cancelled"}
    assert any(r.status_reason == "task completed before the reminder went out" for r in notes_rows)


def test_a_task_snoozed_after_the_claim_is_pushed_to_the_snooze_end(app, world):
    interview = log_interview(world)
    notes = task_of(interview, "notes")
    token, ids = delivery.claim_due(NUDGE_AT, config=app.config)
    # Snoozed behind the outbox's back (no replan): delivery's own check must catch it.
    notes.snoozed_until = NUDGE_AT + timedelta(hours=3)
    db.session.commit()
    thank_you = task_of(interview, "thank_you_email")
    thank_you.snoozed_until = NUDGE_AT + timedelta(hours=3)
    db.session.commit()
    delivery.deliver(ids, token, app.config, now=NUDGE_AT)
    [nudge] = [r for r in rows(task_id=notes.id) if r.kind == "nudge"]
    assert nudge.status == "pending"
    assert nudge.due_at == NUDGE_AT + timedelta(hours=3) and nudge.status_reason == "snoozed"


def test_snooze_service_replans_the_tasks_reminders(app, world):
    interview = log_interview(world)
    notes = task_of(interview, "notes")
    until = service.snooze_task(task=notes, actor=world.client_user, now=START + timedelta(hours=2))
    db.session.commit()
    assert until == START + timedelta(hours=2) + timedelta(days=1)
    pending = [(r.kind, r.due_at) for r in rows(task_id=notes.id, status="pending")]
    # Same-day reminders cannot come after the snooze and before the deadline: only overdue.
    assert pending == [("overdue", until)]


def test_a_before_deadline_reminder_late_past_its_deadline_is_cancelled(app, world):
    log_interview(world)
    after_deadline = datetime(2026, 6, 11, 10, 0, tzinfo=NY)  # Redis was down all night
    run(app, after_deadline)
    nudges = rows(kind="nudge")
    assert {r.status for r in nudges} == {"cancelled"}
    overdue = [r for r in rows(kind="overdue") if r.task_id == nudges[0].task_id]
    assert overdue[0].status == "sent"


def test_a_reminder_delayed_into_quiet_hours_waits_for_the_morning(app, world):
    interview = log_interview(world)
    late = datetime(2026, 6, 10, 22, 30, tzinfo=NY)  # the 20:00 reminders came due in an outage
    ids, _ = run(app, late)
    assert MemoryBackend.outbox == []
    due_soon = [r for r in rows(kind="due_soon") if r.task_id == task_of(interview, "notes").id]
    # Moved to 08:00, which is past the notes deadline: dropped, the overdue one follows.
    assert due_soon[0].status == "cancelled"
    thank_you = [
        r for r in rows(kind="due_soon") if r.task_id == task_of(interview, "thank_you_email").id
    ]
    assert thank_you[0].status == "pending"


def test_in_app_only_preference_creates_the_notification_without_email(app, world):
    service.save_preferences(world.client_user, {"nudge": ["in_app"]})
    db.session.commit()
    log_interview(world)
    run(app, NUDGE_AT)
    assert MemoryBackend.outbox == []
    assert len(db.session.scalars(select(Notification)).all()) == 3
    assert {r.status for r in rows(kind="nudge")} == {"sent"}


def test_organisation_limits_channels_whatever_the_person_wants(app, world):
    db.session.add(
        OrganizationReminderPolicy(
            organization_id=world.org.id, kinds=["nudge", "overdue"], channels=["in_app"]
        )
    )
    db.session.commit()
    log_interview(world)
    assert {r.kind for r in rows()} <= {"nudge", "overdue"}
    run(app, NUDGE_AT)
    assert MemoryBackend.outbox == []
    assert len(db.session.scalars(select(Notification)).all()) == 3


def test_reminders_turned_off_everywhere_are_cancelled(app, world):
    service.save_preferences(world.client_user, {"nudge": []})
    db.session.commit()
    log_interview(world)
    run(app, NUDGE_AT)
    assert MemoryBackend.outbox == []
    assert {r.status_reason for r in rows(kind="nudge")} == {
        "turned off in preferences or by the organisation"
    }


def test_invitations_ignore_reminder_preferences(app, world):
    service.save_preferences(world.client_user, {k: [] for k in ("nudge", "overdue")})
    queue_email(
        dedupe_key="invitation:test",
        organization_id=world.org.id,
        recipient=world.client_user,
        kind="invitation",
        subject="Welcome",
        body_text="Hello",
        due_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    db.session.commit()
    run(app, datetime.now(UTC))
    [email] = MemoryBackend.outbox
    assert email["Subject"] == "Welcome" and "List-Unsubscribe" not in email


def test_a_temporary_refusal_retries_with_exponential_backoff_then_fails(app, world):
    log_interview(world)
    MemoryBackend.refuse_with = smtplib.SMTPRecipientsRefused(
        {world.client_user.email: (451, b"4.3.0 try again later")}
    )
    now = NUDGE_AT
    delays = []
    for _ in range(5):
        run(app, now)
        nudge = rows(kind="nudge")[0]
        if nudge.status == "failed":
            break
        delays.append(nudge.due_at - now)
        now = nudge.due_at
    # The moved clock keeps ticking during the run, hence the rounding.
    assert [round(d.total_seconds()) for d in delays] == [60, 120, 240, 480]
    failed = rows(kind="nudge")
    assert {r.status for r in failed} == {"failed"}
    assert failed[0].attempts == 5 and "451" in failed[0].last_error
    # An admin's retry starts over, and this time the server accepts.
    MemoryBackend.refuse_with = None
    assert retry_failed(failed[0], actor=world.admin, now=now)
    db.session.commit()
    run(app, now)
    assert sent_ids() == [failed[0].id]
    again = db.session.get(OutboxMessage, failed[0].id)
    assert again.status == "sent" and again.attempts == 1 and "451" in again.last_error


def test_a_permanent_refusal_fails_at_once(app, world):
    log_interview(world)
    MemoryBackend.refuse_with = smtplib.SMTPRecipientsRefused(
        {world.client_user.email: (550, b"5.1.1 no such user")}
    )
    run(app, NUDGE_AT)
    assert {(r.status, r.attempts) for r in rows(kind="nudge")} == {("failed", 1)}


def test_a_broken_connection_retries_every_unsent_message(app, world):
    log_interview(world)
    MemoryBackend.fail_with = ConnectionRefusedError(111, "Connection refused")
    run(app, NUDGE_AT)
    nudges = rows(kind="nudge")
    assert {(r.status, r.attempts) for r in nudges} == {("pending", 1)}
    assert all("ConnectionRefusedError" in r.last_error for r in nudges)
    # The in-app notifications went out the first time and are not repeated.
    MemoryBackend.fail_with = None
    run(app, NUDGE_AT + timedelta(minutes=2))
    assert len(MemoryBackend.outbox) == 1
    assert len(db.session.scalars(select(Notification)).all()) == 3


def test_stale_claims_are_released_and_count_as_an_attempt(app, world):
    log_interview(world)
    token, ids = delivery.claim_due(NUDGE_AT, config=app.config)
    app.config["OUTBOX_CLAIM_TIMEOUT_SECONDS"] = 60
    assert delivery.release_stale_claims(NUDGE_AT + timedelta(seconds=30), app.config) == 0
    assert delivery.release_stale_claims(NUDGE_AT + timedelta(seconds=61), app.config) == 3
    assert {(r.status, r.attempts) for r in rows(kind="nudge")} == {("pending", 1)}
    # The dead worker's job, run late, finds its claim gone and sends nothing.
    delivery.deliver(ids, token, app.config, now=NUDGE_AT)
    assert MemoryBackend.outbox == []
    run(app, NUDGE_AT + timedelta(minutes=2))
    assert len(MemoryBackend.outbox) == 1


def test_a_row_that_keeps_killing_its_worker_ends_up_failed(app, world):
    log_interview(world)
    app.config["OUTBOX_CLAIM_TIMEOUT_SECONDS"] = 60
    now = NUDGE_AT
    for _ in range(5):
        delivery.claim_due(now, config=app.config)
        now += timedelta(minutes=2)
        delivery.release_stale_claims(now, app.config)
    assert {(r.status, r.attempts) for r in rows(kind="nudge")} == {("failed", 5)}


def test_the_email_has_text_html_the_task_link_and_unsubscribe_per_kind(app, world):
    interview = log_interview(world)
    run(app, NUDGE_AT)
    [email] = MemoryBackend.outbox
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    link = f"http://localhost/me/tasks/{task_of(interview, 'notes').id}"
    assert link in text and f'href="{link}"' in html
    assert "Stop emails like this (nudge after an interview): http://localhost/unsubscribe/" in text
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = email["List-Unsubscribe"].strip("<>").rsplit("/", 1)[-1]
    assert service.read_unsubscribe_token(token) == (world.client_user.id, ["nudge"])
    assert email["Message-ID"].startswith("<outbox-")


def test_html_escapes_what_people_typed(app, world):
    interview_for(
        world.profile,
        world.client_user,
        start_at=START,
        now=START + timedelta(hours=1),
        company="<script>alert(1)</script> & Co",
    )
    run(app, NUDGE_AT)
    html = MemoryBackend.outbox[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_unsubscribe_tokens_are_signed(app):
    assert service.read_unsubscribe_token("forged") is None


def test_unsubscribe_turns_off_email_only(app, world):
    assert service.unsubscribe(world.client_user, ["nudge"]) == ["nudge"]
    assert service.unsubscribe(world.client_user, ["nudge"]) == []  # idempotent
    db.session.commit()
    assert service.wanted_channels(world.client_user)["nudge"] == frozenset({"in_app"})
    assert service.wanted_channels(world.client_user)["overdue"] == frozenset({"email", "in_app"})


def test_retry_failed_only_touches_failed_rows(app, world):
    log_interview(world)
    nudge = rows(kind="nudge")[0]
    assert not delivery.retry_failed(nudge.id)  # pending: nothing to retry
    nudge.status, nudge.attempts = "failed", 5
    db.session.commit()
    assert delivery.retry_failed(nudge.id)
    assert (rows(id=nudge.id)[0].status, rows(id=nudge.id)[0].attempts) == ("pending", 0)


def test_sql_statements_per_email_stay_constant_one_update_each(app, world):
    """No per-message loads (recipient, preferences, policy) and no reloads after each commit."""
    noon = datetime(2026, 6, 10, 12, 0, tzinfo=NY)

    def queue_for(count, start):
        for i in range(start, start + count):
            # Half with their own time zone and saved preferences, half on the defaults.
            own = i % 2 == 0
            user = world.user(
                Role.CLIENT, f"many{i}@acme.example", f"Many {i}", timezone="UTC" if own else None
            )
            if own:
                service.save_preferences(user, {"overdue": ["email", "in_app"]})
            queue_email(
                dedupe_key=f"test:many:{i}",
                organization_id=world.org.id,
                recipient=user,
                kind="overdue",
                subject=f"Overdue {i}",
                body_text="Past its deadline",
                link=f"https://example.test/tasks/{i}",
                due_at=noon - timedelta(minutes=1),
            )
        db.session.commit()

    def statements_to_deliver():
        token, ids = delivery.claim_due(noon, config=app.config)
        counter = [0]

        def count(*_args):
            counter[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            stats = delivery.deliver(ids, token, app.config, now=noon)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return counter[0], stats

    queue_for(4, 0)
    few, stats = statements_to_deliver()
    assert stats["emails"] == 4
    queue_for(24, 4)
    many, stats = statements_to_deliver()
    assert stats["emails"] == 24
    # Each further email costs exactly its `sent` UPDATE (committed on its own).
    assert many - few == 20
    assert len(MemoryBackend.outbox) == 28
