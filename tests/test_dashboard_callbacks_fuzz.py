"""Dash callbacks take hostile input calmly: malformed bodies get 400, odd values a message.

Posts go through the real /analytics/_dash-update-component route as admin, coach and
organiser (the guard, Dash's dispatch, the callbacks and the data layer), on whichever
engine the suite runs on: NUL bytes and ids beyond the column's range are what PostgreSQL
refuses, so they must be stopped before a query.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards import callbacks, data
from tests.dashboard_fixtures import NOW, build_six, cohort

ROUTE = "/analytics/_dash-update-component"
HOSTILE = [
    {"$gt": ""},
    ["2026-01-01", "2026-02-01"],
    "9" * 30_000,
    "2026-01-01\x00",
    "\x00",
    2**63,
    -1,
    True,
    1.5,
    None,
    "",
    [[1, 2], {"a": 1}],
    "<a href='https://evil.example/'>x</a>",
]


def payload(app, output: str, values=None) -> dict:
    """The body Dash's renderer would post for this callback, with `values` as inputs."""
    spec = app.extensions["dash"].callback_map[output]
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    declared = [{"id": o.component_id, "property": o.component_property} for o in outputs]
    values = values if values is not None else [None] * len(spec["inputs"])
    return {
        "output": output,
        "outputs": declared if isinstance(spec["output"], list) else declared[0],
        "inputs": [{**d, "value": v} for d, v in zip(spec["inputs"], values, strict=True)],
        "changedPropIds": [],
        "state": [],
    }


@pytest.fixture
def scene(world, monkeypatch):
    monkeypatch.setattr(data, "current_time", lambda: NOW)
    build_six(world.profile, world.client_user)
    mine = cohort(world, world.organizer, "Cohort A", world.profile)
    foreign = cohort(world, world.organizer2, "Cohort B", world.profile2)
    return {"mine": mine, "foreign": foreign}


def outputs_of(app):
    return list(app.extensions["dash"].callback_map)


@pytest.mark.parametrize(
    "body, kind",
    [
        ("not json at all", "text/plain"),
        ("{broken json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"a string"', "application/json"),
        ("{}", "application/json"),
        ('{"output": 5}', "application/json"),
        ('{"output": "no-such.figure", "inputs": []}', "application/json"),
    ],
)
def test_malformed_bodies_answer_400_with_a_clear_message(world, as_user, body, kind):
    response = as_user(world.coach).post(ROUTE, data=body, content_type=kind)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"] == "Bad Request"
    assert response.get_json()["message"].startswith("The callback body")


def test_bodies_of_the_wrong_shape_answer_400(app, world, as_user):
    browser = as_user(world.admin)
    good = payload(app, "fig-cohorts.figure")
    broken = [
        {**good, "inputs": good["inputs"][:-1]},  # one input missing
        {**good, "inputs": [*good["inputs"], good["inputs"][0]]},  # one too many
        {**good, "inputs": [{"id": "f-secret", "property": "value", "value": 1}] * 6},
        {**good, "inputs": "everything"},
        {**good, "inputs": [None] * 6},
        {k: v for k, v in good.items() if k != "outputs"},
        {**good, "outputs": {"id": "fig-coaches", "property": "figure"}},
        {**good, "state": [{"id": "f-dates", "property": "start_date"}]},
        {**good, "changedPropIds": "f-dates.start_date"},
        {**good, "changedPropIds": [{"nested": 1}]},
    ]
    for body in broken:
        response = browser.post(ROUTE, json=body)
        assert response.status_code == 400, body
        assert "callback body" in response.get_json()["message"]
    too_big = {**good, "padding": "x" * 70_000}
    assert browser.post(ROUTE, json=too_big).status_code == 400
    assert browser.post(ROUTE, json=good).status_code == 200


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_filter_values_get_a_message_not_an_error(app, world, scene, as_user, value):
    browser = as_user(world.coach)
    for position in range(6):
        values = [None] * 6
        values[position] = value
        for output in outputs_of(app):
            response = browser.post(ROUTE, json=payload(app, output, values[: _arity(app, output)]))
            assert response.status_code in (200, 204), (output, position, response.status_code)


def _arity(app, output):
    return len(app.extensions["dash"].callback_map[output]["inputs"])


def test_an_object_as_start_date_is_refused_in_words(world, scene):
    outputs = callbacks.overview_outputs(world.coach, {"$gt": ""}, None, None, None, None, None)
    assert "2026-05-31" in outputs[-1]
    assert callbacks.dates_note(world.organizer, {"$gt": ""}) == ""
    for value in (2**63, "99999999999999999999", -4, True, 1.5, {"id": 1}):
        with pytest.raises(data.FilterError):
            data.parse_filters(cohorts=[value])
    with pytest.raises(data.FilterError):
        data.parse_filters(industries=["Tech\x00"])
    with pytest.raises(data.FilterError):
        data.parse_filters(industries=["x"] * 500)


def test_a_foreign_cohort_id_yields_nothing(app, world, scene, as_user):
    # Cohort B is organizer2's, holding coach2's client: outside the organiser's and the
    # coach's scope (the admin of the same organisation does see it).
    foreign = data.Filters(cohorts=(scene["foreign"].id,))
    for who in ("organizer", "coach"):
        user = getattr(world, who)
        tiles = data.headline(user, foreign, NOW)
        assert set(tiles["den"]) <= {0, None} and set(tiles["opportunities"]) <= {0, None}, who
        assert data.by_cohort(user, foreign, NOW).empty, who
    assert data.by_cohort(world.admin, foreign, NOW)["cohort"].tolist() == ["Cohort B"]
    values = [None, None, [scene["foreign"].id], None, None, None]
    response = as_user(world.organizer).post(ROUTE, json=payload(app, "fig-cohorts.figure", values))
    assert response.status_code == 200
    assert "Cohort B" not in response.get_data(as_text=True)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["2026-01-05", "2026-02-30", "1", "3+", "Tech", "\x00", "9" * 40]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("who", ["admin", "coach", "organizer"])
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    choice=st.integers(min_value=0, max_value=20),
    values=st.lists(json_values, min_size=6, max_size=6),
    mangle=st.sampled_from(["none", "drop", "extra", "output", "raw"]),
    raw=json_values,
)
def test_fuzzed_callback_bodies_never_get_a_5xx(
    app, world, scene, as_user, who, choice, values, mangle, raw
):
    browser = as_user(getattr(world, who))
    outputs = outputs_of(app)
    output = outputs[choice % len(outputs)]
    body = payload(app, output, values[: _arity(app, output)])
    if mangle == "drop":
        body.pop(sorted(body)[choice % len(body)])
    elif mangle == "extra":
        body["inputs"].append({"id": "f-dates", "property": "start_date", "value": raw})
    elif mangle == "output":
        body["output"] = raw if not isinstance(raw, str) else raw + ".figure"
    elif mangle == "raw":
        body = raw
    response = browser.post(ROUTE, json=body)
    assert response.status_code < 500, (body, response.get_data(as_text=True)[:300])
    if response.status_code == 400:
        assert response.is_json and response.get_json()["message"]
