"""The pipeline's rows: each client's figures, read from the summaries (models/summaries.py).

A stored summary is used as it is when it is exact at the page's `now`; the few that are
not (a deadline passed since, and the fold job has not caught up, or the clock of the
request is before the row's as_of) are recomputed live with the same function that stores
them (services/summary_sql.py), for this page only and without writing.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select

from coach_app.extensions import db
from coach_app.models import ClientProfile, ClientSummary, Organization, User
from coach_app.playbook import RULES, Rate, Rule
from coach_app.services.summary_sql import client_zone, compute_summaries

# What a row shows, and what tells whether it is exact at the page's `now`.
_FIGURES = [
    ClientSummary.__table__.c[name]
    for name in (
        "overdue", "next_task_id", "next_rule", "next_due_at", "on_time", "counted",
        "notes_same_day", "notes_counted", "stages", "decided", "as_of", "fresh_until",
    )
]  # fmt: skip


@dataclass
class NextDue:
    task_id: int
    rule: str
    title: str
    due_at: datetime


@dataclass
class PipelineRow:
    """One client's line in the pipeline."""

    client_id: int
    name: str
    email: str
    timezone: str
    signed_up: bool
    archived_at: datetime | None
    coach_name: str
    last_activity_at: datetime | None
    compliance: Rate
    notes_rate: Rate
    overdue: int
    next_due: NextDue | None = None
    # Open opportunities by their latest round: (round number, count); round 0 = none yet.
    stages: list[tuple[int, int]] = field(default_factory=list)
    decided: list[tuple[str, int]] = field(default_factory=list)

    @property
    def stages_text(self) -> str:
        """'2 open: round 1, round 2' or '3 open: 2 in round 1, 1 in round 2' ('' if none)."""
        total = sum(count for _round, count in self.stages)
        if not total:
            return ""
        if all(count == 1 for _round, count in self.stages):
            parts = [f"round {n}" if n else "no interview yet" for n, _count in self.stages]
        else:
            parts = [
                f"{count} in round {n}" if n else f"{count} with no interview yet"
                for n, count in self.stages
            ]
        return f"{total} open: " + ", ".join(parts)

    @property
    def decided_text(self) -> str:
        """'1 offer, 2 no response' (empty when nothing is decided)."""
        return ", ".join(f"{count} {outcome.replace('_', ' ')}" for outcome, count in self.decided)


@dataclass
class PipelinePage:
    rows: list[PipelineRow]
    total: int
    page: int
    pages: int
    per_page: int


def rule_title(rule: str) -> str:
    """The playbook's title for a stored rule id (the raw id if it is unknown)."""
    try:
        return RULES[Rule(rule)].title
    except ValueError:
        return rule


def is_exact(summary: dict, now: datetime) -> bool:
    """Whether a stored summary row holds at `now`: as_of <= now < fresh_until."""
    if summary.get("as_of") is None or summary["as_of"] > now:
        return False
    return summary["fresh_until"] is None or summary["fresh_until"] > now


def _page_statement():
    """The page's clients joined to their summaries; the ids arrive as one expanding list."""
    coach = User.__table__.alias("coach")
    return (
        select(
            ClientProfile.id.label("client_id"),
            User.name,
            User.email,
            client_zone().label("tz"),
            User.password_hash.is_not(None).label("signed_up"),
            ClientProfile.archived_at,
            ClientProfile.last_activity_at,
            coach.c.name.label("coach_name"),
            *_FIGURES,
        )
        .join(User, User.id == ClientProfile.user_id)
        .join(Organization, Organization.id == ClientProfile.organization_id)
        .join(coach, coach.c.id == ClientProfile.coach_id)
        .outerjoin(ClientSummary, ClientSummary.client_id == ClientProfile.id)
        .where(ClientProfile.id.in_(bindparam("ids", expanding=True)))
    )


# Built once at import: it holds no user and no clock, and building it per request cost
# more than running it (docs/architecture.md, "Read model").
_PAGE = _page_statement()


def page_rows(page_ids: list[int], now: datetime) -> list[PipelineRow]:
    """The page's clients with their figures, in page order (one statement when all fresh)."""
    connection = db.session.connection()
    found = {
        row["client_id"]: dict(row)
        for row in connection.execute(_PAGE, {"ids": page_ids}).mappings().all()
    }
    stale = [client_id for client_id, row in found.items() if not is_exact(row, now)]
    for live in compute_summaries(connection, stale, now):
        found[live["client_id"]].update(live)
    return [_row(found[client_id]) for client_id in page_ids if client_id in found]


def _row(values: dict) -> PipelineRow:
    next_due = None
    if values["next_task_id"] is not None:
        rule = values["next_rule"]
        next_due = NextDue(values["next_task_id"], rule, rule_title(rule), values["next_due_at"])
    return PipelineRow(
        client_id=values["client_id"],
        name=values["name"],
        email=values["email"],
        timezone=values["tz"],
        signed_up=bool(values["signed_up"]),
        archived_at=values["archived_at"],
        coach_name=values["coach_name"],
        last_activity_at=values["last_activity_at"],
        compliance=Rate(values["on_time"], values["counted"]),
        notes_rate=Rate(values["notes_same_day"], values["notes_counted"]),
        overdue=values["overdue"],
        next_due=next_due,
        stages=[(int(n), int(count)) for n, count in values["stages"]],
        decided=[(outcome, int(count)) for outcome, count in values["decided"]],
    )
