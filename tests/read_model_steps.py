"""The writes of the property test's histories, through the portal's services.

tests/test_read_model_property.py adds the roster, clock and fold steps and the check. Every
write happens at the simulated clock's `now` (CLOCK) and either commits or, refused with a
ServiceError, rolls back; each step leaves a line in `log`, printed when a check fails.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    Cohort,
    FollowUpTask,
    Interview,
    Opportunity,
    Organization,
    Role,
    User,
)
from coach_app.playbook import InterviewFacts, local_date
from coach_app.services import ServiceError, deletion, followup, history
from coach_app.services.accounts import create_user
from tests.conftest import PASSWORD, _truncate_all

# A week before the US and three before the EU change to summer time.
T0 = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland")
INDUSTRIES = ("software", None, "health")
PICK = st.integers(min_value=0, max_value=63)
WINDOW = timedelta(days=30)
# How the clock moves on after a write: minutes (often nothing, often across the day's
# deadlines), or exactly onto the next open task's deadline or the next 30-day window edge.
THEN = st.sampled_from((0, 0, 7, 60, 420, 1440, 2880, 10080, "deadline", "window edge"))


class Clock:
    now = T0


CLOCK = Clock()


class FollowUpSteps(RuleBasedStateMachine):
    """One organisation with two coaches, three clients and two cohorts, and the follow-up
    writes: interviews, tasks, outcomes, corrections and deletions."""

    def __init__(self):
        super().__init__()
        db.session.remove()
        _truncate_all()
        CLOCK.now = T0
        self.log: list[str] = []
        self.checks = 0
        org = Organization(name="Prop Coaching", timezone="America/New_York")
        db.session.add(org)
        db.session.flush()
        self.org_id = org.id

        def person(role, n, name, tz=None):
            email = f"{role}{n}@prop.example"
            return create_user(
                organization_id=org.id,
                role=role,
                email=email,
                name=name,
                password=PASSWORD,
                timezone=tz,
            ).id

        self.admin_id = person(Role.ADMIN, 1, "Ada Admin")
        self.coach_ids = [person(Role.COACH, 1, "Cora Coach"), person(Role.COACH, 2, "Cole Coach")]
        self.organizer_id = person(Role.ORGANIZER, 1, "Olga Organizer")
        for n, tz in enumerate((None, "Europe/Berlin", "Asia/Kolkata"), start=1):
            user_id = person(Role.CLIENT, n, f"Client {n:02d}", tz)
            db.session.add(
                ClientProfile(
                    user_id=user_id, organization_id=org.id, coach_id=self.coach_ids[n % 2]
                )
            )
        self.clients_made = 3
        db.session.commit()

    # --- plumbing ---------------------------------------------------------------------------

    def _ids(self, model, *where, order=None):
        return list(db.session.scalars(select(model.id).where(*where).order_by(order or model.id)))

    def _pick(self, model, pick, *where):
        ids = self._ids(model, *where)
        return db.session.get(model, ids[pick % len(ids)]) if ids else None

    def _user(self, user_id) -> User:
        return db.session.get(User, user_id)

    def _do(self, what: str, action, then: int = 0) -> None:
        """Run one write through the services at the step's now: commit, or roll back.

        Then move the clock on by `then` minutes, so time passes between most writes.
        """
        try:
            action()
            db.session.commit()
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} {what}")
        except ServiceError as error:
            db.session.rollback()
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} {what} -> refused: {error}")
        if isinstance(then, str):
            self._next_edge(then)
        elif then:
            CLOCK.now += timedelta(minutes=then)
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} clock +{then} min")

    def _next_edge(self, edge: str) -> None:
        """Onto the next open task's deadline, or the next moment a task leaves the window."""
        due = select(func.min(FollowUpTask.due_at))
        if edge == "deadline":
            due = due.where(
                FollowUpTask.completed_at.is_(None),
                FollowUpTask.waived_reason.is_(None),
                FollowUpTask.due_at > CLOCK.now,
            )
            moment = db.session.scalar(due)
        else:
            moment = db.session.scalar(due.where(FollowUpTask.due_at > CLOCK.now - WINDOW))
            moment = moment and moment + WINDOW
        if moment is not None:
            CLOCK.now = moment
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} clock onto the next {edge}")

    def _actor(self, client: ClientProfile, coach: bool) -> User:
        return self._user(client.coach_id) if coach else client.user

    # --- writes -----------------------------------------------------------------------------

    @initialize(starts=st.lists(st.one_of(st.none(), st.integers(-10, 25)), min_size=2, max_size=2))
    def make_cohorts(self, starts):
        for n, days in enumerate(starts, start=1):
            begins = None if days is None else (T0 + timedelta(days=days)).date()
            db.session.add(
                Cohort(
                    organization_id=self.org_id,
                    organizer_id=self.organizer_id,
                    name=f"Cohort {n}",
                    starts_on=begins,
                )
            )
        db.session.commit()
        self.log.append(f"cohorts start on {starts} days from T0")

    def _log_interview(
        self, client, opp, quarter_hours, duration, referrals, decision, zone, coach, then=0
    ):
        client_row = self._pick(ClientProfile, client)
        open_ids = self._ids(
            Opportunity,
            Opportunity.client_id == client_row.id,
            Opportunity.outcome.in_(("open", "no_response")),
        )
        start = CLOCK.now + timedelta(minutes=15 * quarter_hours)
        tz = zone or client_row.timezone
        decided_on = (
            None
            if decision is None
            else InterviewFacts(start, tz, duration).local_day + timedelta(days=decision)
        )
        actor = self._actor(client_row, coach)

        def action():
            if opp % (len(open_ids) + 1) == len(open_ids):
                opportunity = followup.open_opportunity(
                    client=client_row,
                    company=f"Co {opp}",
                    role="Analyst",
                    industry=INDUSTRIES[opp % 3],
                    actor=actor,
                )
            else:
                opportunity = db.session.get(Opportunity, open_ids[opp % len(open_ids)])
            data = followup.InterviewInput(
                start_at=start,
                duration_minutes=duration,
                timezone=zone,
                stated_decision_date=decided_on,
                referrals=[f"Ref {i}" for i in range(referrals)],
            )
            followup.log_interview(opportunity=opportunity, data=data, actor=actor, now=CLOCK.now)

        what = (
            f"log interview client={client_row.id} start={start:%m-%d %H:%M} dur={duration} "
            f"tz={zone} refs={referrals} decision={decided_on}"
        )
        self._do(what, action, then)

    interview_args = dict(
        client=PICK,
        opp=PICK,
        quarter_hours=st.integers(min_value=-40 * 96, max_value=2 * 96),
        duration=st.sampled_from((60, 30, 90, 600)),
        referrals=st.integers(0, 2),
        decision=st.one_of(st.none(), st.integers(-1, 12)),
        zone=st.sampled_from((None, None, None, "UTC", "Pacific/Auckland", "America/Los_Angeles")),
        coach=st.booleans(),
    )

    @initialize(interviews=st.lists(st.fixed_dictionaries(interview_args), min_size=1, max_size=4))
    def first_interviews(self, interviews):
        for args in interviews:
            self._log_interview(**args)

    @rule(then=THEN, **interview_args)
    def log_interview(self, **args):
        self._log_interview(**args)

    @rule(then=THEN, **interview_args)
    def log_another_interview(self, **args):
        self._log_interview(**args)

    @rule(client=PICK, n=PICK, industry=st.sampled_from(INDUSTRIES))
    def open_opportunity(self, client, n, industry):
        client_row = self._pick(ClientProfile, client)
        what = f"open opportunity client={client_row.id}"
        self._do(
            what,
            lambda: followup.open_opportunity(
                client=client_row,
                company=f"Open {n}",
                role="Lead",
                industry=industry,
                actor=client_row.user,
            ),
        )

    @rule(
        pick=PICK,
        back=st.sampled_from((0, 1, 60, 300, 1439, 1441, 4320)),
        coach=st.booleans(),
        callback=st.one_of(st.none(), st.integers(0, 5)),
        then=THEN,
    )
    def complete(self, pick, back, coach, callback, then):
        task = self._pick(
            FollowUpTask,
            pick,
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
        )
        if task is None:
            return
        start = followup.task_start(task)
        done = max(CLOCK.now - timedelta(minutes=back), start) if start <= CLOCK.now else CLOCK.now
        on = None
        if callback is not None and task.rule in ("check_in", "callback"):
            on = local_date(CLOCK.now, task.opportunity.client.timezone) + timedelta(days=callback)
        actor = self._actor(task.opportunity.client, coach)
        what = (
            f"complete task {task.id} ({task.rule}, due {task.due_at:%m-%d %H:%M:%S}) "
            f"at {done:%m-%d %H:%M:%S} callback={on}"
        )
        self._do(
            what,
            lambda: followup.complete_task(
                task=task, actor=actor, completed_at=done, callback_date=on, now=CLOCK.now
            ),
            then,
        )

    @rule(pick=PICK, coach=st.booleans(), then=THEN)
    def undo(self, pick, coach, then):
        task = self._pick(FollowUpTask, pick, FollowUpTask.completed_at.is_not(None))
        if task is not None:
            actor = self._actor(task.opportunity.client, coach)
            self._do(
                f"undo task {task.id} ({task.rule})",
                lambda: followup.undo_completion(task=task, actor=actor, now=CLOCK.now),
                then,
            )

    @rule(pick=PICK, coach=st.booleans(), then=THEN)
    def waive(self, pick, coach, then):
        task = self._pick(
            FollowUpTask,
            pick,
            FollowUpTask.completed_at.is_(None),
            FollowUpTask.waived_reason.is_(None),
        )
        if task is not None:
            actor = self._actor(task.opportunity.client, coach)
            what = (
                f"waive task {task.id} ({task.rule}, due {task.due_at:%m-%d %H:%M:%S}) "
                f"by {actor.role}"
            )
            self._do(
                what,
                lambda: followup.waive_task(
                    task=task, actor=actor, reason="does not apply", now=CLOCK.now
                ),
                then,
            )

    @rule(pick=PICK)
    def unwaive(self, pick):
        task = self._pick(FollowUpTask, pick, FollowUpTask.waived_reason.is_not(None))
        if task is not None:
            actor = self._user(task.opportunity.client.coach_id)
            self._do(
                f"unwaive task {task.id} ({task.rule})",
                lambda: followup.unwaive_task(task=task, actor=actor, now=CLOCK.now),
            )

    @rule(
        pick=PICK,
        outcome=st.sampled_from(("offer", "rejected", "withdrawn", "no_response", "open")),
        then=THEN,
    )
    def record_outcome(self, pick, outcome, then):
        opp = self._pick(Opportunity, pick)
        if opp is not None:
            actor = opp.client.user
            self._do(
                f"outcome {outcome} for opportunity {opp.id}",
                lambda: followup.record_outcome(
                    opportunity=opp, outcome=outcome, actor=actor, now=CLOCK.now
                ),
                then,
            )

    @rule()
    def no_response_job(self):
        self._do("no-response job", lambda: followup.mark_no_response(CLOCK.now))

    @rule(
        pick=PICK,
        shift=st.sampled_from((0, -1440, -120, -30, 30, 120, 1440)),
        duration=st.sampled_from((None, 45, 120)),
        zone=st.sampled_from((None, "Europe/Berlin", "Pacific/Auckland")),
        industry=st.sampled_from(INDUSTRIES),
        decision=st.one_of(st.none(), st.integers(0, 12)),
        then=THEN,
    )
    def edit_interview(self, pick, shift, duration, zone, industry, decision, then):
        interview = self._pick(Interview, pick)
        if interview is None:
            return
        opp = interview.opportunity
        start = interview.start_at + timedelta(minutes=shift)
        tz = zone or interview.timezone
        decided_on = (
            None
            if decision is None
            else InterviewFacts(start, tz, duration or 60).local_day + timedelta(days=decision)
        )
        changes = history.InterviewChanges(
            start_at=start,
            duration_minutes=duration or interview.duration_minutes,
            timezone=tz,
            format=interview.format,
            company=opp.company,
            role=opp.role,
            industry=industry,
            stated_decision_date=decided_on,
        )
        actor = opp.client.user
        what = (
            f"edit interview {interview.id}: shift {shift} min, dur {duration}, tz {zone}, "
            f"industry {industry}, decision {decided_on}"
        )
        self._do(
            what,
            lambda: history.edit_interview(
                interview=interview, data=changes, actor=actor, now=CLOCK.now
            ),
            then,
        )

    @rule(pick=PICK)
    def add_referral(self, pick):
        interview = self._pick(Interview, pick)
        if interview is not None:
            actor = interview.opportunity.client.user
            self._do(
                f"add referral to interview {interview.id}",
                lambda: followup.add_referral(
                    interview=interview, name="Pat", note=None, actor=actor, now=CLOCK.now
                ),
            )

    @rule(pick=PICK)
    def delete_interview(self, pick):
        interview = self._pick(Interview, pick)
        if interview is not None:
            actor = interview.opportunity.client.user
            self._do(
                f"delete interview {interview.id}",
                lambda: deletion.delete_interview(interview=interview, actor=actor, now=CLOCK.now),
            )

    @rule(pick=PICK)
    def delete_opportunity(self, pick):
        opp = self._pick(Opportunity, pick)
        if opp is not None:
            actor = opp.client.user
            self._do(
                f"delete opportunity {opp.id}",
                lambda: deletion.delete_opportunity(opportunity=opp, actor=actor, now=CLOCK.now),
            )
