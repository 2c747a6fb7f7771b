"""From-scratch answers for the dashboard: one reading per opportunity, then sums.

Part of the reference of tests/test_read_model_property.py (see tests/read_model_reference.py
for the rules it follows): plain rows in, the playbook's pure functions only. An opportunity
counts once it has an interview; a cohort counts a member's opportunities whose first
interview's local date is on or after its start date (docs/analytics.md).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from coach_app.playbook import (
    Rate,
    Rule,
    Status,
    compliance,
    compliance_band,
    offer_rate,
    on_time_rate,
    same_day_notes_rate,
)
from coach_app.playbook.analytics import ALL_ON_TIME, LATE_OR_MISSED, hours_bucket, rule_group
from coach_app.playbook.lifecycle import DECIDED
from tests.read_model_reference import Snapshot, notes_fact, status

MEASURES = ("compliance", "same_day_notes", "check_in", "rejection_thanks", "offer")


@dataclass
class Reading:
    """One opportunity as the dashboard counts it at `now`."""

    id: int
    client_id: int
    coach_id: int
    industry: str | None
    rounds: int
    first_day: object
    outcome: str
    per_rule: dict
    rates: dict  # measure -> Rate
    band: str | None
    groups: dict  # rule -> ALL_ON_TIME / LATE_OR_MISSED / None
    notes_same_day: int
    hours: float | None
    hours_bucket: str | None

    @property
    def decided(self) -> bool:
        return self.outcome in DECIDED


def reading(snap: Snapshot, opp: dict, now: datetime) -> Reading | None:
    """The opportunity's reading at `now`, or None before its first interview."""
    rounds = sorted(
        (i for i in snap.interviews.values() if i["opportunity_id"] == opp["id"]),
        key=lambda i: (i["start_at"], i["id"]),
    )
    if not rounds:
        return None
    tasks = [t for t in snap.tasks if t["opportunity_id"] == opp["id"]]
    statuses = {t["id"]: status(t, now) for t in tasks}
    of_rule = lambda rule: [statuses[t["id"]] for t in tasks if t["rule"] == rule]  # noqa: E731
    per_rule = {}
    for rule in Rule:
        counts = Counter(of_rule(rule.value))
        per_rule[rule.value] = (counts[Status.ON_TIME], counts[Status.LATE], counts[Status.MISSED])
    notes = [notes_fact(snap, t, now) for t in tasks if t["rule"] == Rule.NOTES.value]
    rates = {
        "compliance": compliance(statuses.values()),
        "same_day_notes": same_day_notes_rate(notes),
        "check_in": on_time_rate(of_rule(Rule.CHECK_IN.value)),
        "rejection_thanks": on_time_rate(of_rule(Rule.REJECTION_THANKS.value)),
        "offer": offer_rate([opp["outcome"]]),
    }
    first = snap.interview_facts(rounds[0]["id"])
    hours, unsent = None, False
    for task in tasks:
        if task["rule"] == Rule.THANK_YOU_EMAIL.value and task["interview_id"] == rounds[0]["id"]:
            if task["completed_at"] is not None:
                hours = (task["completed_at"] - first.end_at).total_seconds() / 3600
            elif task["waived_reason"] is None:
                unsent = True
    return Reading(
        id=opp["id"],
        client_id=opp["client_id"],
        coach_id=snap.clients[opp["client_id"]]["coach_id"],
        industry=opp["industry"],
        rounds=len(rounds),
        first_day=first.local_day,
        outcome=opp["outcome"],
        per_rule=per_rule,
        rates=rates,
        band=compliance_band(rates["compliance"].value),
        groups={rule: rule_group(*counts) for rule, counts in per_rule.items()},
        notes_same_day=rates["same_day_notes"].numerator,
        hours=hours,
        hours_bucket=hours_bucket(hours, unsent=unsent),
    )


def counts_for(snap: Snapshot, cohort_id: int, r: Reading) -> bool:
    """A cohort counts a member's opportunity from its start date on."""
    starts = snap.cohorts[cohort_id]["starts_on"]
    return (cohort_id, r.client_id) in snap.members and (starts is None or r.first_day >= starts)


def readings(snap: Snapshot, user: dict, now: datetime, filters=None) -> list[Reading]:
    """Readings of the opportunities in the user's scope that pass the dashboard filters."""
    found = []
    for opp in sorted(snap.opportunities.values(), key=lambda o: o["id"]):
        if not snap.in_scope(user, opp["client_id"]):
            continue
        r = reading(snap, opp, now)
        if r is not None and _passes(snap, r, filters):
            found.append(r)
    return found


def _passes(snap: Snapshot, r: Reading, f) -> bool:
    if f is None:
        return True
    if (f.start and r.first_day < f.start) or (f.end and r.first_day > f.end):
        return False
    if f.cohorts and not any(counts_for(snap, c, r) for c in f.cohorts if c in snap.cohorts):
        return False
    if f.coaches and r.coach_id not in f.coaches:
        return False
    if f.rounds and not (r.rounds >= 3 if f.rounds == "3+" else r.rounds == int(f.rounds)):
        return False
    return not f.industries or r.industry in f.industries


def rate_figures(rate: Rate) -> dict:
    """A rate as the dashboard shows it: counts, value and 95 % Wilson interval."""
    interval = rate.wilson()
    low, high = interval if interval else (None, None)
    return {
        "num": rate.numerator,
        "den": rate.denominator,
        "rate": rate.value,
        "low": low,
        "high": high,
    }


def measures(group: list[Reading]) -> dict:
    """Every measure of a group of opportunities, with how many opportunities each rests on."""
    row = {"opportunities": len(group)}
    for measure in MEASURES:
        total = Rate(
            sum(r.rates[measure].numerator for r in group),
            sum(r.rates[measure].denominator for r in group),
        )
        figures = rate_figures(total)
        opps = sum(r.rates[measure].denominator > 0 for r in group)
        figures["opps"] = total.denominator if measure == "offer" else opps
        row.update({f"{measure}_{k}": v for k, v in figures.items()})
    return row


def offers(group: list[Reading]) -> dict:
    """Offer rate of the decided opportunities of a group."""
    rate = offer_rate(r.outcome for r in group)
    figures = rate_figures(rate)
    return {
        "opportunities": rate.denominator,
        "offers": rate.numerator,
        "offer_rate": figures["rate"],
        "low": figures["low"],
        "high": figures["high"],
    }


def rule_groups(decided: list[Reading]) -> dict:
    """(rule, group) -> offer figures of the decided opportunities in that group."""
    return {
        (rule.value, group): offers([r for r in decided if r.groups[rule.value] == group])
        for rule in Rule
        for group in (ALL_ON_TIME, LATE_OR_MISSED)
    }
