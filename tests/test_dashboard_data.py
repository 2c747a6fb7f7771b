"""The analytics data layer against a hand-worked fixture (tests/dashboard_fixtures.py).

The expected numbers are worked out by hand in the fixture's docstring and repeated here;
they are never computed by the code under test.
"""

import pytest
from sqlalchemy import func, select, update

from coach_app.extensions import db
from coach_app.models import FollowUpTask, OpportunityFact
from coach_app.playbook import wilson_interval
from coach_app.services import analytics_facts
from coach_app.services.followup import complete_task, record_outcome, waive_task
from dashboards import data
from tests.dashboard_fixtures import LATER, NOW, build_six, tasks
from tests.factories import interview_for


@pytest.fixture
def six(world):
    return build_six(world.profile, world.client_user)


def tile(frame, measure):
    return frame.set_index("measure").loc[measure]


def test_headline_tiles_match_the_hand_worked_numbers(world, six):
    tiles = data.headline(world.coach, now=NOW)
    expected = {
        "compliance": (29, 43, 6),
        "same_day_notes": (4, 6, 6),
        "check_in": (3, 5, 5),
        "rejection_thanks": (1, 2, 2),
        "offer": (2, 5, 5),
    }
    for measure, (num, den, opps) in expected.items():
        row = tile(tiles, measure)
        assert (row["num"], row["den"], row["opps"]) == (num, den, opps), measure
        assert row["rate"] == pytest.approx(num / den)
        low, high = wilson_interval(num, den)
        assert (row["low"], row["high"]) == pytest.approx((low, high))
    assert set(tiles["opportunities"]) == {6}


def test_open_tasks_turn_into_misses_with_time_without_any_write(world, six):
    before = db.session.scalar(select(func.max(OpportunityFact.updated_at)))
    tiles = data.headline(world.coach, now=LATER)
    # O6's 7 pending tasks are now missed; nothing was written in between.
    assert (tile(tiles, "compliance")["num"], tile(tiles, "compliance")["den"]) == (29, 50)
    assert (tile(tiles, "check_in")["num"], tile(tiles, "check_in")["den"]) == (3, 6)
    assert (tile(tiles, "same_day_notes")["num"], tile(tiles, "same_day_notes")["den"]) == (4, 6)
    assert db.session.scalar(select(func.max(OpportunityFact.updated_at))) == before


def test_offer_rate_by_compliance_band(world, six):
    bands = data.by_band(world.coach, now=NOW).set_index("band")
    assert bands.loc["high", ["opportunities", "offers"]].tolist() == [2, 2]
    assert bands.loc["medium", ["opportunities", "offers"]].tolist() == [2, 0]
    assert bands.loc["low", ["opportunities", "offers"]].tolist() == [1, 0]
    assert bands.loc["high", "offer_rate"] == 1.0
    assert (bands.loc["medium", "low"], bands.loc["medium", "high"]) == pytest.approx(
        wilson_interval(0, 2)
    )


def test_offer_rate_by_rule(world, six):
    rules = data.by_rule(world.coach, now=NOW).set_index(["rule", "group"])
    assert rules.loc[("notes", "all_on_time"), ["opportunities", "offers"]].tolist() == [3, 2]
    assert rules.loc[("notes", "late_or_missed"), ["opportunities", "offers"]].tolist() == [2, 0]
    assert rules.loc[("check_in", "all_on_time"), ["opportunities", "offers"]].tolist() == [3, 2]
    assert rules.loc[("thank_you_note", "late_or_missed"), "opportunities"] == 2
    assert rules.loc[("rejection_thanks", "all_on_time"), ["opportunities", "offers"]].tolist() == [
        1,
        0,
    ]
    assert rules.loc[("rejection_thanks", "late_or_missed"), "opportunities"] == 1
    assert rules.loc[("referral", "all_on_time"), "opportunities"] == 0
    assert rules.loc[("notes", "all_on_time"), "offer_rate"] == pytest.approx(2 / 3)


def test_hours_to_thank_you_by_outcome(world, six):
    hours = data.thank_you_hours(world.coach, now=NOW).set_index(["outcome", "hours"])
    assert hours.loc[("offer", "0–6 h"), "opportunities"] == 1
    assert hours.loc[("offer", "6–12 h"), "opportunities"] == 1
    assert hours.loc[("rejected", "12–24 h"), "opportunities"] == 1
    assert hours.loc[("rejected", "0–6 h"), "opportunities"] == 1
    assert hours.loc[("no_response", "not sent"), "opportunities"] == 1
    assert hours.loc[("offer", "0–6 h"), "share"] == 0.5
    assert hours["opportunities"].sum() == 5  # O6 is open: not a decided opportunity


def test_by_month_and_by_client(world, six):
    months = data.by_month(world.coach, now=NOW).set_index("month")
    assert months.loc["2026-01", ["compliance_num", "compliance_den"]].tolist() == [28, 42]
    assert months.loc["2026-02", ["compliance_num", "compliance_den"]].tolist() == [1, 1]
    assert months.loc["2026-01", ["offer_num", "offer_den"]].tolist() == [2, 5]
    clients = data.by_client(world.coach, now=NOW)
    assert clients["client"].tolist() == ["Cleo"]
    assert clients.iloc[0][["compliance_num", "compliance_den"]].tolist() == [29, 43]


def test_per_opportunity_table_has_one_row_per_decided_opportunity(world, six):
    table = data.opportunities(world.coach, now=NOW)
    assert table["opportunity_id"].tolist() == six.ids[:5]
    assert table["band"].tolist() == ["high", "high", "medium", "medium", "low"]
    assert table["compliance"].tolist() == pytest.approx([1, 1, 5 / 9, 7 / 9, 0])
    assert table["notes_same_day"].tolist() == [1, 1, 1, 0, 0]
    assert table["thank_you_hours"].tolist()[:4] == pytest.approx([2, 10, 20, 5])
    assert "client" not in table.columns  # ids only, no names


def test_filters_narrow_every_view(world, six):
    opportunity = db.session.get(type(six.opportunities[0]), six.ids[0])
    opportunity.industry = "software"
    db.session.commit()  # the listener updates the fact row
    only = data.Filters(industries=("software",))
    assert tile(data.headline(world.coach, only, NOW), "offer")["den"] == 1
    february = data.parse_filters(start="2026-02-01", end="2026-02-28")
    assert tile(data.headline(world.coach, february, NOW), "compliance")["den"] == 1
    assert data.headline(world.coach, data.Filters(rounds="2"), NOW)["den"].sum() == 0


def test_parse_filters_rejects_malformed_values():
    with pytest.raises(data.FilterError):
        data.parse_filters(start="31/12/2026")
    with pytest.raises(data.FilterError):
        data.parse_filters(cohorts=["x"])
    with pytest.raises(data.FilterError):
        data.parse_filters(start="2026-02-02", end="2026-02-01")
    with pytest.raises(data.FilterError):
        data.parse_filters(rounds="7")
    assert data.parse_filters(cohorts=["3", 3], rounds="3+").cohorts == (3,)


def test_facts_follow_every_change_when_it_commits_and_not_when_it_rolls_back(world, six):
    o5 = six.opportunities[4]
    waive_task(task=tasks(o5.id)["notes"], actor=world.coach, reason="no notes", now=NOW)
    db.session.rollback()
    fact = db.session.get(OpportunityFact, o5.id)
    assert (fact.notes_open, fact.all_open) == (1, 8)  # nothing leaked from the rollback
    waive_task(task=tasks(o5.id)["notes"], actor=world.coach, reason="no notes", now=NOW)
    db.session.commit()
    fact = db.session.get(OpportunityFact, o5.id)
    assert (fact.notes_open, fact.all_open) == (0, 7)
    assert (fact.band, fact.bad_mask & 1) == ("low", 0)  # notes no longer count against it


def test_completing_late_and_recording_outcomes_update_the_views(world, six):
    o6 = six.opportunities[5]
    email = tasks(o6.id)["thank_you_email"]
    complete_task(task=email, actor=world.client_user, completed_at=NOW, now=NOW)
    record_outcome(opportunity=o6, outcome="offer", actor=world.coach, now=NOW)
    db.session.commit()
    tiles = data.headline(world.coach, now=NOW)
    assert (tile(tiles, "offer")["num"], tile(tiles, "offer")["den"]) == (3, 6)
    # The decision waived O6's pending check-in: it counts nowhere.
    assert (tile(tiles, "check_in")["num"], tile(tiles, "check_in")["den"]) == (3, 5)
    assert (tile(tiles, "compliance")["num"], tile(tiles, "compliance")["den"]) == (30, 44)


def test_rebuild_gives_the_same_facts_as_the_listener(world, six):
    columns = [c for c in OpportunityFact.__table__.columns if c.name != "updated_at"]
    before = db.session.execute(select(*columns).order_by(OpportunityFact.opportunity_id)).all()
    db.session.execute(update(OpportunityFact).values(all_on_time=99))
    assert analytics_facts.rebuild_facts() == 6
    db.session.commit()
    after = db.session.execute(select(*columns).order_by(OpportunityFact.opportunity_id)).all()
    assert after == before


def test_paused_bulk_load_then_rebuild(world):
    with analytics_facts.paused():
        interview_for(world.profile, world.client_user)
    assert db.session.scalar(select(func.count()).select_from(OpportunityFact)) == 0
    analytics_facts.rebuild_facts(world.org.id)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OpportunityFact)) == 1
    assert db.session.scalar(select(func.count()).select_from(FollowUpTask)) == 8


def test_a_new_coach_moves_the_clients_facts(world, six):
    world.profile.coach_id = world.coach2.id
    db.session.commit()
    assert data.headline(world.coach, now=NOW)["den"].sum() == 0
    assert tile(data.headline(world.coach2, now=NOW), "offer")["den"] == 5


def test_a_decided_opportunity_with_tasks_not_yet_due_is_read_at_now(world, six):
    o6 = six.opportunities[5]
    record_outcome(opportunity=o6, outcome="rejected", actor=world.coach, now=NOW)
    db.session.commit()
    # O6: notes on time; contacts, next_step and the rejection thanks still pending at NOW
    # (the rejection waived the check-in, second interview, email, note and gift).
    table = data.opportunities(world.coach, now=NOW).set_index("opportunity_id")
    assert table.loc[o6.id, ["on_time", "late", "missed"]].tolist() == [1, 0, 0]
    assert table.loc[o6.id, "band"] == "high"
    later = data.opportunities(world.coach, now=LATER).set_index("opportunity_id")
    assert later.loc[o6.id, ["on_time", "late", "missed"]].tolist() == [1, 0, 3]
    assert later.loc[o6.id, "band"] == "low"
    bands = data.by_band(world.coach, now=NOW).set_index("band")
    assert bands.loc["high", "opportunities"] == 3  # O1, O2 and O6 (1 of 1 counted)
    assert data.by_band(world.coach, now=LATER).set_index("band").loc["low", "opportunities"] == 2


def test_the_per_opportunity_table_pages_add_up(world, six):
    pages = list(data.opportunity_pages(world.admin, now=NOW, page_size=2))
    assert [len(p) for p in pages] == [2, 2, 1]
    whole = data.opportunities(world.admin, now=NOW)
    paged = "".join(page.to_csv(index=False, header=i == 0) for i, page in enumerate(pages))
    assert paged == whole.to_csv(index=False)
