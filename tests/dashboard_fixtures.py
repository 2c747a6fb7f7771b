"""Hand-worked analytics fixture: six opportunities whose right answers are written below.

Every interview starts 2026-01-05 09:00 in New York (14:00 UTC) and lasts 60 minutes, so it
ends 10:00 local (15:00 UTC) and creates 8 tasks: notes, contacts, next_step (due end of
Jan 5 local), thank_you_email (end + 24 h), thank_you_note, info_gift, second_interview (end
of Jan 6 local) and check_in (due end of Jan 15 local). NOW is 2026-02-10 18:00 UTC.

    opp  done                                   outcome      tasks on time/late/missed/pending
    O1   all 8 on time, email at end + 2 h      offer        8 / 0 / 0 / 0   band high
    O2   all 8 on time, email at end + 10 h     offer        8 / 0 / 0 / 0   band high
    O3   notes, contacts, next_step, email      rejected     5 / 0 / 4 / 0   band medium (5/9)
         (+20 h) on time; the rest missed; thanks on time
    O4   notes late (next day), the other 7     rejected     7 / 1 / 1 / 0   band medium (7/9)
         on time, email at end + 5 h; thanks missed
    O5   nothing                                no_response  0 / 0 / 8 / 0   band low
    O6   interview today (NOW - 3 h), notes     open         1 / 0 / 0 / 7
         done an hour ago; the rest not yet due

At NOW: compliance 29 / 43; same-day notes 4 / 6 (O1, O2, O3, O6; O4 late, O5 missed);
check-in 3 / 5 (O6 pending); post-rejection thanks 1 / 2; offer rate 2 / 5.
Thirty days later O6's 7 pending tasks are missed: compliance 29 / 50, check-in 3 / 6.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember, FollowUpTask
from coach_app.services.followup import complete_task, record_outcome
from tests.factories import interview_for

NOW = datetime(2026, 2, 10, 18, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
START = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
RULES8 = (
    "notes",
    "contacts",
    "next_step",
    "thank_you_email",
    "thank_you_note",
    "info_gift",
    "second_interview",
    "check_in",
)


def tasks(opportunity_id) -> dict[str, FollowUpTask]:
    """The opportunity's tasks by rule."""
    rows = db.session.scalars(
        select(FollowUpTask).where(FollowUpTask.opportunity_id == opportunity_id)
    )
    return {t.rule: t for t in rows}


def on_time_moment(task) -> datetime:
    """A moment inside the task's window, before its due time."""
    if task.window_opens_at is not None:
        return task.window_opens_at + timedelta(hours=2)
    return min(task.due_at - timedelta(hours=1), END + timedelta(hours=3))


def complete(task, actor, when):
    complete_task(task=task, actor=actor, completed_at=when, now=when)


@dataclass
class SixOpportunities:
    opportunities: list = field(default_factory=list)

    @property
    def ids(self):
        return [o.id for o in self.opportunities]


def build_six(profile, actor) -> SixOpportunities:
    """Create O1..O6 (see the module docstring) for `profile`, acting as `actor`."""
    six = SixOpportunities()
    email_hours = {0: 2, 1: 10, 2: 20, 3: 5}
    notes_hours = {0: 1, 1: 8, 2: 3}
    for index in range(5):
        interview = interview_for(
            profile, actor, start_at=START, company=f"Company {index + 1}", now=END, commit=False
        )
        opportunity = interview.opportunity
        six.opportunities.append(opportunity)
        by_rule = tasks(opportunity.id)
        done = {0: RULES8, 1: RULES8, 2: RULES8[:4], 3: RULES8, 4: ()}[index]
        for rule in done:
            task = by_rule[rule]
            if rule == "thank_you_email":
                when = END + timedelta(hours=email_hours[index])
            elif rule == "notes" and index == 3:
                when = task.due_at + timedelta(hours=10)  # late: the next local day
            elif rule == "notes":
                when = END + timedelta(hours=notes_hours[index])
            else:
                when = on_time_moment(task)
            complete(task, actor, when)
        db.session.flush()
    decided = datetime(2026, 2, 1, 17, 0, tzinfo=UTC)
    for opportunity, outcome in zip(
        six.opportunities, ["offer", "offer", "rejected", "rejected"], strict=False
    ):
        thanks = record_outcome(opportunity=opportunity, outcome=outcome, actor=actor, now=decided)
        if thanks is not None and opportunity is six.opportunities[2]:
            complete(thanks, actor, decided + timedelta(hours=20))
    record_outcome(
        opportunity=six.opportunities[4],
        outcome="no_response",
        actor=actor,
        now=datetime(2026, 2, 5, 12, 0, tzinfo=UTC),
    )
    start6 = NOW - timedelta(hours=3)
    interview = interview_for(
        profile, actor, start_at=start6, company="Company 6", now=start6, commit=False
    )
    six.opportunities.append(interview.opportunity)
    complete(tasks(interview.opportunity_id)["notes"], actor, NOW - timedelta(hours=1))
    db.session.commit()
    return six


def cohort(world, organizer, name, *profiles) -> Cohort:
    """A cohort run by `organizer` with `profiles` as members."""
    group = Cohort(organization_id=world.org.id, organizer_id=organizer.id, name=name)
    db.session.add(group)
    db.session.flush()
    for profile in profiles:
        db.session.add(CohortMember(cohort_id=group.id, client_id=profile.id))
    db.session.commit()
    return group
