"""Redis stopped while clients work: the portal keeps answering, every change writes its
outbox rows, and once Redis is back every due reminder goes out (exactly once)."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import FollowUpTask, OutboxMessage
from tests.conftest import login
from tests.factories import interview_for, zone_where_it_is
from tests.reliability.conftest import (
    interview_start_four_hours_ago,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.service]


def tasks_by_rule(interview_id: int) -> dict[str, FollowUpTask]:
    return {
        t.rule: t
        for t in db.session.scalars(
            select(FollowUpTask).where(FollowUpTask.interview_id == interview_id)
        )
    }


def test_portal_works_without_redis_and_nothing_is_lost(
    app, world, smtp_sink, own_redis, worker_env, processes
):
    app.config["REDIS_URL"] = own_redis.url
    app.config["RQ_QUEUE_PREFIX"] = f"ft-rel-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    tz = zone_where_it_is(10, now)
    people = []
    for n in range(4):
        user, profile = world.client_of(world.coach, f"outage{n}@acme.example", f"Out {n}", tz)
        db.session.commit()
        # The interview ended three to four hours ago: its nudges came due an hour or more ago.
        interview = interview_for(
            profile,
            user,
            start_at=interview_start_four_hours_ago(now),
            now=now - timedelta(hours=3),
        )
        people.append((user, tasks_by_rule(interview.id)))

    own_redis.stop()
    browsers = {}
    for user, _tasks in people:
        browsers[user.id] = app.test_client()
        login(browsers[user.id], user.email)
        assert browsers[user.id].get("/me/").status_code == 200
    # Clients complete their notes in the portal; one snoozes a task.
    for user, tasks in people:
        response = browsers[user.id].post(
            f"/me/tasks/{tasks['notes'].id}/complete",
            data={"notes": "They care about sailing and the new data platform."},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    snoozed_user, snoozed_tasks = people[0]
    snoozed = browsers[snoozed_user.id].post(f"/tasks/{snoozed_tasks['contacts'].id}/snooze")
    assert snoozed.status_code == 302
    coach = app.test_client()
    login(coach, world.coach.email)
    invite = coach.post("/coach/invite", data={"name": "New Person", "email": "new@acme.example"})
    assert invite.status_code == 200
    admin = app.test_client()
    login(admin, world.admin.email)
    ops = admin.get("/admin/ops")
    assert ops.status_code == 200 and "Redis unreachable" in ops.get_data(as_text=True)

    db.session.rollback()
    for _user, tasks in people:
        notes_rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task_id == tasks["notes"].id)
        ).all()
        assert {r.status for r in notes_rows} == {"cancelled"}
    due = db.session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.status == "pending", OutboxMessage.due_at <= datetime.now(UTC)
        )
    ).all()
    invitation = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.to_email == "new@acme.example")
    )
    assert invitation in due
    assert len(due) == 1 + 2 * len(people) - 1  # invitation; contacts and next-step nudges

    own_redis.start()
    procs = processes(worker_env(own_redis.url))
    procs.worker()
    procs.cron()

    def all_sent():
        db.session.rollback()
        statuses = db.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.id.in_(due))
        ).all()
        return set(statuses) == {"sent"}

    wait_for(all_sent, 60, "every due reminder sent after Redis came back", procs)
    time.sleep(1)
    received = smtp_sink.ids()
    assert set(received) == set(due) and max(received.values()) == 1
    completed = {tasks["notes"].id for _user, tasks in people} | {snoozed_tasks["contacts"].id}
    sent_tasks = db.session.scalars(
        select(OutboxMessage.task_id).where(OutboxMessage.id.in_(list(received)))
    ).all()
    assert not completed & set(sent_tasks)
