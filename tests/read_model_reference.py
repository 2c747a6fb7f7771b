"""From-scratch answers for the pipeline and the exceptions queue (the dashboard's:
tests/read_model_dashboard_reference.py).

The reference for tests/test_read_model_property.py. It reads every row of the plain tables
(no filters, no joins, no aggregates) and computes each figure with the pure playbook
functions only: task_status, compliance, same_day_notes_rate, triage_bucket, offer_rate,
compliance_band, rule_group, hours_bucket, Wilson intervals. It shares no SQL and no read
code with the services or the dashboards, so a read model that drifts from the tasks (a
counter not updated, a deadline not folded, a window edge missed) disagrees with it.

Definitions it encodes beyond PLAYBOOK.md, each from the user guide or docs/analytics.md:
the pipeline's 30-day window holds the tasks due in (now - 30 days, now]; the exceptions
queue is due today / coming up within 7 days / overdue but still worth doing, for active
clients; the dashboard counts an opportunity once it has an interview, a cohort counts a
member's opportunities whose first interview's local date is on or after its start date.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
    User,
)
from coach_app.playbook import (
    RULES,
    InterviewFacts,
    NotesFact,
    Rate,
    Rule,
    Status,
    compliance,
    local_date,
    same_day_notes_rate,
    task_status,
    triage_bucket,
)
from coach_app.playbook.triage import Bucket

WINDOW = timedelta(days=30)  # the pipeline's "last 30 days" (docs/user-guide.md)
COMING_UP = timedelta(days=7)  # the exceptions queue's "coming up" (docs/user-guide.md)
KIND_OF = {Bucket.TODAY: "due_today", Bucket.UPCOMING: "coming_up", Bucket.OVERDUE: "overdue"}
KIND_ORDER = ("due_today", "coming_up", "overdue")


def _rows(model) -> list[dict]:
    """Every row of the model's table as a plain dict (Core, no ORM objects)."""
    return [dict(r._mapping) for r in db.session.connection().execute(select(model.__table__))]


@dataclass
class Snapshot:
    """The plain tables, keyed by id."""

    users: dict
    orgs: dict
    clients: dict
    opportunities: dict
    interviews: dict
    tasks: list
    cohorts: dict
    members: set = field(default_factory=set)

    @classmethod
    def load(cls) -> "Snapshot":
        """Read the tables straight, every row."""
        by_id = lambda model: {r["id"]: r for r in _rows(model)}  # noqa: E731
        return cls(
            users=by_id(User),
            orgs=by_id(Organization),
            clients=by_id(ClientProfile),
            opportunities=by_id(Opportunity),
            interviews=by_id(Interview),
            tasks=sorted(_rows(FollowUpTask), key=lambda t: t["id"]),
            cohorts=by_id(Cohort),
            members={(m["cohort_id"], m["client_id"]) for m in _rows(CohortMember)},
        )

    def zone_of(self, client_id: int) -> str:
        """The client's own zone, else the organisation's."""
        user = self.users[self.clients[client_id]["user_id"]]
        return user["timezone"] or self.orgs[user["organization_id"]]["timezone"]

    def name_of(self, client_id: int) -> str:
        return self.users[self.clients[client_id]["user_id"]]["name"]

    def in_scope(self, user: dict, client_id: int) -> bool:
        """Whose records the user may see (admin: organisation; coach: own clients)."""
        client = self.clients[client_id]
        if client["organization_id"] != user["organization_id"]:
            return False
        return user["role"] == "admin" or client["coach_id"] == user["id"]

    def interview_facts(self, interview_id: int) -> InterviewFacts:
        i = self.interviews[interview_id]
        return InterviewFacts(i["start_at"], i["timezone"], i["duration_minutes"])


def status(task: dict, now: datetime) -> Status:
    """The playbook's status of a stored task at `now`."""
    return task_status(
        due_at=task["due_at"],
        completed_at=task["completed_at"],
        waived=task["waived_reason"] is not None,
        now=now,
    )


def notes_fact(snap: Snapshot, task: dict, now: datetime) -> NotesFact:
    """One notes task as the same-day notes rate sees it (the interview's own zone)."""
    facts = snap.interview_facts(task["interview_id"])
    done = task["completed_at"]
    return NotesFact(
        status=status(task, now),
        completed_local_date=None if done is None else local_date(done, facts.tz),
        interview_local_date=facts.local_day,
    )


# --- the pipeline --------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineFigures:
    """What one client's pipeline row shows."""

    client_id: int
    name: str
    email: str
    timezone: str
    signed_up: bool
    archived_at: datetime | None
    coach_name: str
    last_activity_at: datetime | None
    compliance: tuple
    notes_rate: tuple
    overdue: int
    next_due: tuple | None
    stages: tuple
    decided: tuple


def _is_open(task: dict) -> bool:
    return task["completed_at"] is None and task["waived_reason"] is None


def pipeline_figures(snap: Snapshot, client_id: int, now: datetime) -> PipelineFigures:
    """One client's row, from their tasks and opportunities."""
    client = snap.clients[client_id]
    user = snap.users[client["user_id"]]
    tasks = [t for t in snap.tasks if t["client_id"] == client_id]
    window = [t for t in tasks if now - WINDOW < t["due_at"] <= now]
    notes = [notes_fact(snap, t, now) for t in window if t["rule"] == Rule.NOTES.value]
    rate = compliance(status(t, now) for t in window)
    notes_rate = same_day_notes_rate(notes)
    open_ = [t for t in tasks if _is_open(t)]
    ahead = sorted((t for t in open_ if t["due_at"] >= now), key=lambda t: (t["due_at"], t["id"]))
    next_due = (ahead[0]["id"], ahead[0]["rule"], ahead[0]["due_at"]) if ahead else None
    stages, decided = Counter(), Counter()
    for opp in snap.opportunities.values():
        if opp["client_id"] != client_id:
            continue
        if opp["outcome"] == "open":
            # Rounds logged: counted from the interviews, not from the stored column.
            stages[sum(i["opportunity_id"] == opp["id"] for i in snap.interviews.values())] += 1
        else:
            decided[opp["outcome"]] += 1
    return PipelineFigures(
        client_id=client_id,
        name=user["name"],
        email=user["email"],
        timezone=snap.zone_of(client_id),
        signed_up=user["password_hash"] is not None,
        archived_at=client["archived_at"],
        coach_name=snap.users[client["coach_id"]]["name"],
        last_activity_at=client["last_activity_at"],
        compliance=(rate.numerator, rate.denominator),
        notes_rate=(notes_rate.numerator, notes_rate.denominator),
        overdue=sum(status(t, now) is Status.MISSED for t in open_),
        next_due=next_due,
        stages=tuple(sorted(stages.items())),
        decided=tuple(sorted(decided.items())),
    )


def pipeline_ids(snap: Snapshot, user: dict, query, now: datetime) -> list[int]:
    """The client ids of the whole pipeline `user` asked for, in the order asked."""
    figures = []
    for client_id, client in snap.clients.items():
        if not snap.in_scope(user, client_id):
            continue
        if user["role"] == "admin" and query.coach_id and client["coach_id"] != query.coach_id:
            continue
        archived = client["archived_at"] is not None
        if (query.archived == "active" and archived) or (
            query.archived == "archived" and not archived
        ):
            continue
        if query.cohort_id and (query.cohort_id, client_id) not in snap.members:
            continue
        row = pipeline_figures(snap, client_id, now)
        if query.overdue_only and not row.overdue:
            continue
        figures.append(row)
    by_id = sorted(figures, key=lambda r: r.client_id)
    by_name = sorted(by_id, key=lambda r: r.name.lower())
    if query.sort == "name":
        ordered = sorted(by_id, key=lambda r: r.name.lower(), reverse=query.descending)
        return [r.client_id for r in ordered]
    keys = {
        "compliance": lambda r: Rate(*r.compliance).value,
        "overdue": lambda r: r.overdue,
        "next_due": lambda r: r.next_due[2] if r.next_due else None,
        "last_activity": lambda r: r.last_activity_at,
    }
    key = keys[query.sort]
    # Ties keep name then id order (stable sorts, reverse included); clients without a
    # value go last in both directions.
    present = [r for r in by_name if key(r) is not None]
    missing = [r for r in by_name if key(r) is None]
    ordered = sorted(present, key=key, reverse=query.descending) + missing
    return [r.client_id for r in ordered]


# --- the exceptions queue ------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    rule: str
    kind: str
    clients: int
    tasks: int
    items: tuple


def exception_groups(snap: Snapshot, user: dict, now: datetime, *, coach_id=None, limit=10):
    """Open tasks of active clients in scope by (rule, kind), in the queue's order."""
    found = defaultdict(list)
    for task in snap.tasks:
        client = snap.clients[task["client_id"]]
        if not _is_open(task) or client["archived_at"] is not None:
            continue
        if not snap.in_scope(user, task["client_id"]):
            continue
        if user["role"] == "admin" and coach_id and client["coach_id"] != coach_id:
            continue
        tz = snap.zone_of(task["client_id"])
        bucket = triage_bucket(rule=task["rule"], due_at=task["due_at"], now=now, tz_name=tz)
        if bucket is Bucket.UPCOMING and task["due_at"] > now + COMING_UP:
            continue
        if bucket in KIND_OF:
            found[(task["rule"], KIND_OF[bucket])].append(task)
    rule_order = list(RULES)
    groups = []
    for (rule, kind), tasks in found.items():
        newest_first = kind == "overdue"
        tasks.sort(key=lambda t: (t["due_at"], t["id"]), reverse=newest_first)
        items = tuple(
            (
                t["id"],
                t["client_id"],
                snap.name_of(t["client_id"]),
                snap.opportunities[t["opportunity_id"]]["company"],
                snap.opportunities[t["opportunity_id"]]["role"],
                t["due_at"],
                snap.zone_of(t["client_id"]),
            )
            for t in tasks[:limit]
        )
        clients = len({t["client_id"] for t in tasks})
        groups.append(Group(rule, kind, clients, len(tasks), items))
    groups.sort(key=lambda g: (KIND_ORDER.index(g.kind), rule_order.index(Rule(g.rule))))
    return groups
