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

Size: FT_PROPERTY_EXAMPLES (default 10) histories of FT_PROPERTY_STEPS (default 15) steps;
FT_PROPERTY_FULL=1 checks every dashboard view at every step, FT_PROPERTY_SHRINK=0 reports a
failure unminimised, FT_PROPERTY_VERBOSE=1 prints every history (docs/architecture.md).
A failure prints the steps hypothesis ran and the figures that differ.
"""

import importlib
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import ClientProfile, Cohort, CohortMember, FollowUpTask, Interview
from coach_app.playbook import InterviewFacts
from coach_app.services import people, profile, roster
from coach_app.services.accounts import invite_client
from dashboards.data import Filters
from tests import read_model_compare as compare
from tests.read_model_reference import Snapshot
from tests.read_model_steps import CLOCK, PICK, T0, ZONES, FollowUpSteps

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FT_PROPERTY_EXAMPLES", "10"))
STEPS = int(os.environ.get("FT_PROPERTY_STEPS", "15"))
VERBOSE = bool(os.environ.get("FT_PROPERTY_VERBOSE"))
# Every dashboard view at every check (slower); by default they take turns (see the check).
FULL = bool(os.environ.get("FT_PROPERTY_FULL"))
# FT_PROPERTY_SHRINK=0 reports the first failing history as found, without minimising it
# (shrinking a stateful failure can take hypothesis's full five minutes).
PHASES = (
    tuple(Phase)
    if os.environ.get("FT_PROPERTY_SHRINK", "1") != "0"
    else (
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
    )
)
# Moments that background code takes from a function rather than a `now=` argument: each
# (module, attribute) is replaced by the simulated clock.
CLOCK_HOOKS = (
    ("coach_app.services.analytics_facts", "computed_at"),
    ("dashboards.data", "current_time"),
    ("coach_app.services.read_model", "computed_at"),
)
# The fold jobs, each called with the moment as its one argument (then committed): the
# dashboard rollups' mark, the facts' "as of" reading, the client summaries.
FOLD_JOBS = (
    ("coach_app.services.analytics_rollups", "fold_rollups"),
    ("coach_app.services.analytics_facts", "refresh_stale"),
    ("coach_app.services.read_model", "fold_summaries"),
)


def _found(pairs):
    # Strict: a renamed hook or fold job must fail here, not silently stop being exercised.
    for module_name, name in pairs:
        module = importlib.import_module(module_name)
        assert hasattr(module, name), f"{module_name}.{name} is gone: update this test"
        yield module, name


# Seconds off an edge the clock lands: on it most often, where `<` and `<=` differ.
EDGE = st.sampled_from((0, 0, 1, -1))


class History(FollowUpSteps):
    """The follow-up writes plus roster, clock and fold steps, checked after each step."""

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

    @rule(pick=PICK, zone=st.sampled_from((None, *ZONES)), rename=st.booleans())
    def update_profile(self, pick, zone, rename):
        """A client's new zone (today's deadlines move) or name (the pipeline's order)."""
        client = self._pick(ClientProfile, pick)
        user = client.user
        name = f"Kim {client.id:02d}" if rename else user.name
        data = profile.ProfileInput(name=name, timezone=zone)
        what = f"client {client.id} profile: name {name}, zone {zone}"
        self._do(what, lambda: profile.update_profile(user=user, data=data))

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

    def _onto(self, moments, pick: int, seconds: int, what: str) -> None:
        """Move the clock onto one of the next few `moments`, give or take `seconds`."""
        ahead = sorted({m + timedelta(seconds=seconds) for m in moments})
        ahead = [moment for moment in ahead if moment > CLOCK.now]
        if ahead:
            CLOCK.now = ahead[pick % min(len(ahead), 4)]
            self.log.append(f"{CLOCK.now:%m-%d %H:%M:%S} clock onto {what} {seconds:+d} s")

    @rule(pick=PICK, seconds=EDGE)
    def onto_a_deadline(self, pick, seconds):
        """Onto an open task's deadline: pending until that second, missed after it."""
        open_ = (FollowUpTask.completed_at.is_(None), FollowUpTask.waived_reason.is_(None))
        due = db.session.scalars(select(FollowUpTask.due_at).where(*open_)).all()
        self._onto(due, pick, seconds, "a deadline")

    @rule(pick=PICK, seconds=EDGE)
    def onto_a_window_edge(self, pick, seconds):
        """Onto the moment a task leaves the 30-day window, or an interview turns 30 days old."""
        due = db.session.scalars(select(FollowUpTask.due_at)).all()
        ends = [
            InterviewFacts(i.start_at, i.timezone, i.duration_minutes).end_at
            for i in db.session.scalars(select(Interview))
        ]
        self._onto([m + timedelta(days=30) for m in (*due, *ends)], pick, seconds, "a 30-day edge")

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
            filtered = groupings if FULL else (groupings[i // 2 % len(groupings)],)
            filters = _filters(i // 2, snap, self.coach_ids)
            lines += compare.dashboard_mismatches(snap, admin, now, filters, views=filtered)
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
            phases=PHASES,
        ),
    )
