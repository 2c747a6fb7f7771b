"""Keeps the per-opportunity analytics facts in step with tasks, interviews and outcomes.

SQLAlchemy session events on the portal's sessions: `after_flush` collects the
opportunities that each flush touched (new, changed or deleted tasks, interviews and
opportunities, and clients whose coach changed); `before_commit` recomputes their fact rows
once, on the same connection, so the facts commit or roll back with the change itself.
Services need no call of their own.

Writes that bypass the ORM (bulk INSERT/UPDATE through Core) are not seen: run
`rebuild_facts()` (or `flask rebuild-analytics`) after them, or wrap a bulk load in
`paused()` and rebuild once at the end, which is also much faster for large imports.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)

from coach_app.extensions import db
from coach_app.models import ClientProfile, FollowUpTask, Interview, Opportunity
from coach_app.models.analytics import (
    ASOF,
    FACT_RULES,
    STATUS_PARTS,
    OpportunityFact,
    fact_column,
    pack,
)
from coach_app.playbook import (
    InterviewFacts,
    NotesFact,
    Rate,
    Rule,
    Status,
    compliance_from_counts,
    local_date,
    same_day_notes_rate,
    task_status,
)
from coach_app.playbook.analytics import (
    ALL_ON_TIME,
    LATE_OR_MISSED,
    hours_bucket,
    offer_rate_from_counts,
    opportunity_band,
    rule_group,
)
from coach_app.playbook.sql import task_status_case
from coach_app.services import analytics_rollups
from coach_app.services.folding import fold_in_chunks

PAUSE_KEY = "analytics_facts_paused"
TOUCHED_KEY = "analytics_facts_touched"
GONE_KEY = "analytics_facts_gone"
CHUNK_SIZE = 2000
_OPEN = (Status.MISSED.value, Status.PENDING.value)
_FACTS = OpportunityFact.__table__
_MARKS = analytics_rollups.MARKS


def _count_columns(at: datetime):
    # Completed work splits into on time / late for good, whatever the moment. Open tasks
    # (missed or pending) are counted as open, and also split at `at`, the moment the row is
    # computed: pending then, with the earliest of their due times (next_open_due).
    status = task_status_case(FollowUpTask, at)
    parts = {
        "on_time": status == Status.ON_TIME.value,
        "late": status == Status.LATE.value,
        "open": status.in_(_OPEN),
        "pending": status == Status.PENDING.value,
    }
    columns = []
    for rule in FACT_RULES:
        for part, condition in parts.items():  # the order of STATUS_PARTS, then pending
            hit = case((condition & (FollowUpTask.rule == rule), 1), else_=0)
            columns.append(func.sum(hit).label(fact_column(rule, part)))
    for part in STATUS_PARTS:
        columns.append(func.sum(case((parts[part], 1), else_=0)).label(f"all_{part}"))
    open_due = case((status.in_(_OPEN), FollowUpTask.due_at), else_=None)
    columns.append(func.max(open_due).label("open_due_max"))
    pending_due = case((parts["pending"], FollowUpTask.due_at), else_=None)
    columns.append(func.min(pending_due).label("next_open_due"))
    return columns


def computed_at() -> datetime:
    """The moment fact rows are computed at (tests replace it to freeze the clock)."""
    return datetime.now(UTC)


def compute_facts(connection, where: Callable, at: datetime | None = None) -> list[dict]:
    """Fact rows for the opportunities selected by where(Opportunity.id-like column), at `at`."""
    opportunities = connection.execute(
        select(
            Opportunity.id,
            Opportunity.organization_id,
            Opportunity.client_id,
            ClientProfile.coach_id,
            Opportunity.industry,
            Opportunity.outcome,
            Opportunity.decided_at,
        )
        .join(ClientProfile, ClientProfile.id == Opportunity.client_id)
        .where(where(Opportunity.id))
    ).all()
    if not opportunities:
        return []
    at = at or computed_at()
    rounds = defaultdict(list)
    for row in connection.execute(
        select(
            Interview.id,
            Interview.opportunity_id,
            Interview.start_at,
            Interview.duration_minutes,
            Interview.timezone,
        )
        .where(where(Interview.opportunity_id))
        .order_by(Interview.opportunity_id, Interview.start_at, Interview.id)
    ):
        rounds[row.opportunity_id].append(row)
    counts = {
        row.opportunity_id: row._mapping
        for row in connection.execute(
            select(FollowUpTask.opportunity_id, *_count_columns(at))
            .where(where(FollowUpTask.opportunity_id))
            .group_by(FollowUpTask.opportunity_id)
        )
    }
    detail = defaultdict(list)
    for row in connection.execute(
        select(
            FollowUpTask.opportunity_id,
            FollowUpTask.interview_id,
            FollowUpTask.rule,
            FollowUpTask.due_at,
            FollowUpTask.completed_at,
            FollowUpTask.waived_reason,
        ).where(
            where(FollowUpTask.opportunity_id),
            FollowUpTask.rule.in_([Rule.NOTES.value, Rule.THANK_YOU_EMAIL.value]),
        )
    ):
        detail[row.opportunity_id].append(row)
    rows = []
    for opp in opportunities:
        interviews = rounds.get(opp.id)
        if not interviews:
            continue  # nothing to analyse before the first interview is logged
        rows.append(_fact_row(opp, interviews, counts.get(opp.id), detail.get(opp.id, []), at))
    return rows


def reading(per_rule: dict, *, notes_same_day: int, outcome: str) -> dict:
    """The measures of one opportunity when its open tasks split into `missed` as given.

    per_rule maps rule -> (on_time, late, missed). The facts store this reading with every
    open task missed (true once they are all past due); the dashboard recomputes it for the
    few rows with a task not yet due. Every rule comes from coach_app.playbook.
    """
    on_time = sum(v[0] for v in per_rule.values())
    late = sum(v[1] for v in per_rule.values())
    missed = sum(v[2] for v in per_rule.values())
    ok_mask = bad_mask = 0
    for bit, rule in enumerate(FACT_RULES):
        group = rule_group(*per_rule.get(rule, (0, 0, 0)))
        if group == ALL_ON_TIME:
            ok_mask |= 1 << bit
        elif group == LATE_OR_MISSED:
            bad_mask |= 1 << bit

    def rate(rule):
        return compliance_from_counts(*per_rule.get(rule, (0, 0, 0)))

    compliance = compliance_from_counts(on_time, late, missed)
    notes = Rate(notes_same_day, rate(Rule.NOTES.value).denominator)
    check_in, thanks = rate(Rule.CHECK_IN.value), rate(Rule.REJECTION_THANKS.value)
    offer = offer_rate_from_counts({outcome: 1})
    return {
        "band": opportunity_band(on_time, late, missed),
        "ok_mask": ok_mask,
        "bad_mask": bad_mask,
        "is_offer": offer.numerator,
        "is_decided": offer.denominator,
        "pair_compliance": pack(compliance.numerator, compliance.denominator),
        "pair_notes": pack(notes.numerator, notes.denominator),
        "pair_check_in": pack(check_in.numerator, check_in.denominator),
        "pair_thanks": pack(thanks.numerator, thanks.denominator),
        "pair_opps_a": pack(compliance.denominator > 0, notes.denominator > 0),
        "pair_opps_b": pack(check_in.denominator > 0, thanks.denominator > 0),
        "pair_outcome": pack(offer.numerator, offer.denominator),
    }


def _fact_row(opp, interviews, counts, tasks, at: datetime) -> dict:
    ends = {
        i.id: InterviewFacts(
            start_at=i.start_at, tz=i.timezone, duration_minutes=i.duration_minutes
        )
        for i in interviews
    }
    first = interviews[0]
    first_day = ends[first.id].local_day
    row = {
        "opportunity_id": opp.id,
        "organization_id": opp.organization_id,
        "client_id": opp.client_id,
        "coach_id": opp.coach_id,
        "industry": opp.industry,
        "outcome": opp.outcome,
        "decided_at": opp.decided_at,
        "first_interview_on": first_day,
        "interview_month": first_day.strftime("%Y-%m"),
        "rounds": len(interviews),
        "open_due_max": counts["open_due_max"] if counts else None,
        "next_open_due": counts["next_open_due"] if counts else None,
        "updated_at": at,
    }
    per_rule, per_rule_at = {}, {}
    for rule in FACT_RULES:
        values = []
        for part in STATUS_PARTS:
            name = fact_column(rule, part)
            row[name] = int(counts[name] or 0) if counts else 0
            values.append(row[name])
        per_rule[rule] = tuple(values)  # settled: every open task counted as missed
        pending = int(counts[fact_column(rule, "pending")] or 0) if counts else 0
        per_rule_at[rule] = (values[0], values[1], values[2] - pending)  # missed at `at`
    for part in STATUS_PARTS:
        row[f"all_{part}"] = int(counts[f"all_{part}"] or 0) if counts else 0
    notes, hours, unsent = [], None, False
    for task in tasks:
        interview = ends.get(task.interview_id)
        if interview is None:
            continue
        if task.rule == Rule.NOTES.value and task.completed_at is not None:
            notes.append(
                NotesFact(
                    status=task_status(
                        due_at=task.due_at,
                        completed_at=task.completed_at,
                        waived=task.waived_reason is not None,
                        now=task.completed_at,
                    ),
                    completed_local_date=local_date(task.completed_at, interview.tz),
                    interview_local_date=interview.local_day,
                )
            )
        elif task.rule == Rule.THANK_YOU_EMAIL.value and task.interview_id == first.id:
            if task.completed_at is not None:
                hours = (task.completed_at - interview.end_at).total_seconds() / 3600
            elif task.waived_reason is None:
                unsent = True
    row["notes_same_day"] = same_day_notes_rate(notes).numerator
    row["thank_you_hours"] = hours
    row["hours_bucket"] = hours_bucket(hours, unsent=unsent)
    row.update(reading(per_rule, notes_same_day=row["notes_same_day"], outcome=opp.outcome))
    as_of = reading(per_rule_at, notes_same_day=row["notes_same_day"], outcome=opp.outcome)
    row.update({column: as_of[key] for key, column in ASOF.items()})
    return row


def refresh(
    connection, opportunity_ids: Iterable[int], at: datetime | None = None, gone=None
) -> int:
    """Recompute the fact rows of these opportunities (deleting rows of vanished ones).

    The rollups follow in the same transaction: each row's old contribution out, its new
    one in (analytics_rollups). `gone` holds rows the database already cascaded away (an
    opportunity deleted in this transaction), read before the flush that deleted them.
    """
    ids = sorted({i for i in opportunity_ids if i is not None})
    at = at or computed_at()
    gone = gone or {}
    deltas = analytics_rollups.Deltas()
    written = 0
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        rows = compute_facts(connection, lambda column, chunk=chunk: column.in_(chunk), at)
        # FOR UPDATE: a concurrent rewrite of the same row waits, so "old" is what we replace.
        old = {r["opportunity_id"]: r for r in _locked_rows(connection, chunk)}
        old.update({i: gone[i] for i in chunk if i in gone and i not in old})
        marks = analytics_rollups.marks(
            connection, [r["organization_id"] for r in (*old.values(), *rows)], at
        )
        for sign, group in ((-1, old.values()), (1, rows)):
            for row in group:
                if analytics_rollups.in_rollup(row["open_due_max"], marks[row["organization_id"]]):
                    deltas.add(row, sign)
        connection.execute(delete(_FACTS).where(_FACTS.c.opportunity_id.in_(chunk)))
        if rows:
            connection.execute(insert(_FACTS), rows)
        written += len(rows)
    deltas.apply(connection)
    return written


def _locked_rows(connection, ids) -> list:
    query = (
        select(*[_FACTS.c[c] for c in analytics_rollups.FACT_COLUMNS])
        .where(_FACTS.c.opportunity_id.in_(list(ids)))
        .order_by(_FACTS.c.opportunity_id)
        .with_for_update()
    )
    return connection.execute(query).mappings().all()


def settled_clause(now: datetime):
    """Facts whose open tasks are all past due at `now`: their settled reading holds."""
    return or_(_FACTS.c.open_due_max.is_(None), _FACTS.c.open_due_max < now)


def current_clause(now: datetime):
    """Facts with a task not yet due and no deadline passed since they were computed.

    Their reading as of their computation (the *_asof columns) holds at `now`. A row computed
    after `now` (a clock moved back, as tests do) is not one of them.
    """
    return and_(
        _FACTS.c.open_due_max >= now,
        _FACTS.c.next_open_due >= now,
        _FACTS.c.updated_at <= now,
    )


def stale_clause(now: datetime):
    """Facts with a task not yet due and a deadline passed since they were computed."""
    return and_(
        _FACTS.c.open_due_max >= now,
        or_(
            _FACTS.c.next_open_due.is_(None),
            _FACTS.c.next_open_due < now,
            _FACTS.c.updated_at > now,
        ),
    )


def refresh_stale(now: datetime | None = None, *, chunk_size: int = 500) -> int:
    """Recompute the stale facts, a chunk per transaction; returns how many were rewritten.

    Not needed for correctness (the dashboard reads stale rows one by one), only to keep
    that set small: run every few minutes (workers/cron.py).
    """
    moment = now or computed_at()

    def next_chunk(last: int) -> dict[int, datetime]:
        return dict(
            db.session.execute(
                select(_FACTS.c.opportunity_id, _FACTS.c.updated_at)
                .where(stale_clause(moment), _FACTS.c.updated_at <= moment)
                .where(_FACTS.c.opportunity_id > last)
                .order_by(_FACTS.c.opportunity_id)
                .limit(chunk_size)
            ).all()
        )

    return fold_in_chunks(
        next_chunk, lambda connection, seen: _update_in_place(connection, seen, moment)
    )


def _update_in_place(connection, seen: dict[int, datetime], at: datetime) -> int:
    """Rewrite these fact rows in place, each only if it still has the `updated_at` we saw.

    The guard makes the refresh lose every race with the portal: a portal transaction that
    rewrote a row after we read it (its tasks changed) committed newer numbers, and the ones
    computed here may predate them, so that row is left alone. Returns the rows rewritten.
    """
    rows = compute_facts(connection, lambda column: column.in_(list(seen)), at)
    if not rows:
        return 0
    columns = [c for c in rows[0] if c != "opportunity_id"]
    result = connection.execute(
        update(_FACTS)
        .where(
            _FACTS.c.opportunity_id == bindparam("fact_id"),
            _FACTS.c.updated_at == bindparam("seen_updated_at"),
            # Rows in the rollups are left alone (a stale row never is one, unless a mark
            # ran ahead of this refresh's moment): their contribution is not recomputed here.
            ~exists().where(
                _MARKS.c.organization_id == _FACTS.c.organization_id,
                _MARKS.c.as_of > _FACTS.c.open_due_max,
            ),
        )
        .values({c: bindparam(c) for c in columns}),
        [
            {
                "fact_id": row["opportunity_id"],
                "seen_updated_at": seen[row["opportunity_id"]],
                **{c: row[c] for c in columns},
            }
            for row in rows
        ],
    )
    return result.rowcount if result.rowcount >= 0 else len(rows)


def rebuild_facts(organization_id: int | None = None, *, chunk_size: int = CHUNK_SIZE) -> int:
    """Rebuild every fact row and the rollups (of one organisation, or all); caller commits."""
    connection = db.session.connection()
    clear = delete(_FACTS)
    ids = select(Opportunity.id).order_by(Opportunity.id)
    if organization_id is not None:
        clear = clear.where(_FACTS.c.organization_id == organization_id)
        ids = ids.where(Opportunity.organization_id == organization_id)
    connection.execute(clear)
    written, last = 0, 0
    while True:
        chunk = connection.scalars(ids.where(Opportunity.id > last).limit(chunk_size)).all()
        if not chunk:
            break
        low, high = chunk[0], chunk[-1]
        rows = compute_facts(connection, lambda column, lo=low, hi=high: column.between(lo, hi))
        if organization_id is not None:
            rows = [r for r in rows if r["organization_id"] == organization_id]
        if rows:
            connection.execute(insert(_FACTS), rows)
        written += len(rows)
        last = high
    analytics_rollups.rebuild_rollups(connection, organization_id, computed_at())
    return written


def analyze(engine=None) -> None:
    """Refresh the planner's statistics on the facts table (cheap: SQLite samples 1000 rows).

    Without statistics SQLite guesses, and may walk the organisation's whole index for one
    coach's few rows. PostgreSQL's autovacuum keeps its own statistics.
    """
    engine = engine or db.engine
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql(f"ANALYZE {_FACTS.name}")
        else:
            connection.exec_driver_sql(f"ANALYZE {_FACTS.name}")


@contextmanager
def paused(session=None):
    """Stop the listener for a bulk load in this session; call rebuild_facts() afterwards."""
    session = session or db.session
    session.info[PAUSE_KEY] = True
    try:
        yield
    finally:
        session.info.pop(PAUSE_KEY, None)


def _touched(session) -> tuple[set[int], set[int]]:
    opportunities, clients = set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, FollowUpTask | Interview):
            opportunities.add(obj.opportunity_id)
        elif isinstance(obj, Opportunity):
            opportunities.add(obj.id)
        elif (
            isinstance(obj, ClientProfile)
            and obj in session.dirty
            # Only a new coach moves facts; last_activity_at changes with every task.
            and inspect(obj).attrs.coach_id.history.has_changes()
        ):
            clients.add(obj.id)
    return opportunities, clients


def _before_flush(session, _flush_context, _instances) -> None:
    # Deleting an opportunity cascades to its fact row in the database, during the flush:
    # keep the row now (locked), so the rollups can take its contribution out at commit.
    if session.info.get(PAUSE_KEY):
        return
    ids = {o.id for o in session.deleted if isinstance(o, Opportunity) and o.id is not None}
    clients = [c.id for c in session.deleted if isinstance(c, ClientProfile) and c.id]
    if not ids and not clients:
        return
    connection = session.connection()
    if clients:
        ids.update(
            connection.scalars(select(Opportunity.id).where(Opportunity.client_id.in_(clients)))
        )
    gone = session.info.setdefault(GONE_KEY, {})
    for row in _locked_rows(connection, sorted(ids - set(gone))):
        gone[row["opportunity_id"]] = row
    if ids:
        pending = session.info.setdefault(TOUCHED_KEY, (set(), set()))
        pending[0].update(ids)


def _after_flush(session, _flush_context) -> None:
    # Only collect here: a unit of work flushes many times (every autoflush), and the facts
    # need computing once, when the transaction is about to commit.
    if session.info.get(PAUSE_KEY):
        return
    opportunities, clients = _touched(session)
    if opportunities or clients:
        pending = session.info.setdefault(TOUCHED_KEY, (set(), set()))
        pending[0].update(opportunities)
        pending[1].update(clients)


def _before_commit(session) -> None:
    if session.info.get(PAUSE_KEY):
        _forget(session)
        return
    session.flush()  # the commit's own flush would come after this hook
    opportunities, clients = session.info.pop(TOUCHED_KEY, (set(), set()))
    gone = session.info.pop(GONE_KEY, {})
    if not opportunities and not clients:
        return
    connection = session.connection()
    if clients:
        opportunities.update(
            connection.scalars(
                select(Opportunity.id).where(Opportunity.client_id.in_(sorted(clients)))
            )
        )
    refresh(connection, opportunities, gone=gone)


def _forget(session, *_args) -> None:
    session.info.pop(TOUCHED_KEY, None)
    session.info.pop(GONE_KEY, None)


_HOOKS = {
    "before_flush": _before_flush,
    "after_flush": _after_flush,
    "before_commit": _before_commit,
    "after_rollback": _forget,
}


def install() -> None:
    """Listen to the portal's sessions (idempotent: safe for every app the process builds)."""
    for name, hook in _HOOKS.items():
        if not event.contains(FlaskSession, name, hook):
            event.listen(FlaskSession, name, hook)
