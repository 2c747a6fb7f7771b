"""What people typed never becomes markup in a chart (plotly renders <a>, <b>, <br>...)."""

import json

import pandas as pd
from plotly.io.json import to_json_plotly

from dashboards import callbacks, data, figures
from tests.dashboard_fixtures import NOW, build_six, cohort

EVIL = '<a href="https://evil.example/">x</a>'


def assert_inert(figure) -> None:
    text = to_json_plotly(figure)
    assert "<a" not in text and "</a>" not in text and 'evil.example/\\">' not in text
    assert "&lt;a href=" in text


def test_the_helper_escapes_strings_and_lists():
    assert figures.escape_label("R&D <b>") == "R&amp;D &lt;b&gt;"
    assert figures.escape_label(["<i>", 3, None, ["<br>"]]) == [
        "&lt;i&gt;",
        3,
        None,
        ["&lt;br&gt;"],
    ]
    assert figures.escape_label(4.5) == 4.5


def test_a_cohort_name_is_inert_in_the_cohort_chart(world, monkeypatch):
    monkeypatch.setattr(data, "current_time", lambda: NOW)
    build_six(world.profile, world.client_user)
    cohort(world, world.organizer, EVIL, world.profile)
    for user in (world.admin, world.coach, world.organizer):
        figure = callbacks.cohort_outputs(user, *(None,) * 6, now=NOW)
        assert_inert(figure)
        inert = '&lt;a href="https://evil.example/"&gt;x&lt;/a&gt;'
        assert figure["data"][0]["y"] == [inert]  # bars are horizontal: cohorts on y
        # The tick label is the same inert text, wrapped with our own <br> between words.
        (tick,) = figure["layout"]["yaxis"]["ticktext"]
        assert tick.replace("<br>", " ") == inert


def test_every_figure_escapes_its_data():
    frame = pd.DataFrame(
        {
            "cohort": [EVIL],
            "coach": [EVIL],
            "opportunities": [9],
            **{f"{m}_{p}": [1] for m in data.MEASURES for p in ("num", "den")},
            **{f"{m}_{p}": [0.5] for m in data.MEASURES for p in ("rate", "low", "high")},
        }
    )
    assert_inert(figures.cohorts_figure(frame))
    coaches = figures.coaches_figure(frame)
    assert_inert(coaches)
    assert "%{text}" in coaches["data"][0]["hovertemplate"]  # the hover shows the escaped name
    months = frame.assign(month=[EVIL])
    assert_inert(figures.months_figure(months))


def test_a_filter_error_naming_the_input_is_inert(world):
    message = callbacks.cohort_outputs(world.coach, EVIL, None, None, None, None, None)
    text = json.dumps(message)
    assert "<a" not in text
    assert figures.message_figure(EVIL)["layout"]["annotations"][0]["text"].startswith("&lt;a")
