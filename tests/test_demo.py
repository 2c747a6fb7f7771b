"""`flask demo --refresh`: an old synthetic demo moved forward to today, nothing else touched."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from coach_app.demo import build_demo
from coach_app.demo_refresh import date_columns, refresh_demo, rows_of
from coach_app.extensions import db
from coach_app.models import (
    Cohort,
    FollowUpTask,
    Interview,
    Opportunity,
    OpportunityFact,
    Organization,
    OutboxMessage,
    User,
)
from coach_app.playbook.status import task_status
from coach_app.services.followup import InterviewInput, interview_end, log_interview
from coach_app.services.followup import open_opportunity as open_opp

DAYS = 97


def _snapshot(org_id: int) -> dict:
    """Every date and time of the organisation's tasks, interviews, cohorts and users."""
    tasks = db.session.scalars(
        select(FollowUpTask)
        .join(Opportunity, Opportunity.id == FollowUpTask.opportunity_id)
        .where(Opportunity.organization_id == org_id)
    ).all()
    interviews = db.session.scalars(
        select(Interview)
        .join(Opportunity, Opportunity.id == Interview.opportunity_id)
        .where(Opportunity.organization_id == org_id)
    ).all()
    return {
        "tasks": {
            t.id: (
                t.due_at,
                t.completed_at,
                t.created_at,
                interview_end(t.interview) if t.interview else None,
                t.waived_reason is not None,
            )
            for t in tasks
        },
        "interviews": {i.id: (i.start_at, i.stated_decision_date) for i in interviews},
        "cohorts": {
            c.id: (c.starts_on, c.ends_on)
            for c in db.session.scalars(select(Cohort).where(Cohort.organization_id == org_id))
        },
        "users": {
            u.id: u.created_at
            for u in db.session.scalars(select(User).where(User.organization_id == org_id))
        },
        "org": db.session.get(Organization, org_id).created_at,
    }


def _shift(value, days):
    return None if value is None else value + timedelta(days=days)


def test_every_dated_table_is_tied_to_an_organisation(app):
    """A new table with dates but no path to its organisation would be left behind."""
    untied = [
        t.name for t in db.metadata.sorted_tables if date_columns(t) and rows_of(t, 1) is None
    ]
    assert untied == []


def test_refresh_moves_an_old_demo_to_today_and_leaves_real_organisations_alone(app, world):
    real_now = datetime.now(UTC)
    built_at = real_now - timedelta(days=DAYS, hours=5)
    # A real organisation with work of its own, which must not move.
    opportunity = open_opp(
        client=world.profile, company="Real Co", role="Analyst", industry=None, actor=world.coach
    )
    log_interview(
        opportunity=opportunity,
        actor=world.coach,
        now=real_now - timedelta(days=1),
        data=InterviewInput(start_at=real_now - timedelta(days=1, hours=2), duration_minutes=60),
    )
    db.session.commit()
    build_demo(seed=5, clients=4, now=built_at)
    demo = db.session.scalar(select(Organization).where(Organization.is_synthetic.is_(True)))
    assert demo.created_at == built_at
    before, real_before = _snapshot(demo.id), _snapshot(world.org.id)
    assert before["tasks"] and real_before["tasks"]

    summary = refresh_demo(now=real_now)
    db.session.expire_all()

    assert [(days) for _, days, _ in summary.moved] == [DAYS]  # whole days, rounded down
    after = _snapshot(demo.id)
    assert after["org"] == built_at + timedelta(days=DAYS)
    # Every time moved by the same whole days, so each task keeps its distance from its
    # interview's end and its status: the one it had at build time is the one it has now.
    for task_id, (due, done, created, ended, waived) in before["tasks"].items():
        due2, done2, created2, ended2, waived2 = after["tasks"][task_id]
        assert (due2, done2, created2) == (
            _shift(due, DAYS),
            _shift(done, DAYS),
            _shift(created, DAYS),
        )
        if ended is not None:
            assert due2 - ended2 == due - ended
        assert task_status(
            due_at=due2, completed_at=done2, waived=waived2, now=real_now
        ) == task_status(
            due_at=due, completed_at=done, waived=waived, now=real_now - timedelta(days=DAYS)
        )
    # Local dates moved by the same whole days.
    for interview_id, (start, decision) in before["interviews"].items():
        assert after["interviews"][interview_id] == (_shift(start, DAYS), _shift(decision, DAYS))
    for cohort_id, dates in before["cohorts"].items():
        assert after["cohorts"][cohort_id] == tuple(_shift(d, DAYS) for d in dates)
    # The latest interviews are in the past week; some work is due from now on.
    latest = max(start for start, _ in after["interviews"].values())
    assert real_now - timedelta(days=8) < latest < real_now
    open_due = [
        due for due, done, _, _, waived in after["tasks"].values() if not done and not waived
    ]
    assert any(real_now < due < real_now + timedelta(days=7) for due in open_due)
    assert all(done is None or done < real_now for _, done, *_ in after["tasks"].values())
    # No backlog of reminders: nothing pending is already due, and what is pending is new.
    pending = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.organization_id == demo.id, OutboxMessage.status == "pending"
        )
    ).all()
    assert all(row.due_at >= real_now for row in pending)
    # The analytics facts were rebuilt from the moved interviews (their first local day).
    facts = db.session.scalars(
        select(OpportunityFact).where(OpportunityFact.organization_id == demo.id)
    ).all()
    assert facts
    for fact in facts:
        first = db.session.scalars(
            select(Interview)
            .where(Interview.opportunity_id == fact.opportunity_id)
            .order_by(Interview.start_at)
        ).first()
        assert fact.first_interview_on == first.start_at.astimezone(ZoneInfo(first.timezone)).date()
    # The real organisation did not move at all.
    assert _snapshot(world.org.id) == real_before

    # Idempotent: a second refresh the same day moves nothing.
    again = refresh_demo(now=real_now + timedelta(hours=2))
    db.session.expire_all()
    assert again.moved == []
    assert _snapshot(demo.id) == after


def test_refresh_without_a_demo_does_nothing(app, world):
    summary = refresh_demo()
    assert summary.moved == [] and "No demo to move" in str(summary)


def test_demo_refresh_command(app):
    build_demo(seed=2, clients=2, now=datetime.now(UTC) - timedelta(days=3, hours=1))
    result = app.test_cli_runner().invoke(args=["demo", "--refresh"])
    assert result.exit_code == 0, result.output
    assert "forward by 3 days" in result.output
