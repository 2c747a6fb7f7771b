"""The playbook wired to the models: logging, completing, waiving, outcomes, rescheduling."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import FollowUpTask, Interview, Opportunity, OutboxMessage
from coach_app.playbook import RULES
from coach_app.services import ServiceError
from coach_app.services.followup import (
    add_referral,
    complete_task,
    mark_no_response,
    record_outcome,
    reschedule_interview,
    unwaive_task,
    waive_task,
)
from tests.factories import interview_for

NY = ZoneInfo("America/New_York")


def tasks_of(interview_id=None, opportunity_id=None):
    query = select(FollowUpTask).order_by(FollowUpTask.id)
    if interview_id:
        query = query.where(FollowUpTask.interview_id == interview_id)
    if opportunity_id:
        query = query.where(FollowUpTask.opportunity_id == opportunity_id)
    return {
        t.rule if t.rule != "referral" else f"referral:{t.referral_id}": t
        for t in db.session.scalars(query)
    }


def local(task_due):
    return task_due.astimezone(NY)


def test_logging_an_interview_creates_exactly_the_playbook_tasks(world):
    start = datetime(2026, 3, 10, 14, 0, tzinfo=NY).astimezone(UTC)
    interview = interview_for(
        world.profile,
        world.client_user,
        start_at=start,
        referrals=["Sam Lee"],
        now=start + timedelta(hours=2),
    )
    tasks = tasks_of(interview.id)
    rules = sorted(t.rule for t in tasks.values())
    assert rules == sorted(
        [
            "notes",
            "contacts",
            "next_step",
            "thank_you_email",
            "thank_you_note",
            "info_gift",
            "second_interview",
            "referral",
            "check_in",
        ]
    )
    # Deadlines in the client's local calendar (New York).
    assert local(tasks["notes"].due_at) == datetime(2026, 3, 10, 23, 59, 59, tzinfo=NY)
    assert local(tasks["thank_you_note"].due_at) == datetime(2026, 3, 11, 23, 59, 59, tzinfo=NY)
    assert tasks["thank_you_email"].due_at == start + timedelta(hours=25)
    referral = next(t for k, t in tasks.items() if k.startswith("referral"))
    assert referral.due_at == start + timedelta(hours=73)
    # Day 7 crosses the DST change (8 March 2026 already passed; still local dates).
    assert local(tasks["check_in"].window_opens_at) == datetime(2026, 3, 17, 0, 0, tzinfo=NY)
    assert local(tasks["check_in"].due_at) == datetime(2026, 3, 20, 23, 59, 59, tzinfo=NY)
    assert all(t.client_id == world.profile.id for t in tasks.values())


def test_a_later_round_waives_the_earlier_pending_check_in(world):
    first = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=3)
    )
    second = interview_for(
        world.profile,
        world.client_user,
        opportunity=first.opportunity,
        start_at=datetime.now(UTC) - timedelta(hours=2),
    )
    assert second.round_number == 2
    old_check_in = tasks_of(first.id)["check_in"]
    assert old_check_in.waived_reason == "superseded by a later round"
    assert tasks_of(second.id)["check_in"].waived_reason is None


def test_a_missed_check_in_stays_missed_after_a_new_round(world):
    first = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=20)
    )
    interview_for(world.profile, world.client_user, opportunity=first.opportunity)
    assert tasks_of(first.id)["check_in"].waived_reason is None  # past due: stays a miss


def test_rejection_waives_waiting_tasks_and_adds_thanks(world):
    interview = interview_for(world.profile, world.client_user)
    thanks = record_outcome(
        opportunity=interview.opportunity, outcome="rejected", actor=world.client_user
    )
    db.session.commit()
    assert tasks_of(interview.id)["check_in"].waived_reason == "decision recorded"
    assert thanks.rule == "rejection_thanks" and thanks.interview_id is None
    tomorrow = (datetime.now(UTC).astimezone(NY) + timedelta(days=1)).date()
    assert local(thanks.due_at).date() == tomorrow
    # Recording it twice changes nothing; switching to an offer is refused.
    assert (
        record_outcome(
            opportunity=interview.opportunity, outcome="rejected", actor=world.client_user
        )
        is None
    )
    with pytest.raises(ServiceError, match="already decided"):
        record_outcome(opportunity=interview.opportunity, outcome="offer", actor=world.client_user)


def test_check_in_with_call_back_date_creates_callback(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=8)
    )
    check_in = tasks_of(interview.id)["check_in"]
    callback_day = (datetime.now(UTC) + timedelta(days=4)).astimezone(NY).date()
    callback = complete_task(
        task=check_in,
        actor=world.client_user,
        callback_date=callback_day,
        evidence={"answer": "no decision yet"},
    )
    db.session.commit()
    assert callback.rule == "callback" and callback.parent_task_id == check_in.id
    assert local(callback.due_at) == datetime.combine(
        callback_day, datetime.max.time().replace(microsecond=0), tzinfo=NY
    )


def test_completing_before_the_interview_is_refused_and_changes_nothing(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) + timedelta(days=2)
    )
    notes = tasks_of(interview.id)["notes"]
    with pytest.raises(ServiceError, match="hasn't happened yet"):
        complete_task(task=notes, actor=world.client_user)
    db.session.rollback()
    assert db.session.get(FollowUpTask, notes.id).completed_at is None


def test_waive_and_unwaive(world):
    interview = interview_for(world.profile, world.client_user)
    gift = tasks_of(interview.id)["info_gift"]
    with pytest.raises(ServiceError, match="reason"):
        waive_task(task=gift, actor=world.coach, reason="  ")
    waive_task(task=gift, actor=world.coach, reason="They asked for no contact")
    with pytest.raises(ServiceError, match="waived"):
        complete_task(task=gift, actor=world.client_user)
    unwaive_task(task=gift, actor=world.coach)
    db.session.commit()
    assert gift.waived_reason is None
    complete_task(task=gift, actor=world.client_user, evidence={"gift": "An article on sailing"})
    assert gift.completed_at is not None


def test_stated_decision_date_before_interview_is_refused_without_writes(world):
    before = db.session.scalar(select(func.count(Interview.id)))
    with pytest.raises(ServiceError, match="before the interview"):
        interview_for(
            world.profile,
            world.client_user,
            stated_decision_date=(datetime.now(UTC) - timedelta(days=5)).date(),
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count(Interview.id))) == before
    assert db.session.scalar(select(func.count(FollowUpTask.id))) == 0


@pytest.mark.parametrize("minutes", [0, -30])
def test_bad_duration_is_refused(world, minutes):
    with pytest.raises(ServiceError, match="duration"):
        interview_for(world.profile, world.client_user, duration_minutes=minutes)


def test_rescheduling_moves_every_deadline_and_keeps_completed_work(world):
    start = datetime.now(UTC) - timedelta(hours=3)
    interview = interview_for(world.profile, world.client_user, start_at=start)
    tasks = tasks_of(interview.id)
    complete_task(task=tasks["notes"], actor=world.client_user)
    done_at, evidence = tasks["notes"].completed_at, tasks["notes"].evidence
    notes_due = tasks["notes"].due_at
    new_start = start - timedelta(days=1)
    reschedule_interview(interview=interview, actor=world.coach, start_at=new_start)
    db.session.commit()
    # Completed work keeps its time and evidence; its deadline moves with the interview.
    assert local(tasks["notes"].due_at).date() == local(notes_due).date() - timedelta(days=1)
    assert (tasks["notes"].completed_at, tasks["notes"].evidence) == (done_at, evidence)
    assert tasks["thank_you_email"].due_at == new_start + timedelta(hours=25)


def test_referral_added_later_gets_its_task(world):
    interview = interview_for(world.profile, world.client_user)
    task = add_referral(
        interview=interview, name="Jo Park", note="alumni network", actor=world.client_user
    )
    assert task.rule == "referral" and task.referral.name == "Jo Park"


def test_no_response_after_thirty_days(world):
    old = interview_for(
        world.profile,
        world.client_user,
        start_at=datetime.now(UTC) - timedelta(days=40),
        company="Old Co",
    )
    recent = interview_for(
        world.profile,
        world.client_user,
        start_at=datetime.now(UTC) - timedelta(days=3),
        company="New Co",
    )
    assert mark_no_response() == 1
    db.session.commit()
    assert db.session.get(Opportunity, old.opportunity_id).outcome == "no_response"
    assert db.session.get(Opportunity, recent.opportunity_id).outcome == "open"
    assert mark_no_response() == 0  # safe to run twice


def test_reminders_are_written_with_the_task_and_cancelled_on_completion(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(minutes=90)
    )
    notes = tasks_of(interview.id)["notes"]
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.task_id == notes.id)).all()
    assert rows and all(r.status == "pending" for r in rows)
    complete_task(task=notes, actor=world.client_user)
    db.session.commit()
    statuses = {
        r.status
        for r in db.session.scalars(select(OutboxMessage).where(OutboxMessage.task_id == notes.id))
    }
    assert statuses == {"cancelled"}


def test_every_rule_has_a_spec():
    assert set(RULES) and all(spec.title for spec in RULES.values())


def test_decision_date_within_a_week_moves_the_check_in(world):
    start = datetime(2026, 6, 1, 10, 0, tzinfo=NY).astimezone(UTC)
    interview = interview_for(
        world.profile,
        world.client_user,
        start_at=start,
        stated_decision_date=date(2026, 6, 3),
        now=start + timedelta(hours=1),
    )
    check_in = tasks_of(interview.id)["check_in"]
    assert local(check_in.window_opens_at) == datetime(2026, 6, 4, 0, 0, tzinfo=NY)
    assert local(check_in.due_at) == datetime(2026, 6, 4, 23, 59, 59, tzinfo=NY)


def test_client_cannot_waive_a_missed_task_but_coach_can(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=3)
    )
    notes = tasks_of(interview.id)["notes"]
    with pytest.raises(ServiceError, match="Ask your coach"):
        waive_task(task=notes, actor=world.client_user, reason="forgot")
    waive_task(task=notes, actor=world.coach, reason="Interview was cancelled on the day")
    assert notes.waived_reason.startswith("Interview was cancelled")


@pytest.mark.parametrize(
    ("outcome", "still_open"),
    [
        (
            "offer",
            {"notes", "contacts", "next_step", "thank_you_email", "thank_you_note", "info_gift"},
        ),
        ("rejected", {"notes", "contacts", "next_step", "rejection_thanks"}),
        ("withdrawn", {"notes", "contacts"}),
        (
            "no_response",
            {
                "notes",
                "contacts",
                "next_step",
                "thank_you_email",
                "thank_you_note",
                "info_gift",
                "second_interview",
                "check_in",
            },
        ),
    ],
)
def test_a_decision_closes_the_pending_tasks_it_made_moot(world, outcome, still_open):
    # Still under way: every task of the round is pending whatever the local hour.
    started = datetime.now(UTC) - timedelta(minutes=30)
    interview = interview_for(world.profile, world.client_user, start_at=started)
    record_outcome(opportunity=interview.opportunity, outcome=outcome, actor=world.client_user)
    db.session.commit()
    pending = set(
        db.session.scalars(
            select(FollowUpTask.rule).where(
                FollowUpTask.opportunity_id == interview.opportunity_id,
                FollowUpTask.waived_reason.is_(None),
                FollowUpTask.completed_at.is_(None),
            )
        )
    )
    assert pending == still_open
    waived = db.session.scalars(
        select(FollowUpTask).where(
            FollowUpTask.opportunity_id == interview.opportunity_id,
            FollowUpTask.waived_reason.is_not(None),
        )
    ).all()
    assert all(task.waived_reason == "decision recorded" for task in waived)


def test_a_decision_leaves_a_missed_thank_you_missed(world):
    interview = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=3)
    )
    record_outcome(opportunity=interview.opportunity, outcome="rejected", actor=world.client_user)
    db.session.commit()
    tasks = tasks_of(interview.id)
    assert tasks["thank_you_email"].waived_reason is None  # due two days ago: a miss stays
    assert tasks["check_in"].waived_reason == "decision recorded"  # still pending: moot
