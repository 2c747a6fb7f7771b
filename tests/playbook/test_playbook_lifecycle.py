"""Later rounds and decisions waive only pending check-ins and call-backs; no-response timing."""

from datetime import UTC, datetime, timedelta

import pytest

from coach_app.playbook import (
    DECIDED,
    DECISION_REASON,
    DECISIONS,
    NO_RESPONSE_AFTER,
    SUPERSEDED_REASON,
    Outcome,
    PlaybookError,
    Rule,
    auto_waivable,
    is_decision,
    is_no_response_due,
    no_response_cutoff,
)

UTC = UTC
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
EARLIER = NOW - timedelta(days=2)


def test_outcome_sets_match_the_playbook():
    assert {Outcome.OFFER, Outcome.REJECTED, Outcome.WITHDRAWN} == DECISIONS
    assert {Outcome.OFFER, Outcome.REJECTED, Outcome.NO_RESPONSE} == DECIDED
    assert timedelta(days=30) == NO_RESPONSE_AFTER
    assert SUPERSEDED_REASON == "superseded by a later round"
    assert DECISION_REASON


@pytest.mark.parametrize("rule", [Rule.CHECK_IN, Rule.CALLBACK, "check_in", "callback"])
def test_pending_check_ins_and_callbacks_are_waived(rule):
    assert auto_waivable(rule=rule, due_at=LATER, completed_at=None, waived=False, now=NOW)


@pytest.mark.parametrize("rule", [Rule.CHECK_IN, Rule.CALLBACK])
def test_a_miss_stays_a_miss_and_done_stays_done(rule):
    missed = dict(due_at=EARLIER, completed_at=None, waived=False, now=NOW)
    assert not auto_waivable(rule=rule, **missed)
    on_time = dict(due_at=LATER, completed_at=EARLIER, waived=False, now=NOW)
    assert not auto_waivable(rule=rule, **on_time)
    late = dict(due_at=EARLIER - timedelta(days=1), completed_at=EARLIER, waived=False, now=NOW)
    assert not auto_waivable(rule=rule, **late)
    already = dict(due_at=LATER, completed_at=None, waived=True, now=NOW)
    assert not auto_waivable(rule=rule, **already)


@pytest.mark.parametrize("rule", [r for r in Rule if r not in (Rule.CHECK_IN, Rule.CALLBACK)])
def test_other_rules_are_never_auto_waived(rule):
    assert not auto_waivable(rule=rule, due_at=LATER, completed_at=None, waived=False, now=NOW)


def test_unknown_rule_is_an_error():
    with pytest.raises(PlaybookError, match="Unknown rule"):
        auto_waivable(rule="thank_you_fax", due_at=LATER, completed_at=None, waived=False, now=NOW)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("open", False),
        ("offer", True),
        ("rejected", True),
        ("withdrawn", True),
        ("no_response", False),
    ],
)
def test_is_decision(outcome, expected):
    assert is_decision(outcome) is expected
    assert is_decision(Outcome(outcome)) is expected


class TestNoResponse:
    end = datetime(2024, 5, 1, 15, 0, tzinfo=UTC)

    def due(self, **overrides):
        kwargs = dict(
            outcome=Outcome.OPEN,
            latest_interview_end_at=self.end,
            has_pending_callback=False,
            now=self.end + timedelta(days=30),
        )
        kwargs.update(overrides)
        return is_no_response_due(**kwargs)

    def test_exactly_30_days_after_the_latest_interview(self):
        assert self.due()
        assert not self.due(now=self.end + timedelta(days=30) - timedelta(seconds=1))
        assert self.due(outcome="open", now=self.end + timedelta(days=90))

    def test_a_pending_callback_holds_it_open(self):
        assert not self.due(has_pending_callback=True)

    @pytest.mark.parametrize("outcome", ["offer", "rejected", "withdrawn", "no_response"])
    def test_only_open_opportunities_change(self, outcome):
        assert not self.due(outcome=outcome)

    def test_no_interview_yet(self):
        assert not self.due(latest_interview_end_at=None)

    def test_cutoff_for_queries(self):
        cutoff = no_response_cutoff(NOW)
        assert cutoff == NOW - timedelta(days=30)
        assert self.due(now=NOW) is (self.end <= cutoff)

    def test_bad_input(self):
        with pytest.raises(PlaybookError, match="Unknown outcome"):
            self.due(outcome="ghosted")
        with pytest.raises(ValueError):
            no_response_cutoff(datetime(2024, 6, 1))


@pytest.mark.parametrize(
    ("outcome", "waived"),
    [
        ("offer", {"check_in", "callback", "second_interview"}),
        (
            "rejected",
            {
                "check_in",
                "callback",
                "second_interview",
                "thank_you_email",
                "thank_you_note",
                "info_gift",
            },
        ),
        ("withdrawn", {r.value for r in Rule} - {"notes", "contacts", "referral"}),
        ("no_response", set()),
        ("open", set()),
    ],
)
def test_a_decision_waives_exactly_the_tasks_it_made_moot(outcome, waived):
    """PLAYBOOK.md's life-cycle table, rule by rule, for pending tasks."""
    for rule in Rule:
        got = auto_waivable(
            rule=rule, due_at=LATER, completed_at=None, waived=False, now=NOW, outcome=outcome
        )
        assert got is (rule.value in waived), (outcome, rule)
        # A miss stays a miss, whatever the decision.
        assert not auto_waivable(
            rule=rule, due_at=EARLIER, completed_at=None, waived=False, now=NOW, outcome=outcome
        )
