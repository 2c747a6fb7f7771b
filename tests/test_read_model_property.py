"""Proof of sameness: every screen equals a from-scratch recomputation, whatever happened.

A hypothesis state machine writes a random history through the portal's services (interviews
logged, edited and deleted, tasks completed, undone, waived and un-waived, outcomes, the
no-response job, clients invited, moved, archived, restored, deactivated, cohort members
added and removed, opportunities deleted) while a simulated clock moves by minutes to weeks,
often exactly onto a deadline or onto the edge of the pipeline's 30-day window, and the fold
jobs run at random moments or never. After every step the pipeline rows, the exceptions
queue and the dashboard figures must equal tests/read_model_reference.py, which recomputes
them from the plain tables with the pure playbook functions.

Every write and read of a step happens at the step's `now`: services get `now=`, and the
clock hooks that background code reads (CLOCK_HOOKS) are patched to the same moment.

Size: FT_PROPERTY_EXAMPLES (default 20) histories of FT_PROPERTY_STEPS (default 20) steps.
A failure prints the steps hypothesis ran and the figures that differ.
"""

import importlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    Cohort,
    CohortMember,
    FollowUpTask,
    Interview,
    Opportunity,
    Organization,
    Role,
    User,
)
from coach_app.playbook import InterviewFacts, local_date
from coach_app.services import ServiceError, deletion, followup, history, people, roster
from coach_app.services.accounts import create_user, invite_client
from dashboards.data import Filters
from tests import read_model_compare as compare
from tests.conftest import PASSWORD, _truncate_all
from tests.read_model_reference import Snapshot

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FT_PROPERTY_EXAMPLES", "20"))
STEPS = int(os.environ.get("FT_PROPERTY_STEPS", "20"))
VERBOSE = bool(os.environ.get("FT_PROPERTY_VERBOSE"))
# Every dashboard view at every check (slower); by default they take turns (see the check).
FULL = bool(os.environ.get("FT_PROPERTY_FULL"))
# A week before the US and three before the EU change to summer time.
T0 = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland")
INDUSTRIES = ("software", None, "health")
# Moments that background code takes from a function rather than a `now=` argument: each
# (module, attribute) found is replaced by the simulated clock. The read model's own hook
# goes here when it lands.
CLOCK_HOOKS = (
    ("coach_app.services.analytics_facts", "computed_at"),
    ("dashboards.data", "current_time"),
    ("coach_app.services.read_model", "computed_at"),
    ("coach_app.services.read_model", "current_time"),
)
# The fold jobs, each called with the moment as its one argument (then committed). Names
# not importable yet are skipped; the lead wires the read model's and the rollups' here.
FOLD_JOBS = (
    ("coach_app.services.analytics_facts", "refresh_stale"),
    ("coach_app.services.read_model", "fold_summaries"),
    ("dashboards.rollups", "fold_rollups"),
)
PICK = st.integers(min_value=0, max_value=63)
# Minutes the clock moves on after a write: often nothing, often across the day's deadlines.
THEN = st.sampled_from((0, 0, 7, 60, 420, 1440, 2880, 10080))


def _found(pairs):
    for module_name, name in pairs:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            yield module, name


class Clock:
    now = T0


CLOCK = Clock()


class History(RuleBasedStateMachine):
    """One organisation's random history, checked against the reference after each step."""

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
        if then:
            CLOCK.now += timedelta(minutes=then)
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} clock +{then} min")

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

    @rule(pick=PICK)
    def move_client(self, pick):
        client = self._pick(ClientProfile, pick)
        to = next(c for c in self.coach_ids if c != client.coach_id)
        admin = self._user(self.admin_id)
        self._do(
            f"move client {client.id} to coach {to}",
            lambda: roster.move_client(client=client, coach_id=to, actor=admin),
        )

    @rule(pick=PICK, coach=st.sampled_from((0, 1)), zone=st.sampled_from((None, *ZONES)))
    def invite_client(self, pick, coach, zone):
        self.clients_made += 1
        n = self.clients_made
        coach_user = self._user(self.coach_ids[coach])
        what = f"invite Client {n:02d} ({zone}) to coach {coach_user.id}"
        self._do(
            what,
            lambda: invite_client(
                coach=coach_user,
                email=f"client{n}@prop.example",
                name=f"Client {n:02d}",
                timezone=zone,
            ),
        )

    @rule(pick=PICK)
    def archive_or_restore(self, pick):
        client = self._pick(ClientProfile, pick)
        coach = self._user(client.coach_id)
        if client.archived_at is None:
            self._do(
                f"archive client {client.id}",
                lambda: roster.archive_client(client=client, actor=coach, now=CLOCK.now),
            )
        else:
            self._do(
                f"restore client {client.id}",
                lambda: roster.restore_client(client=client, actor=coach, now=CLOCK.now),
            )

    @rule(pick=PICK)
    def deactivate_or_reactivate(self, pick):
        client = self._pick(ClientProfile, pick)
        admin, person = self._user(self.admin_id), client.user
        if person.deactivated_at is None:
            self._do(
                f"deactivate client {client.id}",
                lambda: people.deactivate(person=person, actor=admin, now=CLOCK.now),
            )
        else:
            self._do(
                f"reactivate client {client.id}",
                lambda: people.reactivate(person=person, actor=admin, now=CLOCK.now),
            )

    @rule(pick=PICK, cohort=st.sampled_from((0, 1)))
    def join_cohort(self, pick, cohort):
        client = self._pick(ClientProfile, pick)
        group = db.session.get(Cohort, self._ids(Cohort)[cohort])
        coach, organizer = self._user(client.coach_id), self._user(self.organizer_id)

        def action():
            request = roster.request_from_coach(
                cohort=group, organizer=organizer, coach_id=coach.id, note=None
            )
            roster.approve_request(
                request=request, coach=coach, client_ids=[client.id], now=CLOCK.now
            )

        self._do(f"client {client.id} joins cohort {group.id}", action)

    @rule(pick=PICK)
    def leave_cohort(self, pick):
        members = db.session.execute(
            select(CohortMember.cohort_id, CohortMember.client_id).order_by(
                CohortMember.cohort_id, CohortMember.client_id
            )
        ).all()
        if members:
            cohort_id, client_id = members[pick % len(members)]
            client = db.session.get(ClientProfile, client_id)
            coach = self._user(client.coach_id)
            self._do(
                f"client {client_id} leaves cohort {cohort_id}",
                lambda: roster.remove_from_cohort(client=client, cohort_id=cohort_id, actor=coach),
            )

    # --- time -------------------------------------------------------------------------------

    @rule(minutes=st.sampled_from((1, 13, 60, 300, 1380, 1440, 4320, 11520, 23040)))
    def advance(self, minutes):
        CLOCK.now += timedelta(minutes=minutes)
        self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} clock +{minutes} min")

    @rule(
        pick=PICK, edge=st.sampled_from(("deadline", "window")), seconds=st.sampled_from((-1, 0, 1))
    )
    def jump_to_edge(self, pick, edge, seconds):
        """Onto a deadline (pending -> missed) or a 30-day window edge, give or take a second."""
        due = db.session.scalars(select(FollowUpTask.due_at).order_by(FollowUpTask.due_at)).all()
        shift = timedelta(days=30) if edge == "window" else timedelta()
        ahead = sorted({d + shift + timedelta(seconds=seconds) for d in due} - {CLOCK.now})
        ahead = [moment for moment in ahead if moment > CLOCK.now]
        if ahead:
            CLOCK.now = ahead[pick % min(len(ahead), 4)]
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} clock onto a {edge} {seconds:+d} s")

    @rule(twice=st.booleans())
    def fold(self, twice):
        for _ in range(2 if twice else 1):
            for module, name in _found(FOLD_JOBS):
                getattr(module, name)(CLOCK.now)
                db.session.commit()
        self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} fold jobs{' twice' if twice else ''}")

    def teardown(self):
        if VERBOSE:
            print("\n".join(["history:", *self.log, f"({self.checks} checks)"]))

    # --- the check --------------------------------------------------------------------------

    @invariant()
    def screens_equal_the_reference(self):
        now, i = CLOCK.now, self.checks
        self.checks += 1
        snap = Snapshot.load()
        cohort_ids = sorted(snap.cohorts)
        admin, coaches = self._user(self.admin_id), [self._user(c) for c in self.coach_ids]
        lines = []
        for user in (admin, *coaches):
            lines += compare.pipeline_mismatches(snap, user, now, i, cohort_ids, self.coach_ids)
            lines += compare.exceptions_mismatches(snap, user, now)
        lines += compare.exceptions_mismatches(snap, admin, now, coach_id=self.coach_ids[i % 2])
        # The admin's overview every check, with the groupings (cohorts, coaches, clients,
        # per-opportunity table) in turn, or all of them in the full profile; the same with
        # a filter from the rotation every other check, and a coach's overview every fourth.
        groupings = compare.GROUPINGS
        views = groupings if FULL else (groupings[i % len(groupings)],)
        lines += compare.dashboard_mismatches(snap, admin, now, views=views)
        if FULL or i % 2:
            filters = _filters(i // 2, snap, self.coach_ids)
            lines += compare.dashboard_mismatches(snap, admin, now, filters, views=views)
        if FULL or i % 4 == 0:
            coach = coaches[i // 4 % 2]
            lines += compare.dashboard_mismatches(
                snap, coach, now, views=() if not FULL else groupings
            )
        if lines:
            steps = "\n  ".join(self.log)
            figures = "\n  ".join(lines[:40])
            raise AssertionError(f"at {now} after:\n  {steps}\nthese figures differ:\n  {figures}")


def _filters(i: int, snap, coach_ids) -> Filters:
    """The i-th dashboard filter of the rotation (a coach, a cohort, dates, rounds, industry)."""
    cohorts = sorted(snap.cohorts)
    day = T0.date()
    return (
        Filters(coaches=(coach_ids[0],)),
        Filters(cohorts=(cohorts[0],)),
        Filters(start=day - timedelta(days=7), end=day + timedelta(days=10)),
        Filters(rounds="1"),
        Filters(cohorts=(cohorts[-1],), industries=("software",)),
        Filters(rounds="3+", coaches=(coach_ids[1],)),
        Filters(start=day + timedelta(days=3), rounds="2"),
    )[i % 7]


def test_every_screen_equals_a_recomputation_from_the_tasks(app, monkeypatch):
    for module, name in _found(CLOCK_HOOKS):
        monkeypatch.setattr(module, name, lambda: CLOCK.now)
    run_state_machine_as_test(
        History,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
