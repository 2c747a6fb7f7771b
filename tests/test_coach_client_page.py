"""The coach's client page: open work first, decided opportunities folded with their outcome,
a timeline dated by interviews, a summary on top, and a bounded number of queries."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from coach_app.coach.detail import client_detail, tally_text
from coach_app.extensions import db
from coach_app.models import FollowUpTask, Opportunity
from coach_app.services import followup
from coach_app.services.pipeline import PipelineRow
from tests.factories import interview_for
from tests.test_pipeline_queries import count_queries


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _detail(app, world):
    """What the page shows the coach (read through access.py as that coach)."""
    return client_detail(world.profile, datetime.now(UTC), world.coach)


def _page(as_user, world) -> str:
    response = as_user(world.coach).get(f"/coach/clients/{world.profile.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _decide(opportunity, outcome, world):
    followup.record_outcome(opportunity=opportunity, outcome=outcome, actor=world.coach)
    db.session.commit()


def test_open_opportunities_come_first_and_decided_ones_fold_with_their_outcome(world, as_user):
    offered = interview_for(
        world.profile, world.coach, company="Offer Co", start_at=_days_ago(60)
    ).opportunity
    rejected = interview_for(
        world.profile, world.coach, company="Reject Co", start_at=_days_ago(15)
    ).opportunity
    still_open = interview_for(
        world.profile, world.coach, company="Open Co", start_at=_days_ago(30)
    ).opportunity
    _decide(offered, "offer", world)
    _decide(rejected, "rejected", world)

    html = _page(as_user, world)
    # The open one is a card before the "Decided" section, even though it is the oldest.
    assert html.index(f'id="opportunity-{still_open.id}"') < html.index('id="decided-h"')
    decided = re.findall(r'<details class="card mb-2 decided" id="opportunity-(\d+)"', html)
    # Newest decision first; folded unless work is still to do there: the rejection's
    # "Thanks after a rejection" is due tomorrow, so that one opens by itself, while the
    # offer's old misses are past their horizon.
    assert decided == [str(rejected.id), str(offered.id)]
    assert f'id="opportunity-{offered.id}">' in html  # no "open" attribute: folded
    assert f'id="opportunity-{rejected.id}" open>' in html
    # The outcome reads in the fold's summary, visible while folded.
    summary = html.split(f'id="opportunity-{offered.id}">')[1].split("</summary>")[0]
    assert f'data-testid="outcome-{offered.id}">Offer</strong>' in summary
    assert "Offer Co" in summary and "1 round" in summary
    assert 'data-testid="opportunity-counts">1 open · 2 decided (1 offer, 1 rejected)' in html


def test_rounds_fold_behind_a_tally_and_open_work_is_listed_first(app, world, as_user):
    interview = interview_for(world.profile, world.coach, start_at=_days_ago(1))
    db.session.commit()
    detail = _detail(app, world)
    (view,) = detail.open_opportunities
    (round_view,) = view.rounds
    assert round_view.tally.startswith(f"{len(round_view.tasks)} tasks: ")
    # The to-do list holds open tasks still worth doing, today first, never a task done.
    assert view.todo and all(item.row.task.is_open for item in view.todo)
    assert [item.bucket.value for item in view.todo] == sorted(
        (item.bucket.value for item in view.todo),
        key=["today", "overdue", "upcoming"].index,
    )
    html = _page(as_user, world)
    assert f'<details class="round mb-2" id="round-{interview.id}">' in html
    assert f'data-testid="todo-{view.opportunity.id}"' in html
    assert "Still to do" in html and "Waive…" in html


def test_a_miss_past_its_horizon_leaves_the_to_do_list_but_stays_in_the_round(app, world, as_user):
    interview = interview_for(world.profile, world.coach, start_at=_days_ago(60))
    notes = db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == "notes"
        )
    )
    detail = _detail(app, world)
    (view,) = detail.open_opportunities
    assert notes.id not in {item.row.task.id for item in view.todo}
    assert notes.id in {row.task.id for row in view.rounds[0].tasks}
    assert detail.buckets["missed"] >= 1
    html = _page(as_user, world)
    assert f'id="task-{notes.id}"' in html  # still on the page, inside the folded round
    assert "missed for good" in html


def test_the_timeline_is_dated_by_interviews_not_by_when_rows_were_typed(app, world, as_user):
    june = datetime(2026, 6, 9, 15, 0, tzinfo=UTC)
    interview = interview_for(world.profile, world.coach, start_at=june, company="June Co")
    # Logged months later: the opportunity row was created today.
    assert interview.opportunity.created_at.date() != june.date()
    empty = Opportunity(
        organization_id=world.org.id,
        client_id=world.profile.id,
        company="Nothing Yet Inc",
        role="Analyst",
        created_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    )
    db.session.add(empty)
    db.session.commit()

    detail = _detail(app, world)
    events = [(e.kind, e.at) for month in detail.timeline for e in month.events]
    assert ("round", june) in events
    assert ("added", empty.created_at) in events
    # No event carries the day the June opportunity was typed in.
    assert not any(
        e.at == interview.opportunity.created_at for month in detail.timeline for e in month.events
    )
    html = _page(as_user, world)
    timeline = html.split('id="timeline-h"')[1].split("</section>")[0]
    assert "June 2026" in timeline and "09 Jun" in timeline
    assert f'href="#round-{interview.id}"' in timeline
    assert "Added Nothing Yet Inc" in timeline


def test_a_long_timeline_folds_its_earlier_events(app, world):
    for i in range(6):
        interview_for(world.profile, world.coach, start_at=_days_ago(40 + i), company=f"C{i}")
    detail = _detail(app, world)
    shown = sum(len(month.events) for month in detail.timeline)
    earlier = sum(len(month.events) for month in detail.timeline_earlier)
    assert shown == 6 and earlier == 0
    for i in range(6, 10):
        interview_for(world.profile, world.coach, start_at=_days_ago(40 + i), company=f"C{i}")
    detail = _detail(app, world)
    assert sum(len(month.events) for month in detail.timeline) == 8
    assert detail.timeline_earlier_count == 2


def test_the_summary_on_top_counts_open_work(app, world, as_user):
    interview_for(world.profile, world.coach, start_at=_days_ago(1))
    html = _page(as_user, world)
    glance = html.split('data-testid="at-a-glance"')[1].split("</dl>")[0]
    detail = _detail(app, world)
    assert f'data-testid="open-tasks">{detail.open_count}:' in glance
    assert "Compliance so far" in glance and "Next due" in glance


def test_query_count_stays_flat_with_decided_opportunities_and_contacts(world, as_user):
    browser = as_user(world.coach)
    interview_for(world.profile, world.coach, start_at=_days_ago(3), referrals=["Ref"])

    def queries():
        db.session.expire_all()
        with count_queries() as seen:
            assert browser.get(f"/coach/clients/{world.profile.id}").status_code == 200
        return len(seen)

    browser.get(f"/coach/clients/{world.profile.id}")  # warm the login and caches
    few = queries()
    for i in range(4):
        opportunity = interview_for(
            world.profile, world.coach, start_at=_days_ago(20 + i), company=f"D{i}"
        ).opportunity
        interview_for(
            world.profile,
            world.coach,
            opportunity=opportunity,
            start_at=_days_ago(10 + i),
            referrals=["A", "B"],
        )
        _decide(opportunity, "rejected" if i % 2 else "offer", world)
    assert queries() == few


def test_tally_text():
    class Row:
        def __init__(self, status):
            self.status = status

    assert tally_text([]) == "no tasks"
    rows = [Row("on_time")] * 2 + [Row("missed"), Row("pending"), Row("late"), Row("waived")]
    assert tally_text(rows) == "6 tasks: 2 done on time, 1 done late, 1 missed, 1 to do, 1 waived"
    assert tally_text([Row("missed")]) == "1 task: 1 missed"


def _row(stages):
    row = PipelineRow.__new__(PipelineRow)
    row.stages = stages
    return row


def test_pipeline_stages_read_naturally():
    assert _row([]).stages_text == ""
    assert _row([(1, 1)]).stages_text == "1 open: round 1"
    assert _row([(1, 1), (2, 1)]).stages_text == "2 open: round 1, round 2"
    assert _row([(1, 2), (3, 1)]).stages_text == "3 open: 2 in round 1, 1 in round 3"
    assert _row([(0, 1)]).stages_text == "1 open: no interview yet"
    assert _row([(0, 2), (1, 1)]).stages_text == "3 open: 2 with no interview yet, 1 in round 1"
