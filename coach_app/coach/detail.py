"""The coach's view of one client: opportunities, rounds, tasks, contacts, notes (batch-loaded).

The page has to fit a screen before it scrolls far, without hiding anything: each opportunity
shows its open work first and folds its rounds (with a one-line tally of their tasks) behind a
disclosure; decided opportunities come after the open ones, folded, with their outcome in the
fold's summary. The timeline is dated by interviews and decisions, not by when a row was typed.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import selectinload

from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import ClientProfile, CoachingNote, FollowUpTask, Interview, Opportunity
from coach_app.playbook import Bucket, Rate, Status, compliance, triage_bucket
from coach_app.services import checklist
from coach_app.timefmt import local_datetime

# Timeline events shown before the rest folds under "Earlier".
TIMELINE_SHOWN = 8
OUTCOME_LABELS = {
    "open": "Open",
    "offer": "Offer",
    "rejected": "Rejected",
    "no_response": "No response",
    "withdrawn": "Withdrawn",
}
# The order of a tally's parts ("5 done on time, 1 done late, 3 missed, 1 to do").
_TALLY = (
    (Status.ON_TIME.value, "done on time"),
    (Status.LATE.value, "done late"),
    (Status.MISSED.value, "missed"),
    (Status.PENDING.value, "to do"),
    (Status.WAIVED.value, "waived"),
)
# Open tasks still worth doing, in the order a to-do list shows them.
_TODO_ORDER = {Bucket.TODAY: 0, Bucket.OVERDUE: 1, Bucket.UPCOMING: 2}
BUCKET_LABELS = {
    Bucket.TODAY: "Due today",
    Bucket.UPCOMING: "Coming up",
    Bucket.OVERDUE: "Overdue",
    Bucket.MISSED: "Missed",
}


def tally_text(rows) -> str:
    """'9 tasks: 5 done on time, 1 done late, 3 missed' (or 'no tasks')."""
    if not rows:
        return "no tasks"
    counts = Counter(row.status for row in rows)
    parts = [f"{counts[status]} {label}" for status, label in _TALLY if counts[status]]
    noun = "task" if len(rows) == 1 else "tasks"
    return f"{len(rows)} {noun}: " + ", ".join(parts)


@dataclass
class TodoItem:
    """An open task still worth doing, with where it stands today."""

    row: checklist.TaskRow
    bucket: Bucket
    round_number: int | None

    @property
    def bucket_label(self) -> str:
        return BUCKET_LABELS[self.bucket]


@dataclass
class RoundView:
    interview: Interview
    tasks: list = field(default_factory=list)

    @property
    def tally(self) -> str:
        return tally_text(self.tasks)


@dataclass
class OpportunityView:
    opportunity: Opportunity
    rounds: list[RoundView] = field(default_factory=list)
    # Tasks that belong to the opportunity rather than a round (thanks after a rejection).
    other_tasks: list = field(default_factory=list)
    compliance: Rate = field(default_factory=lambda: Rate(0, 0))
    todo: list[TodoItem] = field(default_factory=list)
    # When the opportunity last moved: its latest interview, else when it was added.
    last_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.opportunity.outcome == "open"

    @property
    def outcome_label(self) -> str:
        outcome = self.opportunity.outcome
        return OUTCOME_LABELS.get(outcome, outcome.replace("_", " ").capitalize())

    @property
    def other_tally(self) -> str:
        return tally_text(self.other_tasks)

    @property
    def tally(self) -> str:
        rows = [row for r in self.rounds for row in r.tasks] + list(self.other_tasks)
        return tally_text(rows)


@dataclass
class TimelineEvent:
    at: datetime
    kind: str
    text: str
    opportunity_id: int
    # The element the entry links to: the round itself, else its opportunity.
    anchor: str = ""

    def __post_init__(self) -> None:
        self.anchor = self.anchor or f"opportunity-{self.opportunity_id}"


@dataclass
class TimelineMonth:
    label: str
    events: list[TimelineEvent]


@dataclass
class ClientDetail:
    client: ClientProfile
    open_opportunities: list[OpportunityView]
    decided_opportunities: list[OpportunityView]
    timeline: list[TimelineMonth]
    timeline_earlier: list[TimelineMonth]
    timeline_earlier_count: int
    notes: list[CoachingNote]
    compliance: Rate
    open_count: int
    buckets: dict[str, int]
    next_due: TodoItem | None

    @property
    def opportunities(self) -> list[OpportunityView]:
        """Open opportunities first, then the decided ones."""
        return self.open_opportunities + self.decided_opportunities

    @property
    def outcome_counts(self) -> list[tuple[str, int]]:
        """Decided opportunities by outcome, e.g. [("Offer", 1), ("Rejected", 2)]."""
        counts = Counter(view.outcome_label for view in self.decided_opportunities)
        return sorted(counts.items())


def _months(events: list[TimelineEvent], tz_name: str) -> list[TimelineMonth]:
    months: list[TimelineMonth] = []
    for event in events:
        label = local_datetime(event.at, tz_name, "%B %Y")
        if not months or months[-1].label != label:
            months.append(TimelineMonth(label, []))
        months[-1].events.append(event)
    return months


def _opportunity_view(opportunity, by_interview, by_opportunity, now, tz_name, timeline):
    view = OpportunityView(opportunity, other_tasks=by_opportunity.get(opportunity.id, []))
    label = f"{opportunity.company} — {opportunity.role}"
    rows = list(view.other_tasks)
    round_of: dict[int, int] = {}
    for interview in opportunity.interviews:
        round_tasks = by_interview.get(interview.id, [])
        view.rounds.append(RoundView(interview, round_tasks))
        rows.extend(round_tasks)
        round_of[interview.id] = interview.round_number
        how = interview.format.replace("_", " ")
        text = f"Round {interview.round_number} at {label} ({how})"
        anchor = f"round-{interview.id}"
        timeline.append(TimelineEvent(interview.start_at, "round", text, opportunity.id, anchor))
    if not opportunity.interviews:
        # Nothing else dates it: the day it was added is all there is.
        text = f"Added {label} (no interview logged yet)"
        timeline.append(TimelineEvent(opportunity.created_at, "added", text, opportunity.id))
    if opportunity.decided_at is not None:
        text = f"{OUTCOME_LABELS.get(opportunity.outcome, opportunity.outcome)}: {label}"
        timeline.append(TimelineEvent(opportunity.decided_at, "outcome", text, opportunity.id))
    view.last_at = max([i.start_at for i in opportunity.interviews] or [opportunity.created_at])
    for row in rows:
        if not row.task.is_open:
            continue
        bucket = triage_bucket(rule=row.task.rule, due_at=row.task.due_at, now=now, tz_name=tz_name)
        if bucket is not Bucket.MISSED:
            view.todo.append(TodoItem(row, bucket, round_of.get(row.task.interview_id)))
    view.todo.sort(key=lambda item: (_TODO_ORDER[item.bucket], item.row.task.due_at))
    view.compliance = compliance(row.status for row in rows)
    return view


def client_detail(client: ClientProfile, now: datetime, viewer=None) -> ClientDetail:
    """Everything the detail page shows, in a fixed handful of queries, as `viewer` (default:
    the signed-in user) may see it."""
    opportunities = db.session.scalars(
        scoped(Opportunity, viewer)
        .where(Opportunity.client_id == client.id)
        .options(
            selectinload(Opportunity.interviews).selectinload(Interview.contacts),
            selectinload(Opportunity.interviews).selectinload(Interview.referrals),
        )
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
    ).all()
    tasks = db.session.scalars(
        scoped(FollowUpTask, viewer)
        .where(FollowUpTask.client_id == client.id)
        .order_by(FollowUpTask.due_at, FollowUpTask.id)
    ).all()
    notes = db.session.scalars(
        scoped(CoachingNote, viewer)
        .where(CoachingNote.client_id == client.id)
        .options(selectinload(CoachingNote.author))
        .order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())
    ).all()

    tz_name = client.timezone
    rows = [checklist.task_row(task, now) for task in tasks]
    by_interview: dict[int, list] = {}
    by_opportunity: dict[int, list] = {}
    for row in rows:
        if row.task.interview_id is not None:
            by_interview.setdefault(row.task.interview_id, []).append(row)
        else:
            by_opportunity.setdefault(row.task.opportunity_id, []).append(row)

    timeline: list[TimelineEvent] = []
    views = [
        _opportunity_view(o, by_interview, by_opportunity, now, tz_name, timeline)
        for o in opportunities
    ]
    open_views = sorted((v for v in views if v.is_open), key=lambda v: v.last_at, reverse=True)
    decided_views = sorted(
        (v for v in views if not v.is_open),
        key=lambda v: v.opportunity.decided_at or v.last_at,
        reverse=True,
    )
    timeline.sort(key=lambda event: event.at, reverse=True)

    buckets = Counter(
        triage_bucket(rule=r.task.rule, due_at=r.task.due_at, now=now, tz_name=tz_name).value
        for r in rows
        if r.task.is_open
    )
    todo = [item for view in views for item in view.todo]
    pending = [item for item in todo if item.bucket is not Bucket.OVERDUE]
    next_due = min(pending, key=lambda item: item.row.task.due_at, default=None)
    return ClientDetail(
        client=client,
        open_opportunities=open_views,
        decided_opportunities=decided_views,
        timeline=_months(timeline[:TIMELINE_SHOWN], tz_name),
        timeline_earlier=_months(timeline[TIMELINE_SHOWN:], tz_name),
        timeline_earlier_count=max(0, len(timeline) - TIMELINE_SHOWN),
        notes=notes,
        compliance=compliance(r.status for r in rows),
        open_count=sum(1 for task in tasks if task.is_open),
        buckets={bucket.value: buckets.get(bucket.value, 0) for bucket in Bucket},
        next_due=next_due,
    )
