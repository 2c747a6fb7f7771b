"""What the screens show against the reference (tests/read_model_reference.py), per figure.

Each `*_mismatches` function asks the real read path (services.pipeline, dashboards.data) for
one screen at `now`, asks the reference for the same screen, and returns readable lines for
every figure that differs: an empty list means the screen is right.
"""

import math
from datetime import datetime

import pandas as pd

from coach_app.playbook.analytics import BANDS, HOURS_LABELS
from coach_app.playbook.lifecycle import DECIDED
from coach_app.services.pipeline import PipelineQuery, exceptions, pipeline
from dashboards import data
from tests import read_model_dashboard_reference as dash
from tests import read_model_reference as ref

# Every pipeline query the checks rotate through, one per check (all sorts, both
# directions, archive filters, overdue only, a cohort, a coach, a small page).
SORTS = ("name", "compliance", "overdue", "next_due", "last_activity")
ARCHIVED = ("active", "archived", "all")


def _plain(value):
    """A value as a comparable plain Python value (numpy ints, NaN, float noise)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str | datetime):
        value = value.item()
    if isinstance(value, float):
        return round(value, 9)
    return value


def _diff(view: str, actual: dict, expected: dict) -> list[str]:
    """Lines naming every key and field where actual and expected differ."""
    lines = []
    for key in sorted(set(actual) | set(expected), key=repr):
        if key not in actual:
            lines.append(f"{view}[{key!r}]: missing, expected {expected[key]}")
        elif key not in expected:
            lines.append(f"{view}[{key!r}]: unexpected row {actual[key]}")
        else:
            a, e = actual[key], expected[key]
            if isinstance(e, dict):
                for name in e:
                    if _plain(a.get(name)) != _plain(e[name]):
                        lines.append(
                            f"{view}[{key!r}].{name}: got {a.get(name)!r}, expected {e[name]!r}"
                        )
            elif a != e:
                lines.append(f"{view}[{key!r}]: got {a!r}, expected {e!r}")
    return lines


# --- pipeline ------------------------------------------------------------------------------


def _row(row) -> ref.PipelineFigures:
    nd = row.next_due
    return ref.PipelineFigures(
        client_id=row.client_id,
        name=row.name,
        email=row.email,
        timezone=row.timezone,
        signed_up=row.signed_up,
        archived_at=row.archived_at,
        coach_name=row.coach_name,
        last_activity_at=row.last_activity_at,
        compliance=(row.compliance.numerator, row.compliance.denominator),
        notes_rate=(row.notes_rate.numerator, row.notes_rate.denominator),
        overdue=row.overdue,
        next_due=None if nd is None else (nd.task_id, nd.rule, nd.due_at),
        stages=tuple(row.stages),
        decided=tuple(row.decided),
    )


def rotated_query(i: int, user, cohort_ids, coach_ids) -> tuple[PipelineQuery, int]:
    """The i-th pipeline query of the rotation, with its page size."""
    small = i % 7 == 6
    query = PipelineQuery(
        sort=SORTS[i % 5],
        descending=(i // 5) % 2 == 1,
        archived=ARCHIVED[i % 3],
        overdue_only=i % 4 == 3,
        cohort_id=cohort_ids[i % len(cohort_ids)] if i % 6 == 5 and cohort_ids else None,
        coach_id=coach_ids[i % len(coach_ids)] if user.role == "admin" and i % 2 else None,
        page=2 if small else 1,
    )
    return query, 2 if small else 100


def pipeline_mismatches(snap, user, now, i: int, cohort_ids, coach_ids) -> list[str]:
    """Every row of the user's whole pipeline, and the i-th rotated query's page."""
    me = snap.users[user.id]
    everyone = PipelineQuery(archived="all")
    page = pipeline(user, everyone, per_page=100, now=now)
    expected_ids = ref.pipeline_ids(snap, me, everyone, now)
    lines = []
    if [r.client_id for r in page.rows] != expected_ids:
        lines.append(
            f"pipeline({user.name}) ids {[r.client_id for r in page.rows]} != {expected_ids}"
        )
    actual = {r.client_id: _row(r).__dict__ for r in page.rows}
    expected = {c: ref.pipeline_figures(snap, c, now).__dict__ for c in expected_ids}
    lines += _diff(f"pipeline({user.name})", actual, expected)
    query, per_page = rotated_query(i, user, cohort_ids, coach_ids)
    ids = ref.pipeline_ids(snap, me, query, now)
    pages = max(1, math.ceil(len(ids) / per_page))
    shown = min(query.page, pages)
    want = ids[(shown - 1) * per_page : shown * per_page]
    got = pipeline(user, query, per_page=per_page, now=now)
    if ([r.client_id for r in got.rows], got.total, got.page) != (want, len(ids), shown):
        lines.append(
            f"pipeline({user.name}, {query}, per_page={per_page}): ids, total, page "
            f"{[r.client_id for r in got.rows], got.total, got.page} != {want, len(ids), shown}"
        )
    return lines


# --- exceptions ----------------------------------------------------------------------------


def exceptions_mismatches(snap, user, now, coach_id=None) -> list[str]:
    """The user's exceptions queue, group by group and item by item."""
    got = [
        ref.Group(
            g.rule,
            g.kind,
            g.clients,
            g.tasks,
            tuple(
                (i.task_id, i.client_id, i.client_name, i.company, i.role, i.due_at, i.timezone)
                for i in g.items
            ),
        )
        for g in exceptions(user, coach_id=coach_id, now=now)
    ]
    want = ref.exception_groups(snap, snap.users[user.id], now, coach_id=coach_id)
    if got == want:
        return []
    view = f"exceptions({user.name}, coach_id={coach_id})"
    lines = _diff(view, {(g.rule, g.kind): g for g in got}, {(g.rule, g.kind): g for g in want})
    if not lines:  # same groups, another order
        lines.append(
            f"{view} order {[(g.rule, g.kind) for g in got]} != {[(g.rule, g.kind) for g in want]}"
        )
    return lines


# --- dashboard -----------------------------------------------------------------------------


def _records(frame: pd.DataFrame, *keys: str) -> dict:
    out = {}
    for record in frame.to_dict("records"):
        key = tuple(_plain(record[k]) for k in keys)
        out[key[0] if len(keys) == 1 else key] = record
    return out


GROUPINGS = ("cohorts", "coaches", "clients", "opportunities")


def dashboard_mismatches(snap, user, now, filters=None, *, views=GROUPINGS) -> list[str]:
    """The overview (tiles, bands, rules, hours, months) and the `views` among cohorts,
    coaches, clients and the per-opportunity table, for `user` with `filters`."""
    me = snap.users[user.id]
    found = dash.readings(snap, me, now, filters)
    decided = [r for r in found if r.decided]
    view = f"{user.name} {filters or 'no filter'}"
    lines = []
    overview = data.overview(user, filters, now)
    tiles = _records(overview["headline"], "measure")
    want = dash.measures(found)
    expected = {
        m: {k: want[f"{m}_{k}"] for k in ("num", "den", "opps", "rate", "low", "high")}
        | {"opportunities": want["opportunities"]}
        for m in dash.MEASURES
    }
    lines += _diff(f"headline[{view}]", tiles, expected)
    bands = {b: dash.offers([r for r in decided if r.band == b]) for b in BANDS}
    lines += _diff(f"by_band[{view}]", _records(overview["bands"], "band"), bands)
    rules = _records(overview["rules"], "rule", "group")
    lines += _diff(f"by_rule[{view}]", rules, dash.rule_groups(decided))
    lines += _diff(
        f"hours[{view}]", _records(overview["hours"], "outcome", "hours"), _hours(decided)
    )
    months = {}
    for month in sorted({r.first_day.strftime("%Y-%m") for r in found}):
        months[month] = dash.measures([r for r in found if r.first_day.strftime("%Y-%m") == month])
    lines += _diff(f"by_month[{view}]", _records(overview["months"], "month"), months)
    if "cohorts" in views:
        lines += _cohorts(snap, me, user, now, filters, found)
    if "coaches" in views and user.role == "admin":
        coaches = {}
        for coach_id in sorted({r.coach_id for r in found}):
            group = [r for r in found if r.coach_id == coach_id]
            coaches[coach_id] = {"coach": snap.users[coach_id]["name"], **dash.measures(group)}
        got = _records(data.by_coach(user, filters, now), "coach_id")
        lines += _diff(f"by_coach[{view}]", got, coaches)
    if "clients" in views:
        clients = {}
        for client_id in sorted({r.client_id for r in found}):
            group = [r for r in found if r.client_id == client_id]
            clients[client_id] = {"client": snap.name_of(client_id), **dash.measures(group)}
        got = _records(data.by_client(user, filters, now), "client_id")
        lines += _diff(f"by_client[{view}]", got, clients)
    if "opportunities" in views:
        table = _records(data.opportunities(user, filters, now), "opportunity_id")
        lines += _diff(f"opportunities[{view}]", table, {r.id: _opportunity(r) for r in decided})
    return lines


def _cohorts(snap, me, user, now, filters, found) -> list[str]:
    """Cohorts side by side: every cohort with a member, its members' counted work."""
    cohorts = {}
    for cohort_id, cohort in snap.cohorts.items():
        chosen = not (filters and filters.cohorts) or cohort_id in filters.cohorts
        has_member = any(c == cohort_id for c, _client in snap.members)
        if cohort["organization_id"] == me["organization_id"] and chosen and has_member:
            group = [r for r in found if dash.counts_for(snap, cohort_id, r)]
            cohorts[cohort_id] = {"cohort": cohort["name"], **dash.measures(group)}
    got = _records(data.by_cohort(user, filters, now), "cohort_id")
    return _diff(f"by_cohort[{user.name} {filters or 'no filter'}]", got, cohorts)


def _hours(decided) -> dict:
    out = {}
    for outcome in sorted(o.value for o in DECIDED):
        group = [r for r in decided if r.outcome == outcome and r.hours_bucket is not None]
        for label in HOURS_LABELS:
            count = sum(r.hours_bucket == label for r in group)
            share = dash.rate_figures(dash.Rate(count, len(group)))
            out[(outcome, label)] = {
                "opportunities": count,
                "outcome_total": len(group),
                "share": share["rate"],
                "low": share["low"],
                "high": share["high"],
            }
    return out


def _opportunity(r: dash.Reading) -> dict:
    on_time, late, missed = (sum(v[k] for v in r.per_rule.values()) for k in range(3))
    row = {
        "client_id": r.client_id,
        "coach_id": r.coach_id,
        "industry": r.industry,
        "rounds": r.rounds,
        "first_interview_on": r.first_day,
        "outcome": r.outcome,
        "notes_same_day": r.notes_same_day,
        "thank_you_hours": r.hours,
        "hours_bucket": r.hours_bucket,
        "band": r.band,
        "on_time": on_time,
        "late": late,
        "missed": missed,
        "compliance": r.rates["compliance"].value,
    }
    for rule, counts in r.per_rule.items():
        for part, count in zip(("on_time", "late", "missed"), counts, strict=True):
            row[f"{rule}_{part}"] = count
    return row
