"""Scope by role, enforced in the data layer and visible in the callbacks' outputs.

coach's client Cleo has the six hand-worked opportunities (tests/dashboard_fixtures.py);
coach2's client Kit has two more (one offer, one open). Cohort A (organizer) holds Cleo,
cohort B (organizer2) holds Kit.
"""

from datetime import timedelta

import pytest
from plotly.io.json import to_json_plotly

from coach_app.services.followup import record_outcome
from dashboards import callbacks, data
from tests.dashboard_fixtures import END, NOW, START, build_six, cohort
from tests.factories import interview_for

NO_FILTERS = (None, None, None, None, None, None)


@pytest.fixture
def scene(world):
    six = build_six(world.profile, world.client_user)
    first = interview_for(
        world.profile2, world.client2_user, start_at=START, company="Kit Co", now=END
    )
    record_outcome(
        opportunity=first.opportunity, outcome="offer", actor=world.coach2, now=NOW - timedelta(1)
    )
    interview_for(world.profile2, world.client2_user, start_at=START, company="Kit Two", now=END)
    cohort_a = cohort(world, world.organizer, "Cohort A", world.profile)
    cohort_b = cohort(world, world.organizer2, "Cohort B", world.profile2)
    return {"six": six, "a": cohort_a, "b": cohort_b}


def counts(user, measure="offer", filters=None):
    row = data.headline(user, filters, NOW).set_index("measure").loc[measure]
    return row["num"], row["den"]


def test_each_role_sees_its_own_scope(world, scene):
    assert counts(world.coach) == (2, 5)
    assert counts(world.coach2) == (1, 1)
    assert counts(world.admin) == (3, 6)
    assert counts(world.foreign_admin) == (0, 0)
    assert counts(world.foreign_coach) == (0, 0)
    # Cohort A is Cleo alone: six opportunities, but one client, so "too few" (PLAYBOOK.md).
    assert counts(world.organizer, "compliance") == (None, None)
    assert data.headline(world.admin, None, NOW)["opportunities"].iloc[0] == 8


def test_filters_never_widen_the_scope(world, scene):
    sneaky = data.Filters(cohorts=(scene["b"].id,))
    assert data.headline(world.organizer, sneaky, NOW)["too_few"].all()
    assert data.by_cohort(world.organizer, sneaky, NOW).empty
    assert counts(world.admin, "compliance", sneaky)[1] > 0  # cohort B has data to leak
    assert counts(world.coach, filters=data.Filters(coaches=(world.coach2.id,))) == (0, 0)
    assert counts(world.admin, filters=data.Filters(cohorts=(scene["a"].id,))) == (2, 5)
    foreign = data.Filters(cohorts=(scene["a"].id,))
    assert counts(world.foreign_admin, filters=foreign) == (0, 0)


def test_organizer_with_one_client_sees_only_too_few_however_many_opportunities(world, scene):
    tiles = data.headline(world.organizer, None, NOW).set_index("measure")
    assert tiles["too_few"].all()  # six opportunities, one client
    assert tiles.loc["compliance", ["num", "den", "opps", "rate"]].tolist() == [None] * 4
    assert tiles["opportunities"].isna().all()
    bands = data.by_band(world.organizer, None, NOW)
    assert bands["too_few"].all() and bands["offer_rate"].isna().all()
    assert bands["offers"].isna().all()
    rules = data.by_rule(world.organizer, None, NOW)
    assert rules["too_few"].all() and rules["offers"].isna().all()
    months = data.by_month(world.organizer, None, NOW).set_index("month")
    assert months["too_few"].all() and months["compliance_num"].isna().all()
    cohorts = data.by_cohort(world.organizer, None, NOW)
    assert cohorts["cohort"].tolist() == ["Cohort A"]  # never organizer2's cohort
    assert cohorts["too_few"].all()
    # The admin sees the same cohort's figures: the data is there, only hidden.
    admin = data.by_cohort(world.admin, None, NOW).set_index("cohort")
    assert admin.loc["Cohort A", ["compliance_num", "compliance_den"]].tolist() == [29, 43]


def test_organizer2_with_two_opportunities_sees_only_too_few(world, scene):
    tiles = data.headline(world.organizer2, None, NOW)
    assert tiles["too_few"].all()
    assert tiles["num"].isna().all() and tiles["opportunities"].isna().all()
    cohorts = data.by_cohort(world.organizer2, None, NOW)
    assert cohorts["cohort"].tolist() == ["Cohort B"]
    assert bool(cohorts.iloc[0]["too_few"]) and cohorts.iloc[0]["offer_num"] is None


def test_per_client_and_per_opportunity_rows_are_refused_to_organizers(world, scene):
    for view in (data.by_client, data.opportunities, data.by_coach):
        with pytest.raises(data.AnalyticsAccessError):
            view(world.organizer, None, NOW)
    with pytest.raises(data.AnalyticsAccessError):
        data.by_coach(world.coach, None, NOW)
    for view in (data.headline, data.by_cohort, data.overview):
        with pytest.raises(data.AnalyticsAccessError):
            view(world.client_user, None, NOW)


def all_outputs(user):
    return [
        callbacks.overview_outputs(user, *NO_FILTERS, now=NOW),
        callbacks.cohort_outputs(user, *NO_FILTERS, now=NOW),
        callbacks.coach_outputs(user, *NO_FILTERS, now=NOW),
        callbacks.client_outputs(user, *NO_FILTERS, now=NOW, client_url=lambda i: f"/c/{i}"),
    ]


@pytest.mark.parametrize("who", ["organizer", "organizer2"])
def test_organizer_callback_outputs_carry_no_names(app, world, scene, who):
    text = to_json_plotly(all_outputs(getattr(world, who)))
    for name in ("Cleo", "Kit", "client@acme", "client2@acme", "Cora", "Cole"):
        assert name not in text
    assert "too few" in text
    assert "Associations, not causes" in text


def test_coach_callbacks_show_own_clients_only(app, world, scene):
    with app.test_request_context():
        overview, cohorts_fig, coaches_fig, (rows, caption) = all_outputs(world.coach)
    assert [r["client_id"] for r in rows] == [world.profile.id]
    assert rows[0]["client"] == f"[Cleo](/c/{world.profile.id})"
    assert rows[0]["offers"] == 2 and rows[0]["decided"] == 5
    text = to_json_plotly([overview, cohorts_fig, coaches_fig, rows])
    assert "Kit" not in text and "Cole" not in text
    assert "Only admins compare coaches" in text


def test_admin_compares_coaches_and_lists_one_coachs_clients(app, world, scene):
    coaches = data.by_coach(world.admin, None, NOW).set_index("coach")
    assert coaches.loc["Cora Coach", ["offer_num", "offer_den"]].tolist() == [2, 5]
    assert coaches.loc["Cole Coach", ["offer_num", "offer_den"]].tolist() == [1, 1]
    rows, caption = callbacks.client_outputs(world.admin, *NO_FILTERS, now=NOW)
    assert rows == [] and "Choose one coach" in caption
    values = (None, None, None, [world.coach2.id], None, None)
    rows, _ = callbacks.client_outputs(world.admin, *values, now=NOW, client_url=str)
    assert [r["client_id"] for r in rows] == [world.profile2.id]


def test_client_names_are_escaped_in_the_table_markdown(app, world, scene):
    world.client_user.name = "Eve](javascript:alert(1))"
    rows, _ = callbacks.client_outputs(world.coach, *NO_FILTERS, now=NOW, client_url=str)
    assert rows[0]["client"].startswith(r"[Eve\]\(javascript:alert\(1\)\)]")


def test_malformed_filters_answer_with_a_message(world, scene):
    outputs = callbacks.overview_outputs(world.coach, "nonsense", None, None, None, None, None)
    assert "2026-05-31" in outputs[-1]
