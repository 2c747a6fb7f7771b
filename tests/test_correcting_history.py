"""Correcting history: editing an interview, deleting a round or an opportunity.

Everything goes through the real services (and, where it says so, the real pages): the
playbook's deadlines, the reminder outbox, the analytics facts, the pipeline's SQL.
"""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    FollowUpTask,
    Interview,
    InterviewContact,
    Notification,
    Opportunity,
    OpportunityFact,
    OutboxMessage,
    Referral,
)
from coach_app.playbook import SUPERSEDED_REASON, Status, local_date, task_status
from coach_app.services import ServiceError, deletion, history, pipeline
from coach_app.services.followup import complete_task, record_outcome
from coach_app.timefmt import local_datetime
from dashboards import data
from tests.factories import interview_for, zone_where_it_is


def tasks_of(interview) -> dict[str, FollowUpTask]:
    return {
        t.rule: t
        for t in db.session.scalars(
            select(FollowUpTask).where(FollowUpTask.interview_id == interview.id)
        )
    }


def status(task, now=None) -> Status:
    return task_status(
        due_at=task.due_at,
        completed_at=task.completed_at,
        waived=task.waived_reason is not None,
        now=now or datetime.now(UTC),
    )


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def changes_for(interview, **overrides) -> history.InterviewChanges:
    opportunity = interview.opportunity
    values = {
        "start_at": interview.start_at,
        "duration_minutes": interview.duration_minutes,
        "timezone": interview.timezone,
        "format": interview.format,
        "company": opportunity.company,
        "role": opportunity.role,
        "industry": opportunity.industry,
        "next_step": interview.next_step,
        "stated_decision_date": interview.stated_decision_date,
    }
    values.update(overrides)
    return history.InterviewChanges(**values)


@pytest.fixture
def noon_client(world):
    """The client lives where it is about noon now, so 'today' and 'yesterday' are stable."""
    zone = zone_where_it_is(12)
    world.client_user.timezone = zone
    db.session.commit()
    return zone


# ----------------------------------------------------------------------------- editing


def test_edit_moves_every_deadline_and_keeps_completed_evidence(world, noon_client):
    tz = noon_client
    now = datetime.now(UTC)
    start = now - timedelta(hours=3)
    interview = interview_for(world.profile, world.client_user, start_at=start)
    tasks = tasks_of(interview)
    evidence = {"rule": "notes", "notes": "Dana sails on weekends"}
    complete_task(task=tasks["notes"], actor=world.client_user, evidence=evidence)
    db.session.commit()
    done_at = tasks["notes"].completed_at
    assert status(tasks["notes"]) is Status.ON_TIME

    new_start = start - timedelta(days=1)
    new_day = local_date(new_start + timedelta(minutes=45), tz)
    decision = new_day + timedelta(days=2)
    result = history.edit_interview(
        interview=interview,
        data=changes_for(
            interview,
            start_at=new_start,
            duration_minutes=45,
            format="video",
            company="Harbor Logistics",
            role="Senior analyst",
            stated_decision_date=decision,
        ),
        actor=world.client_user,
    )
    db.session.commit()

    assert result.tasks_rescheduled == len(tasks)
    # The completed task's deadline moved too; its evidence and completion time did not, so
    # it is now judged against the corrected deadline: done late.
    assert local_date(tasks["notes"].due_at, tz) == new_day
    assert tasks["notes"].completed_at == done_at
    assert tasks["notes"].evidence == evidence
    assert status(tasks["notes"]) is Status.LATE
    assert tasks["thank_you_email"].due_at == new_start + timedelta(minutes=45, hours=24)
    assert local_date(tasks["thank_you_note"].due_at, tz) == new_day + timedelta(days=1)
    # An early stated decision date: the check-in is the day after it (PLAYBOOK.md).
    check_in = tasks["check_in"]
    assert local_date(check_in.window_opens_at, tz) == decision + timedelta(days=1)
    assert local_date(check_in.due_at, tz) == decision + timedelta(days=1)
    opportunity = db.session.get(Opportunity, interview.opportunity_id)
    assert (opportunity.company, opportunity.role) == ("Harbor Logistics", "Senior analyst")
    assert (interview.format, interview.duration_minutes) == ("video", 45)

    # Reminders not yet sent were planned again with the new deadlines; none for done work.
    open_ids = {t.id: t for t in tasks.values() if t.is_open}
    pending = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.task_id.in_([t.id for t in tasks.values()]),
            OutboxMessage.status == "pending",
        )
    ).all()
    assert pending
    for row in pending:
        assert row.task_id in open_ids
        assert f"Deadline: {local_datetime(open_ids[row.task_id].due_at, tz)}" in row.body_text

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "interview.edited"))
    assert event.object_id == interview.id
    assert {"company", "role", "start_at", "stated_decision_date", "format"} <= set(
        event.details["changed"]
    )
    assert "Harbor" not in json.dumps(event.details)  # field names only, never free text


def test_an_edit_that_would_reorder_rounds_is_refused(world):
    now = datetime.now(UTC)
    first = interview_for(world.profile, world.client_user, start_at=now - timedelta(days=3))
    interview_for(
        world.profile,
        world.client_user,
        start_at=now - timedelta(days=1),
        opportunity=first.opportunity,
    )
    with pytest.raises(ServiceError, match="rounds keep their order") as error:
        history.edit_interview(
            interview=first,
            data=changes_for(first, start_at=now - timedelta(hours=2)),
            actor=world.client_user,
        )
    assert error.value.field == "start_at"


def _edit_form(interview, **overrides):
    local = interview.start_at.astimezone(ZoneInfo(interview.timezone))
    form = {
        "company": interview.opportunity.company,
        "role": interview.opportunity.role,
        "industry": "",
        "start_date": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"),
        "duration_minutes": str(interview.duration_minutes),
        "format": interview.format,
        "timezone": interview.timezone,
        "next_step": "",
        "stated_decision_date": "",
    }
    form.update(overrides)
    return form


def _snapshot(interview):
    db.session.expire_all()
    item = db.session.get(Interview, interview.id)
    return (
        item.start_at,
        item.timezone,
        item.stated_decision_date,
        item.opportunity.company,
        sorted((t.rule, t.due_at, t.completed_at) for t in tasks_of(item).values()),
        count(AuditEvent, AuditEvent.action == "interview.edited"),
    )


def test_editing_to_an_invalid_time_refuses_with_a_field_error_and_changes_nothing(world, as_user):
    interview = interview_for(world.profile, world.client_user)  # started 3 hours ago
    complete_task(task=tasks_of(interview)["notes"], actor=world.client_user)
    db.session.commit()
    before = _snapshot(interview)
    browser = as_user(world.client_user)
    url = f"/me/interviews/{interview.id}/edit"
    day = interview.start_at.astimezone(ZoneInfo("America/New_York"))

    cases = [
        # A time the clocks skip (US daylight saving starts 8 March 2026 at 02:00).
        ({"start_date": "2026-03-08", "start_time": "02:30"}, "start_time", "does not exist"),
        # A decision date before the interview.
        (
            {"stated_decision_date": (day.date() - timedelta(days=1)).isoformat()},
            "stated_decision_date",
            "before the interview",
        ),
        # A start after work already recorded for this round.
        (
            {"start_date": (day.date() + timedelta(days=2)).isoformat()},
            "start_time",
            "was marked done",
        ),
        ({"company": ""}, "company", "Enter the company"),
    ]
    for overrides, field, message in cases:
        form = _edit_form(interview, **{"company": "Renamed Co", **overrides})
        response = browser.post(url, data=form)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, overrides
        assert f'id="{field}-error"' in page, overrides
        assert message in page, overrides
        assert 'value="Renamed Co"' in page or overrides.get("company") == ""  # input kept
        assert _snapshot(interview) == before, overrides


def test_the_edit_page_saves_and_returns_to_the_checklist(world, as_user):
    interview = interview_for(world.profile, world.client_user)
    original_start = interview.start_at
    browser = as_user(world.client_user)
    page = browser.get(f"/me/interviews/{interview.id}/edit").get_data(as_text=True)
    assert 'value="Harbor Analytics"' in page and "Time zone" in page
    response = browser.post(
        f"/me/interviews/{interview.id}/edit",
        data=_edit_form(interview, company="Harbor Freight", timezone="Europe/Berlin"),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/me/interviews/{interview.id}")
    db.session.expire_all()
    item = db.session.get(Interview, interview.id)
    assert (item.opportunity.company, item.timezone) == ("Harbor Freight", "Europe/Berlin")
    # The same wall-clock time, now read in Berlin: an earlier instant than in New York.
    assert item.start_at == original_start.replace(second=0, microsecond=0) - timedelta(hours=6)
    coach = as_user(world.coach)
    response = coach.post(
        f"/me/interviews/{interview.id}/edit", data=_edit_form(item, format="phone")
    )
    assert response.status_code == 302
    assert f"/coach/clients/{world.profile.id}#round-{interview.id}" in response.headers["Location"]


# ----------------------------------------------------------------------------- deleting


def test_deleting_the_latest_round_brings_back_the_superseded_check_in(world):
    now = datetime.now(UTC)
    first = interview_for(world.profile, world.client_user, start_at=now - timedelta(hours=30))
    second = interview_for(
        world.profile,
        world.client_user,
        start_at=now - timedelta(hours=2),
        opportunity=first.opportunity,
    )
    check_in = tasks_of(first)["check_in"]
    assert check_in.waived_reason == SUPERSEDED_REASON
    second_ids = [t.id for t in tasks_of(second).values()]

    result = deletion.delete_interview(interview=second, actor=world.client_user)
    db.session.commit()

    assert result.tasks == len(second_ids) and [t.id for t in result.restored] == [check_in.id]
    db.session.expire_all()
    check_in = db.session.get(FollowUpTask, check_in.id)
    assert check_in.waived_reason is None and status(check_in) is Status.PENDING
    assert count(OutboxMessage, OutboxMessage.task_id == check_in.id) > 0  # reminders again
    assert count(FollowUpTask, FollowUpTask.id.in_(second_ids)) == 0
    assert db.session.get(Opportunity, first.opportunity_id).rounds == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "interview.deleted"))
    assert event.details["restored"] == 1 and event.details["round"] == 2


def test_after_a_decision_the_superseded_check_in_stays_waived(world):
    now = datetime.now(UTC)
    first = interview_for(world.profile, world.client_user, start_at=now - timedelta(hours=30))
    second = interview_for(
        world.profile,
        world.client_user,
        start_at=now - timedelta(hours=2),
        opportunity=first.opportunity,
    )
    record_outcome(opportunity=first.opportunity, outcome="offer", actor=world.client_user)
    db.session.commit()
    result = deletion.delete_interview(interview=second, actor=world.client_user)
    db.session.commit()
    assert result.restored == []
    assert tasks_of(first)["check_in"].waived_reason == SUPERSEDED_REASON


def test_deleting_an_earlier_round_renumbers_the_later_ones(world):
    now = datetime.now(UTC)
    rounds = [interview_for(world.profile, world.client_user, start_at=now - timedelta(days=5))]
    for days in (3, 0.1):
        rounds.append(
            interview_for(
                world.profile,
                world.client_user,
                start_at=now - timedelta(days=days),
                opportunity=rounds[0].opportunity,
            )
        )
    latest_check_in = tasks_of(rounds[2])["check_in"]
    contacts = count(InterviewContact, InterviewContact.interview_id == rounds[0].id)
    assert contacts == 1
    deletion.delete_interview(interview=rounds[0], actor=world.coach)
    db.session.commit()
    db.session.expire_all()
    numbers = [db.session.get(Interview, r.id).round_number for r in rounds[1:]]
    assert numbers == [1, 2]
    assert db.session.get(Opportunity, rounds[0].opportunity_id).rounds == 2
    assert count(InterviewContact, InterviewContact.interview_id == rounds[0].id) == 0
    assert status(db.session.get(FollowUpTask, latest_check_in.id)) is Status.PENDING


def test_the_only_round_of_a_decided_opportunity_is_deleted_with_the_opportunity(world):
    interview = interview_for(world.profile, world.client_user)
    record_outcome(opportunity=interview.opportunity, outcome="rejected", actor=world.coach)
    db.session.commit()
    with pytest.raises(ServiceError, match="Delete the whole opportunity"):
        deletion.delete_interview(interview=interview, actor=world.coach)


def test_deleting_keeps_sent_reminder_history_and_drops_the_rest(world, as_user):
    interview = interview_for(world.profile, world.client_user, referrals=["Lee Park"])
    task_ids = [t.id for t in tasks_of(interview).values()]
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task_id.in_(task_ids)).order_by(OutboxMessage.id)
    ).all()
    assert len(rows) >= 2
    sent, others = rows[0], rows[1:]
    sent.status, sent.sent_at = "sent", datetime.now(UTC)
    subject = sent.subject
    db.session.add(
        Notification(
            user_id=world.client_user.id, message=sent.subject, link=sent.link, outbox_id=sent.id
        )
    )
    db.session.commit()
    sent_id, other_ids = sent.id, [r.id for r in others]

    browser = as_user(world.client_user)
    page = browser.get(f"/me/interviews/{interview.id}/delete").get_data(as_text=True)
    assert f"its {len(task_ids)} tasks go" in page
    # An empty post (no confirmation) deletes nothing.
    assert browser.post(f"/me/interviews/{interview.id}/delete", data={}).status_code == 400
    assert count(FollowUpTask, FollowUpTask.id.in_(task_ids)) == len(task_ids)
    response = browser.post(f"/me/interviews/{interview.id}/delete", data={"confirm": "delete"})
    assert response.status_code == 302

    db.session.expire_all()
    assert count(FollowUpTask, FollowUpTask.id.in_(task_ids)) == 0
    assert count(Interview, Interview.id == interview.id) == 0
    assert count(Referral) == 0 and count(InterviewContact) == 0
    kept = db.session.get(OutboxMessage, sent_id)
    assert (kept.status, kept.task_id, kept.subject) == ("sent", None, subject)
    assert count(OutboxMessage, OutboxMessage.id.in_(other_ids)) == 0
    assert count(OutboxMessage, OutboxMessage.task_id.in_(task_ids)) == 0
    assert count(Notification) == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "interview.deleted"))
    assert event.details["sent_reminders_kept"] == 1
    assert "Harbor" not in json.dumps(event.details) and "Lee" not in json.dumps(event.details)
    # A new task reusing a freed id (SQLite reuses the highest) plans its reminders cleanly.
    interview_for(world.profile, world.client_user, company="Next Co")


def _figures(world, at):
    """Dashboard tiles and the client's pipeline row, as the coach sees them at `at`."""
    tiles = data.headline(world.coach, now=at).set_index("measure")
    row = pipeline.pipeline(world.coach, pipeline.PipelineQuery(), per_page=25, now=at).rows
    row = next(r for r in row if r.client_id == world.profile.id)
    return {
        "compliance": tuple(tiles.loc["compliance", ["num", "den"]]),
        "offer": tuple(tiles.loc["offer", ["num", "den"]]),
        "opportunities": int(tiles["opportunities"].iloc[0] or 0),
        "pipeline_compliance": (row.compliance.numerator, row.compliance.denominator),
        "overdue": row.overdue,
        "stages": row.stages,
        "decided": row.decided,
    }


def test_a_deleted_opportunity_leaves_every_figure(world):
    now = datetime.now(UTC)
    at = now + timedelta(minutes=5)
    kept = interview_for(world.profile, world.client_user, start_at=now - timedelta(days=2))
    complete_task(task=tasks_of(kept)["notes"], actor=world.client_user)
    record_outcome(opportunity=kept.opportunity, outcome="offer", actor=world.client_user)
    db.session.commit()
    alone = _figures(world, at)

    mistaken = interview_for(
        world.profile, world.client_user, start_at=now - timedelta(days=3), company="Wrong Co"
    )
    second = interview_for(
        world.profile,
        world.client_user,
        start_at=now - timedelta(days=1),
        opportunity=mistaken.opportunity,
    )
    complete_task(task=tasks_of(second)["notes"], actor=world.client_user)
    record_outcome(opportunity=mistaken.opportunity, outcome="rejected", actor=world.client_user)
    db.session.commit()
    with_mistake = _figures(world, at)
    assert with_mistake != alone
    assert with_mistake["overdue"] > alone["overdue"]
    assert with_mistake["offer"][1] == alone["offer"][1] + 1

    opportunity_id = mistaken.opportunity_id
    mistaken_tasks = count(FollowUpTask, FollowUpTask.opportunity_id == opportunity_id)
    result = deletion.delete_opportunity(opportunity=mistaken.opportunity, actor=world.coach)
    db.session.commit()

    assert (result.interviews, result.tasks) == (2, mistaken_tasks)
    assert count(FollowUpTask, FollowUpTask.opportunity_id == opportunity_id) == 0
    assert count(OpportunityFact, OpportunityFact.opportunity_id == opportunity_id) == 0
    assert db.session.get(Opportunity, opportunity_id) is None
    assert _figures(world, at) == alone
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "opportunity.deleted"))
    assert event.details["interviews"] == 2 and "Wrong" not in json.dumps(event.details)


def test_deleting_the_latest_round_moves_the_pipeline_stage_back(world):
    now = datetime.now(UTC)
    first = interview_for(world.profile, world.client_user, start_at=now - timedelta(days=2))
    second = interview_for(
        world.profile,
        world.client_user,
        start_at=now - timedelta(hours=2),
        opportunity=first.opportunity,
    )
    assert _figures(world, now)["stages"] == [(2, 1)]
    deletion.delete_interview(interview=second, actor=world.coach)
    db.session.commit()
    assert _figures(world, now)["stages"] == [(1, 1)]


def test_a_failed_deletion_changes_nothing(world, monkeypatch):
    interview = interview_for(world.profile, world.client_user, referrals=["Lee Park"])
    opportunity_id = interview.opportunity_id
    before = (count(FollowUpTask), count(OutboxMessage), count(Referral), count(Interview))

    def broken(_interview):
        raise RuntimeError("disk full")

    monkeypatch.setattr(deletion, "_remove_interview_rows", broken)
    with pytest.raises(RuntimeError):
        deletion.delete_opportunity(
            opportunity=db.session.get(Opportunity, opportunity_id), actor=world.coach
        )
    db.session.rollback()
    assert (count(FollowUpTask), count(OutboxMessage), count(Referral), count(Interview)) == before
    assert db.session.get(Opportunity, opportunity_id) is not None
    assert count(AuditEvent, AuditEvent.action == "opportunity.deleted") == 0


def test_the_opportunity_delete_page_confirms_then_deletes(world, as_user):
    interview = interview_for(world.profile, world.client_user)
    browser = as_user(world.coach)
    url = f"/me/opportunities/{interview.opportunity_id}/delete"
    page = browser.get(url).get_data(as_text=True)
    assert "Delete Harbor Analytics" in page and "1 interview round" in page
    response = browser.post(url, data={"confirm": "delete"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/coach/clients/{world.profile.id}")
    assert count(Opportunity) == 0 and count(FollowUpTask) == 0
    # Another coach's client: 404, nothing to confirm.
    other = interview_for(world.profile2, world.client2_user)
    assert browser.get(f"/me/opportunities/{other.opportunity_id}/delete").status_code == 404


# ----------------------------------------------------------------------------- future


def test_a_future_interview_is_saved_with_a_warning_and_its_tasks_open_once_started(
    world, as_user, noon_client
):
    browser = as_user(world.client_user)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).astimezone(ZoneInfo(noon_client))
    response = browser.post(
        "/me/interviews/new",
        data={
            "opportunity_id": "",
            "company": "Future Co",
            "role": "Analyst",
            "start_date": tomorrow.date().isoformat(),
            "start_time": "09:00",
            "duration_minutes": "60",
            "format": "video",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "starts in the future" in page and 'data-testid="not-started"' in page
    interview = db.session.scalar(select(Interview))
    notes = tasks_of(interview)["notes"]
    task_page = browser.get(f"/me/tasks/{notes.id}").get_data(as_text=True)
    assert 'data-testid="available-from"' in task_page
    assert "once the interview has started" in task_page
    assert "Mark done" not in task_page
    refused = browser.post(f"/me/tasks/{notes.id}/complete", data={"notes": "early"})
    assert refused.status_code == 400 and "happened yet" in refused.get_data(as_text=True)

    # Once it has started (here: the time was corrected to this morning), the form is back.
    this_morning = datetime.now(UTC) - timedelta(hours=2)
    history.edit_interview(
        interview=interview,
        data=changes_for(interview, start_at=this_morning),
        actor=world.client_user,
    )
    db.session.commit()
    task_page = browser.get(f"/me/tasks/{notes.id}").get_data(as_text=True)
    assert "Mark done" in task_page and 'data-testid="available-from"' not in task_page
    done = browser.post(f"/me/tasks/{notes.id}/complete", data={"notes": "Went well"})
    assert done.status_code == 302


def test_a_coach_logging_a_future_interview_gets_the_warning(world, as_user):
    coach = as_user(world.coach)
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    response = coach.post(
        f"/coach/clients/{world.profile.id}/interviews/new",
        data={
            "opportunity_id": "",
            "company": "Future Co",
            "role": "Analyst",
            "start_date": day.isoformat(),
            "start_time": "10:00",
            "duration_minutes": "60",
            "format": "phone",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "starts in the future" in response.get_data(as_text=True)


def test_the_only_round_of_an_open_opportunity_leaves_it_without_interviews(world):
    interview = interview_for(world.profile, world.client_user)
    opportunity_id = interview.opportunity_id
    deletion.delete_interview(interview=interview, actor=world.client_user)
    db.session.commit()
    assert db.session.get(Opportunity, opportunity_id).rounds == 0
    assert count(FollowUpTask) == 0
    assert _figures(world, datetime.now(UTC))["stages"] == [(0, 1)]  # no interview yet


def test_an_archived_clients_history_is_not_changed(world):
    from coach_app.services import roster

    interview = interview_for(world.profile, world.client_user)
    roster.archive_client(client=world.profile, actor=world.coach)
    db.session.commit()
    with pytest.raises(ServiceError, match="Restore this client"):
        history.edit_interview(
            interview=interview, data=changes_for(interview, format="phone"), actor=world.coach
        )
    with pytest.raises(ServiceError, match="Restore this client"):
        deletion.delete_opportunity(opportunity=interview.opportunity, actor=world.coach)
