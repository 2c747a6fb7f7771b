"""A synthetic coaching organisation for demos and screenshots.

Everything is invented. Tasks and completions go through the same services as real use,
so the demo exercises the playbook rather than hand-written rows. Clients get a spread of
habits; the link between habits and offers is deliberately modest.
"""

import contextlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    Cohort,
    CohortMember,
    FollowUpTask,
    Organization,
    OutboxMessage,
    Role,
)
from coach_app.playbook import Rule
from coach_app.services import ServiceError
from coach_app.services.accounts import create_user
from coach_app.services.followup import (
    ContactInput,
    InterviewInput,
    complete_task,
    log_interview,
    open_opportunity,
    record_outcome,
)

DEMO_PASSWORD = "followthrough-demo"
DEMO_DOMAIN = "demo.example.com"

FIRST = [
    "Ada",
    "Bea",
    "Cal",
    "Dee",
    "Eli",
    "Fay",
    "Gus",
    "Hal",
    "Ivy",
    "Jo",
    "Kai",
    "Lea",
    "Max",
    "Nia",
    "Oto",
    "Pia",
    "Quin",
    "Rae",
    "Sol",
    "Tia",
    "Uma",
    "Val",
    "Wes",
    "Xan",
    "Yui",
    "Zed",
]
LAST = [
    "Abbot",
    "Brook",
    "Castro",
    "Diallo",
    "Eng",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quispe",
    "Rossi",
    "Silva",
    "Tanaka",
]
COMPANIES = [
    ("Harbor Analytics", "software"),
    ("Cedar Health", "healthcare"),
    ("Bluefin Logistics", "logistics"),
    ("Lumen Bank", "finance"),
    ("Orchard Foods", "retail"),
    ("Kestrel Energy", "energy"),
    ("Meridian Schools", "education"),
    ("Pioneer Robotics", "manufacturing"),
    ("Atlas Insurance", "finance"),
    ("Sparrow Media", "media"),
    ("Granite Civic Works", "public sector"),
    ("Northstar Clinics", "healthcare"),
]
ROLES = [
    "Data analyst",
    "Project manager",
    "Operations lead",
    "UX designer",
    "Account manager",
    "Software engineer",
    "Nurse coordinator",
    "Policy advisor",
]
INTERESTS = [
    "sailing",
    "marathon running",
    "jazz piano",
    "urban gardening",
    "chess",
    "local history",
    "bird watching",
    "rock climbing",
    "podcasts on leadership",
    "community theatre",
    "open-source software",
    "vintage cameras",
]
ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
]


@dataclass
class DemoSummary:
    organization: str = ""
    counts: dict = field(default_factory=dict)
    logins: list = field(default_factory=list)

    def __str__(self) -> str:
        parts = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        return f"Built synthetic organisation “{self.organization}”: {parts}."


def _local(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def build_demo(seed: int = 7, clients: int = 60, now: datetime | None = None) -> DemoSummary:
    """Create the synthetic organisation and commit it."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    summary = DemoSummary()
    # created_at is the demo's anchor: `flask demo --refresh` moves everything forward by the
    # time elapsed since then (refresh_demo below).
    org = Organization(
        name="Northwind Career Partners",
        timezone="America/Chicago",
        is_synthetic=True,
        created_at=now,
    )
    db.session.add(org)
    db.session.flush()
    summary.organization = org.name

    def person(role, email, name, tz=None):
        return create_user(
            organization_id=org.id,
            role=role,
            email=email,
            name=name,
            password=DEMO_PASSWORD,
            timezone=tz,
        )

    admin = person(Role.ADMIN, f"admin@{DEMO_DOMAIN}", "Morgan Admin")
    coaches = [
        person(Role.COACH, f"coach{i}@{DEMO_DOMAIN}", f"{n} (coach)", z)
        for i, (n, z) in enumerate(
            [
                ("Robin Hale", "America/Chicago"),
                ("Sasha Okoye", "America/New_York"),
                ("Jamie Lund", "America/Los_Angeles"),
            ],
            start=1,
        )
    ]
    organizers = [
        person(Role.ORGANIZER, f"organizer{i}@{DEMO_DOMAIN}", n)
        for i, n in enumerate(["Pat Workshop", "Lee Cohorts"], start=1)
    ]
    summary.logins = [
        ("admin", admin.email),
        ("coach", coaches[0].email),
        ("client", f"client1@{DEMO_DOMAIN}"),
        ("organizer", organizers[0].email),
    ]
    cohorts = [
        Cohort(
            organization_id=org.id,
            organizer_id=organizers[i % 2].id,
            name=name,
            starts_on=(now - timedelta(days=start)).date(),
            ends_on=(now - timedelta(days=start - 42)).date(),
        )
        for i, (name, start) in enumerate(
            [("Spring relaunch", 180), ("Summer sprint", 120), ("Autumn career switchers", 60)]
        )
    ]
    db.session.add_all(cohorts)
    db.session.flush()

    profiles = []
    for i in range(1, clients + 1):
        tz = rng.choice(ZONES)
        name = f"{FIRST[(i * 7) % len(FIRST)]} {LAST[(i * 3) % len(LAST)]}"
        user = person(Role.CLIENT, f"client{i}@{DEMO_DOMAIN}", name, tz)
        profile = ClientProfile(
            user_id=user.id,
            organization_id=org.id,
            coach_id=coaches[(i - 1) % len(coaches)].id,
            target_role=rng.choice(ROLES),
        )
        db.session.add(profile)
        db.session.flush()
        db.session.add(CohortMember(cohort_id=cohorts[(i - 1) % 3].id, client_id=profile.id))
        # Habits: how reliably this person follows through (a spread, on purpose).
        profiles.append((profile, user, rng.betavariate(2.2, 1.8)))

    counts = {
        "coaches": len(coaches),
        "clients": clients,
        "cohorts": len(cohorts),
        "opportunities": 0,
        "interviews": 0,
    }
    for profile, user, diligence in profiles:
        for _ in range(rng.randint(2, 4)):
            _demo_opportunity(rng, now, profile, user, diligence, counts)
        # Most clients interviewed this past week, so the to-do lists, the pipeline and the
        # exceptions queue show work due today and coming up rather than only history.
        if rng.random() < 0.75:
            _demo_opportunity(rng, now, profile, user, diligence, counts, recent=True)
    # Reminders for moments already past would all fire at the first sweep: drop them.
    db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.due_at < now)
    )
    db.session.commit()
    counts["tasks"] = len(db.session.scalars(select(FollowUpTask.id)).all())
    summary.counts = counts
    return summary


RULE_HABIT = {  # relative likelihood of doing each step (thank-you notes are the rarest)
    Rule.NOTES: 1.0,
    Rule.CONTACTS: 0.9,
    Rule.NEXT_STEP: 0.85,
    Rule.THANK_YOU_EMAIL: 0.95,
    Rule.THANK_YOU_NOTE: 0.5,
    Rule.INFO_GIFT: 0.45,
    Rule.SECOND_INTERVIEW: 0.6,
    Rule.REFERRAL: 0.7,
    Rule.CHECK_IN: 0.7,
    Rule.CALLBACK: 0.8,
    Rule.REJECTION_THANKS: 0.5,
}


def _demo_opportunity(rng, now, profile, user, diligence, counts, recent=False):
    """One opportunity with its rounds and maybe an outcome; `recent`: one round this week."""
    company, industry = rng.choice(COMPANIES)
    opportunity = open_opportunity(
        client=profile, company=company, role=rng.choice(ROLES), industry=industry, actor=user
    )
    counts["opportunities"] += 1
    day = (now - timedelta(days=rng.randint(2, 180))).date()
    rounds = rng.choices([1, 2, 3], weights=[5, 3, 1])[0]
    tz = user.timezone
    if recent:
        # Office hours within the last six days; today's only if it ended a few hours ago.
        days_ago, rounds = rng.randint(0, 6), 1
        day = (now.astimezone(ZoneInfo(tz)) - timedelta(days=days_ago)).date()
        if _local(day, 9, 0, tz) > now - timedelta(hours=3):
            day -= timedelta(days=1)
    for _round in range(rounds):
        start = _local(day, rng.choice([9, 10, 11, 13, 14, 15, 16]), rng.choice([0, 30]), tz)
        if recent and start > now - timedelta(hours=3):
            start = _local(day, 9, 0, tz)  # the morning slot: today's interview is over
        if start > now - timedelta(hours=3):
            break
        contacts = [
            ContactInput(
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                title=rng.choice(["Hiring manager", "Team lead", "HR partner"]),
                email=f"interviewer{rng.randint(1, 999)}@example.com",
                card_collected=rng.random() < 0.6,
                interests=rng.choice(INTERESTS),
            )
            for _ in range(rng.randint(1, 2))
        ]
        referrals = [f"{rng.choice(FIRST)} {rng.choice(LAST)}"] if rng.random() < 0.25 else []
        decision_date = (
            day + timedelta(days=rng.choice([3, 5, 10, 14])) if rng.random() < 0.5 else None
        )
        interview = log_interview(
            opportunity=opportunity,
            actor=user,
            now=start + timedelta(hours=1),
            data=InterviewInput(
                start_at=start,
                duration_minutes=rng.choice([30, 45, 60, 90]),
                format=rng.choice(["in_person", "video", "phone"]),
                next_step="They will call with a decision",
                contacts=contacts,
                referrals=referrals,
                stated_decision_date=decision_date,
            ),
        )
        counts["interviews"] += 1
        _demo_completions(rng, now, interview.id, user, diligence)
        day = day + timedelta(days=rng.randint(6, 16))
        if day >= now.date():
            break
    decided_at = datetime.combine(day, time(17, 0), tzinfo=UTC)
    if not recent and decided_at < now - timedelta(days=1) and rng.random() < 0.85:
        # Modest association: diligence nudges the odds, luck does most of the work.
        offer_p = 0.18 + 0.17 * diligence
        outcome = rng.choices(
            ["offer", "rejected", "no_response", "withdrawn"], weights=[offer_p, 0.55, 0.2, 0.05]
        )[0]
        try:
            thanks = record_outcome(
                opportunity=opportunity, outcome=outcome, actor=user, now=decided_at
            )
        except ServiceError:
            return
        if thanks is not None:
            _maybe_complete(rng, now, thanks, user, diligence)


def _demo_completions(rng, now, interview_id, user, diligence):
    tasks = db.session.scalars(
        select(FollowUpTask).where(FollowUpTask.interview_id == interview_id)
    ).all()
    for task in tasks:
        _maybe_complete(rng, now, task, user, diligence)


def _maybe_complete(rng, now, task, user, diligence):
    if rng.random() > diligence * RULE_HABIT[Rule(task.rule)] + 0.05:
        return  # never done: missed once the deadline passes
    if task.window_opens_at is not None:
        opens = task.window_opens_at
    elif task.interview is not None:
        opens = task.interview.start_at + timedelta(minutes=task.interview.duration_minutes)
    else:
        opens = task.due_at - timedelta(hours=24)
    if rng.random() < 0.8:  # on time
        when = opens + (task.due_at - opens) * rng.uniform(0.1, 0.95)
    else:
        when = task.due_at + timedelta(hours=rng.uniform(2, 60))
    if when >= now:
        return
    with contextlib.suppress(ServiceError):
        complete_task(
            task=task,
            actor=user,
            completed_at=when,
            now=when,
            evidence={"note": "Done (synthetic demo)."},
        )
