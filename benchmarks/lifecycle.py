"""One synthetic opportunity's rows, following the services' life cycle (benchmarks only).

Rounds, their playbook tasks and a quarter of them with a referral; completions by the
client's diligence; then what the services would have done on the way: a later round waives
the earlier round's pending check-ins and call-backs (SUPERSEDED_REASON), a decision waives
the pending tasks DECISION_WAIVES lists (DECISION_REASON), and a rejection adds the
rejection thanks. An opportunity whose decision would fall after now is still open.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from benchmarks.bulk import Writer, fmt
from coach_app import playbook
from coach_app.playbook import Outcome

TASK_COLS = ["id", "key", "rule", "client_id", "opportunity_id", "interview_id", "referral_id",
             "due_at", "window_opens_at", "completed_at", "waived_reason", "waived_at",
             "waived_by_id", "created_at", "updated_at"]  # fmt: skip
INTERVIEW_COLS = ["id", "opportunity_id", "client_id", "round_number", "start_at",
                  "duration_minutes", "timezone", "format", "created_at"]  # fmt: skip
OPP_COLS = ["id", "organization_id", "client_id", "company", "role", "industry", "outcome",
            "decided_at", "created_at", "rounds"]  # fmt: skip
OUTCOMES = ["offer", "rejected", "no_response", "withdrawn", "open"]
OUTCOME_WEIGHTS = [0.15, 0.5, 0.17, 0.03, 0.15]
SUPERSEDED = frozenset(rule.value for rule in playbook.AUTO_WAIVABLE_RULES)
DECISION_WAIVES = {
    outcome.value: frozenset(rule.value for rule in rules)
    for outcome, rules in playbook.DECISION_WAIVES.items()
}


# Unbounded on purpose: about 213,000 shapes exist (208 start days x 8 hours x 4 minutes x
# 4 durations x 4 zones x 2), so a bounded cache would evict in a cycle at 1M clients; they
# take about 300 MB.
@cache
def planned_tasks(start: datetime, tz: str, duration: int, latest: bool):
    """The playbook's tasks for one interview shape (memoised: starts sit on a grid)."""
    facts = playbook.InterviewFacts(
        start_at=start, tz=tz, duration_minutes=duration, is_latest_round=latest
    )
    return tuple(
        (p.rule.value, fmt(p.due_at), fmt(p.window_opens_at), p.due_at)
        for p in playbook.schedule_interview(facts)
    )


@cache
def rejection_thanks(decided: datetime, tz: str):
    """The rejection thanks task's (due text, window text, due) for a decision at `decided`."""
    planned = playbook.schedule_rejection_thanks(decided, tz)
    return fmt(planned.due_at), fmt(planned.window_opens_at), planned.due_at


@dataclass
class Planned:
    """Rows for one opportunity, and what the generator tallies from it."""

    opportunity: tuple
    interviews: list = field(default_factory=list)
    referrals: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    waived: int = 0
    last_done: datetime | None = None


@dataclass
class Batch:
    """Rows of many opportunities, written together."""

    opportunities: list = field(default_factory=list)
    interviews: list = field(default_factory=list)
    referrals: list = field(default_factory=list)
    tasks: list = field(default_factory=list)

    def add(self, planned: Planned) -> None:
        """Take one opportunity's rows."""
        self.opportunities.append(planned.opportunity)
        self.interviews += planned.interviews
        self.referrals += planned.referrals
        self.tasks += planned.tasks

    def write(self, writer: Writer) -> int:
        """Insert the rows (parents first); returns the number of interviews written."""
        writer.insert("opportunities", OPP_COLS, self.opportunities)
        writer.insert("interviews", INTERVIEW_COLS, self.interviews)
        writer.insert("referrals", ["id", "interview_id", "name", "created_at"], self.referrals)
        writer.insert("follow_up_tasks", TASK_COLS, self.tasks)
        return len(self.interviews)


def _completion(rng, diligence: float, due: datetime, now: datetime) -> datetime | None:
    if rng.random() >= diligence:
        return None
    late = rng.random() < 0.2
    done = due + timedelta(hours=rng.uniform(1, 30)) if late else due - timedelta(
        hours=rng.uniform(0.1, 10)
    )  # fmt: skip
    return None if done > now else done


def plan_opportunity(rng, opp_id, client, tz, rounds, now, ids, *, actor, created) -> Planned:
    """Rows for opportunity `opp_id` of client index `client`; `ids` holds the last ids used."""
    diligence = 0.3 + 0.6 * ((client * 7919) % 1000) / 1000
    outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
    day = rng.randrange(1, 180)
    start = (now - timedelta(days=day)).replace(
        hour=13 + rng.randrange(0, 8), minute=rng.choice([0, 15, 30, 45]), second=0, microsecond=0
    )
    starts = []
    for _ in range(rounds):
        starts.append((start, rng.choice([30, 45, 60, 90])))
        start = start + timedelta(days=rng.randrange(5, 15))
    decided = None if outcome == "open" or start > now else start
    if decided is None:
        outcome = "open"
    planned = Planned(None)
    waives = DECISION_WAIVES.get(outcome, frozenset())

    def task(key, rule, interview_id, referral_id, due_text, window_text, due, superseded_at):
        done = _completion(rng, diligence, due, now)
        reason = waived_at = None
        for moment, label, rules in ((superseded_at, playbook.SUPERSEDED_REASON, SUPERSEDED),
                                     (decided, playbook.DECISION_REASON, waives)):  # fmt: skip
            # Only a task still pending at that moment is waived; a miss stays a miss.
            if moment and rule in rules and due > moment and (done is None or done > moment):
                reason, waived_at, done = label, fmt(moment), None
                planned.waived += 1
                break
        if done is not None and (planned.last_done is None or done > planned.last_done):
            planned.last_done = done
        ids["task"] += 1
        planned.tasks.append(
            (ids["task"], key, rule, client + 1, opp_id, interview_id, referral_id, due_text,
             window_text, fmt(done), reason, waived_at, actor if reason else None, created,
             created)
        )  # fmt: skip

    for number, (begins, duration) in enumerate(starts, start=1):
        ids["interview"] += 1
        interview_id = ids["interview"]
        planned.interviews.append((interview_id, opp_id, client + 1, number, fmt(begins),
                                   duration, tz, "video", created))  # fmt: skip
        # Each round was the latest when it was logged, so it got its check-in; logging the
        # next one (by now, if it lies ahead) waived that check-in if it was still pending.
        superseded_at = min(starts[number][0], now) if number < rounds else None
        for rule, due_text, window_text, due in planned_tasks(begins, tz, duration, True):
            task(f"interview:{interview_id}:{rule}", rule, interview_id, None, due_text,
                 window_text, due, superseded_at)  # fmt: skip
        if rng.random() < 0.25:  # one referral given at a quarter of the interviews
            ids["referral"] += 1
            planned.referrals.append((ids["referral"], interview_id, "A referral", created))
            due = begins + timedelta(minutes=duration) + timedelta(hours=72)
            task(f"referral:{ids['referral']}", "referral", interview_id, ids["referral"],
                 fmt(due), None, due, superseded_at)  # fmt: skip
    if outcome == Outcome.REJECTED:
        due_text, window_text, due = rejection_thanks(decided, tz)
        task(f"opportunity:{opp_id}:rejection_thanks", "rejection_thanks", None, None, due_text,
             window_text, due, None)  # fmt: skip
    planned.opportunity = (opp_id, 1, client + 1, f"Company {opp_id % 5000}", "Analyst",
                           "software", outcome, fmt(decided), created, rounds)  # fmt: skip
    return planned
