"""coach_app/playbook/analytics.py and the per-opportunity reading the facts store."""

import itertools

from coach_app.models.analytics import FACT_RULES, pack, unpack
from coach_app.playbook import compliance_band, compliance_from_counts
from coach_app.playbook.analytics import (
    ALL_ON_TIME,
    LATE_OR_MISSED,
    NOT_SENT,
    hours_bucket,
    offer_rate_from_counts,
    opportunity_band,
    rule_group,
)
from coach_app.services.analytics_facts import reading


def test_band_edges_follow_the_playbook():
    assert opportunity_band(4, 1, 0) == "high"  # exactly 80 %
    assert opportunity_band(1, 1, 0) == "medium"  # exactly 50 %
    assert opportunity_band(0, 0, 0) is None
    for on_time, counted in itertools.product(range(40), range(1, 40)):
        if on_time <= counted:
            value = compliance_from_counts(on_time, counted - on_time, 0).value
            assert opportunity_band(on_time, counted - on_time, 0) == compliance_band(value)


def test_rule_groups():
    assert rule_group(3, 0, 0) == ALL_ON_TIME
    assert rule_group(3, 1, 0) == LATE_OR_MISSED
    assert rule_group(0, 0, 1) == LATE_OR_MISSED
    assert rule_group(0, 0, 0) is None


def test_hours_buckets():
    cases = {0: "0–6 h", 5.99: "0–6 h", 6: "6–12 h", 23.99: "12–24 h", 24: "24–48 h"}
    cases.update({71.99: "48–72 h", 72: "72 h or more", 500: "72 h or more"})
    for hours, label in cases.items():
        assert hours_bucket(hours, unsent=False) == label
    assert hours_bucket(None, unsent=True) == NOT_SENT
    assert hours_bucket(None, unsent=False) is None


def test_reading_packs_the_measures_of_one_opportunity():
    per_rule = {"notes": (1, 0, 0), "check_in": (0, 0, 1), "thank_you_email": (0, 1, 0)}
    values = reading(per_rule, notes_same_day=1, outcome="rejected")
    assert values["band"] == "low"  # 1 of 3
    assert unpack(values["pair_compliance"]) == (1, 3)
    assert unpack(values["pair_notes"]) == (1, 1)
    assert unpack(values["pair_check_in"]) == (0, 1)
    assert unpack(values["pair_thanks"]) == (0, 0)
    assert unpack(values["pair_opps_b"]) == (1, 0)
    assert unpack(values["pair_outcome"]) == (0, 1)
    notes_bit = 1 << FACT_RULES.index("notes")
    assert values["ok_mask"] == notes_bit
    assert values["bad_mask"] == (1 << FACT_RULES.index("check_in")) | (
        1 << FACT_RULES.index("thank_you_email")
    )
    assert pack(2**31 - 1, 2**31 - 1) + pack(0, 0) == (2**31 - 1) << 32 | (2**31 - 1)


def test_offer_rate_from_counts_leaves_open_and_withdrawn_out():
    rate = offer_rate_from_counts({"offer": 2, "rejected": 2, "no_response": 1, "open": 9})
    assert (rate.numerator, rate.denominator) == (2, 5)
    rate = offer_rate_from_counts({"withdrawn": 3})
    assert rate.denominator == 0 and rate.value is None
