"""A crowd for the organiser privacy tests: enough clients to show figures, and a few loners.

Organiser `world.organizer` runs three cohorts (NOW is 2026-08-15, every task settled):

    Spring   C0..C11 and Solo-Sam  C0..C11: an April and a May opportunity each (days 3+i and
                                   5+i), Tech for even i and Health for odd i, the May one in
                                   two rounds when i % 3 == 0; April outcomes offer / rejected
                                   / no_response by i % 3. Sam: one rejected opportunity on
                                   2026-06-11, the only June one (the issue's day-by-day case)
    Solo     Solo-Sam              one client
    Late     Lena, from 2026-05-15 Lena (Retail): 2026-05-02 (before the start, never counted)
                                   and 2026-05-20 (counted)

`world.organizer2` runs Other (C0, C1): a foreign cohort for `world.organizer`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember
from coach_app.services.followup import open_opportunity, record_outcome
from tests.factories import interview_for

NOW = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
OUTCOMES = ("offer", "rejected", "no_response")


@dataclass
class Crowd:
    spring: Cohort
    solo: Cohort
    late: Cohort
    other: Cohort
    clients: dict  # name -> profile
    sam_day: date = date(2026, 6, 11)


def _opportunity(profile, coach, day: date, industry: str, *, rounds=1, outcome=None):
    start = datetime(day.year, day.month, day.day, 14, 0, tzinfo=UTC)
    opportunity = open_opportunity(
        client=profile, company=f"Co {day}", role="Analyst", industry=industry, actor=coach
    )
    for round_ in range(rounds):
        when = start + timedelta(days=3 * round_)
        interview_for(
            profile,
            coach,
            start_at=when,
            opportunity=opportunity,
            now=when + timedelta(hours=1),
            commit=False,
        )
    if outcome:
        record_outcome(
            opportunity=opportunity, outcome=outcome, actor=coach, now=start + timedelta(days=9)
        )
    return opportunity


def _cohort(world, organizer, name, profiles, starts_on=None) -> Cohort:
    group = Cohort(
        organization_id=world.org.id, organizer_id=organizer.id, name=name, starts_on=starts_on
    )
    db.session.add(group)
    db.session.flush()
    for profile in profiles:
        db.session.add(CohortMember(cohort_id=group.id, client_id=profile.id))
    return group


def build_crowd(world) -> Crowd:
    """Create the crowd described in the module docstring."""
    coach = world.coach
    clients = {}
    for i in range(12):
        _, profile = world.client_of(coach, f"c{i}@acme.example", f"Crowd Client {i}")
        clients[f"C{i}"] = profile
        industry = "Tech" if i % 2 == 0 else "Health"
        _opportunity(profile, coach, date(2026, 4, 3 + i), industry, outcome=OUTCOMES[i % 3])
        _opportunity(profile, coach, date(2026, 5, 5 + i), industry, rounds=1 + (i % 3 == 0))
    _, sam = world.client_of(coach, "sam@acme.example", "Solo Sam")
    clients["Sam"] = sam
    _opportunity(sam, coach, date(2026, 6, 11), "Tech", outcome="rejected")
    _, lena = world.client_of(coach, "lena@acme.example", "Lena Late")
    clients["Lena"] = lena
    _opportunity(lena, coach, date(2026, 5, 2), "Retail", outcome="offer")
    _opportunity(lena, coach, date(2026, 5, 20), "Retail", outcome="rejected")
    spring = [clients[f"C{i}"] for i in range(12)] + [sam]
    crowd = Crowd(
        spring=_cohort(world, world.organizer, "Spring", spring),
        solo=_cohort(world, world.organizer, "Solo", [sam]),
        late=_cohort(world, world.organizer, "Late", [lena], starts_on=date(2026, 5, 15)),
        other=_cohort(world, world.organizer2, "Other", [clients["C0"], clients["C1"]]),
        clients=clients,
    )
    db.session.commit()
    return crowd
