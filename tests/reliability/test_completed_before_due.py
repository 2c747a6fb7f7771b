"""A reminder for a task completed (or waived) before the reminder was due is never sent:
the change cancels the pending rows, and delivery re-checks rows already claimed."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import FollowUpTask, OutboxMessage
from coach_app.services.followup import complete_task, waive_task
from tests.factories import interview_for, zone_where_it_is
from tests.reliability.conftest import (
    interview_start_four_hours_ago,
    wait_for,
)
from workers import delivery
from workers.jobs import enqueue_deliveries

pytestmark = [pytest.mark.slow, pytest.mark.service]


def test_completed_or_waived_tasks_get_no_reminder(
    app, world, smtp_sink, shared_redis, worker_env, processes
):
    now = datetime.now(UTC)
    tz = zone_where_it_is(10, now)
    interviews = []
    for n in range(3):
        user, profile = world.client_of(world.coach, f"done{n}@acme.example", f"Done {n}", tz)
        db.session.commit()
        interviews.append(
            (
                user,
                interview_for(
                    profile,
                    user,
                    start_at=interview_start_four_hours_ago(now),
                    now=now - timedelta(hours=3),
                ),
            )
        )

    def task(index, rule):
        return db.session.scalar(
            select(FollowUpTask).where(
                FollowUpTask.interview_id == interviews[index][1].id, FollowUpTask.rule == rule
            )
        )

    # Before any sweep: completed and waived tasks cancel their pending rows.
    complete_task(task=task(0, "notes"), actor=interviews[0][0])
    waive_task(task=task(0, "contacts"), actor=world.coach, reason="covered in the notes")
    db.session.commit()
    # Claimed (the sweep ran, the job is queued), then completed before a worker ran it.
    enqueue_deliveries(app, delivery.claim_batches(datetime.now(UTC), config=app.config))
    complete_task(task=task(1, "notes"), actor=interviews[1][0])
    complete_task(task=task(1, "next_step"), actor=interviews[1][0])
    db.session.commit()

    skipped = {task(0, "notes").id, task(0, "contacts").id}
    skipped |= {task(1, "notes").id, task(1, "next_step").id}
    procs = processes(worker_env(shared_redis))
    procs.worker()
    procs.cron()

    def settled():
        db.session.rollback()
        return not db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status.in_(("pending", "claimed")),
                OutboxMessage.due_at <= datetime.now(UTC),
            )
        ).all()

    wait_for(settled, 60, "every due row delivered or cancelled", procs)
    time.sleep(1)
    sent = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(list(smtp_sink.ids())))
    ).all()
    assert {r.task_id for r in sent}.isdisjoint(skipped)
    assert len(sent) == 9 - 4  # three clients' three nudges, minus the four closed tasks
    late_cancel = db.session.scalars(
        select(OutboxMessage.status_reason).where(
            OutboxMessage.task_id.in_({task(1, "notes").id, task(1, "next_step").id}),
            OutboxMessage.kind == "nudge",
        )
    ).all()
    assert late_cancel == ["task completed before the reminder went out"] * 2
