"""Outbox rows written with the change that implies them; coach digests; policies."""

from datetime import datetime as dt
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from coach_app.extensions import db
from coach_app.models import ClientProfile, FollowUpTask, Notification, OutboxMessage
from coach_app.services import ServiceError
from coach_app.services import reminders as service
from coach_app.services.followup import complete_task, reschedule_interview
from tests.factories import interview_for
from workers import delivery
from workers.mail import MemoryBackend

NY = ZoneInfo("America/New_York")
START = dt(2026, 6, 10, 10, 0, tzinfo=NY)


@pytest.fixture(autouse=True)
def memory_mail():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


def outbox(**filters):
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return db.session.scalars(query).all()


def test_rows_exist_exactly_when_the_change_is_committed(world):
    interview_for(
        world.profile, world.client_user, start_at=START, now=START + timedelta(hours=1),
        commit=False,
    )  # fmt: skip
    assert outbox()  # in the same transaction as the tasks...
    db.session.rollback()
    assert outbox() == []  # ...and gone with it
    interview = interview_for(
        world.profile, world.client_user, start_at=START, now=START + timedelta(hours=1)
    )
    tasks = db.session.scalars(
        select(FollowUpTask).where(FollowUpTask.interview_id == interview.id)
    ).all()
    keys = {(r.task_id, r.kind) for r in outbox()}
    assert len(keys) == len(outbox())  # unique per (task, kind)
    assert {t.id for t in tasks} >= {task_id for task_id, _ in keys}


def test_completing_a_task_cancels_its_pending_rows(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=START, now=START + timedelta(hours=1)
    )
    notes = db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == "notes"
        )
    )
    complete_task(task=notes, actor=world.client_user, now=START + timedelta(hours=1, minutes=5))
    db.session.commit()
    assert {(r.status, r.status_reason) for r in outbox(task_id=notes.id)} == {
        ("cancelled", "task completed")
    }


def test_rescheduling_replans_the_reminders(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=START, now=START + timedelta(hours=1)
    )
    notes_id = db.session.scalar(
        select(FollowUpTask.id).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == "notes"
        )
    )
    before = {r.kind: r.due_at for r in outbox(task_id=notes_id)}
    reschedule_interview(
        interview=interview,
        actor=world.client_user,
        start_at=START + timedelta(hours=1),
        now=START + timedelta(hours=1),
    )
    db.session.commit()
    after = {r.kind: r.due_at for r in outbox(task_id=notes_id)}
    assert after["nudge"] == before["nudge"] + timedelta(hours=1)


def test_the_organisation_policy_changes_times_and_kinds(world):
    service.save_policy(
        admin=world.admin,
        kinds=["nudge", "overdue"],
        channels=["email", "in_app"],
        nudge_after_minutes=60,
        due_soon_minutes=120,
        morning_at=time(10, 0),
        quiet_start=time(21, 0),
        quiet_end=time(8, 0),
        digest_at=time(8, 0),
    )
    db.session.commit()
    interview_for(world.profile, world.client_user, start_at=START, now=START + timedelta(hours=1))
    kinds = {r.kind for r in outbox()}
    assert kinds == {"nudge", "overdue"}
    assert {r.due_at for r in outbox(kind="nudge")} == {START + timedelta(hours=2)}
    overdue = {r.due_at.astimezone(NY).time() for r in outbox(kind="overdue")}
    assert overdue == {time(10, 0)}


def test_an_unworkable_policy_is_refused_with_the_field(world):
    with pytest.raises(ServiceError) as error:
        service.save_policy(
            admin=world.admin,
            kinds=["nudge"],
            channels=["email"],
            nudge_after_minutes=60,
            due_soon_minutes=120,
            morning_at=time(9, 0),
            quiet_start=time(8, 0),
            quiet_end=time(8, 0),
            digest_at=time(8, 0),
        )
    assert error.value.field == "quiet_end"
    db.session.rollback()


# --- the coach digest ----------------------------------------------------------------------

DIGEST_NOW = dt(2026, 6, 20, 8, 5, tzinfo=NY)


def nine_days_of_history(world):
    """An interview 9 days before the digest: 7 missed tasks, a check-in due tomorrow."""
    interview = interview_for(
        world.profile,
        world.client_user,
        start_at=dt(2026, 6, 11, 10, 0, tzinfo=NY),
        now=dt(2026, 6, 11, 11, 0, tzinfo=NY),
    )
    notes = db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == "notes"
        )
    )
    complete_task(task=notes, actor=world.client_user, now=dt(2026, 6, 11, 12, 0, tzinfo=NY))
    db.session.commit()
    return interview


def test_the_digest_is_written_once_per_coach_and_local_day(world):
    nine_days_of_history(world)
    assert service.plan_digests(dt(2026, 6, 20, 7, 59, tzinfo=NY)) <= 1  # Berlin's coach only
    db.session.rollback()
    written = service.plan_digests(DIGEST_NOW)
    db.session.commit()
    assert written == 3  # coach, coach2 (nothing to report), the other org's coach
    assert service.plan_digests(DIGEST_NOW + timedelta(minutes=1)) == 0
    [mine] = outbox(recipient_id=world.coach.id)
    assert mine.dedupe_key == f"digest:{world.coach.id}:2026-06-20"
    assert mine.status == "pending"
    assert mine.subject == "Your clients today: 6 overdue, 1 check-in due soon"
    assert f"- Cleo: 6 items  http://localhost/coach/clients/{world.profile.id}" in mine.body_text
    assert "Check-ins due in the next two days:\n- Cleo: 1" in mine.body_text
    [empty] = outbox(recipient_id=world.coach2.id)
    assert (empty.status, empty.status_reason) == ("cancelled", "nothing to report")


def test_the_digest_is_sent_as_email_and_notification(app, world):
    nine_days_of_history(world)
    service.plan_digests(DIGEST_NOW)
    db.session.commit()
    token, ids = delivery.claim_due(DIGEST_NOW, config=app.config)
    for batch in delivery.batches_by_recipient(ids):
        delivery.deliver(batch, token, app.config, now=DIGEST_NOW)
    digest_mail = [m for m in MemoryBackend.outbox if m["To"] == world.coach.email]
    assert len(digest_mail) == 1
    assert "List-Unsubscribe" in digest_mail[0]
    assert db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == world.coach.id)
    )


def test_a_coach_who_turned_the_digest_off_gets_nothing(app, world):
    nine_days_of_history(world)
    service.save_preferences(world.coach, {"digest": []})
    service.plan_digests(DIGEST_NOW)
    db.session.commit()
    token, ids = delivery.claim_due(DIGEST_NOW, config=app.config)
    delivery.deliver(ids, token, app.config, now=DIGEST_NOW)
    assert not [m for m in MemoryBackend.outbox if m["To"] == world.coach.email]


def count_statements():
    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(db.engine, "before_cursor_execute", before)


def test_digest_content_comes_from_one_aggregate_query_not_a_loop(world):
    nine_days_of_history(world)
    counter, stop = count_statements()
    try:
        service.plan_digests(DIGEST_NOW)
        few = counter["n"]
    finally:
        stop()
    db.session.rollback()
    for n in range(6):  # six more clients for the same coach, each with history
        user, profile = world.client_of(world.coach, f"extra{n}@acme.example", f"Extra {n}")
        db.session.commit()
        interview_for(
            profile, user, start_at=dt(2026, 6, 11, 10, 0, tzinfo=NY),
            now=dt(2026, 6, 11, 11, 0, tzinfo=NY),
        )  # fmt: skip
    counter, stop = count_statements()
    try:
        service.plan_digests(DIGEST_NOW)
        many = counter["n"]
    finally:
        stop()
    assert many == few
    db.session.commit()
    [mine] = outbox(recipient_id=world.coach.id)
    assert mine.body_text.count("items  http://localhost/coach/clients/") == 7
    assert db.session.scalar(select(func.count(ClientProfile.id))) == 8
