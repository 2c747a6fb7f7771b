"""Issue 14, item 6: every chart readable (12 px or more), intervals drawn where the captions
promise them, coach points labelled and sized by their counts, small samples flagged, the
table in the portal's font, one instruction in the clients section.

The browser half (rendered sizes, drawn error bars) is tests/browser/test_dashboard_legibility
_in_browser.py; these check the figures and components the callbacks hand to the browser.
"""

import re

import pandas as pd
import pytest
from plotly.io.json import to_json_plotly

from coach_app.playbook import wilson_interval
from coach_app.playbook.analytics import HOURS_LABELS, SMALL_SAMPLE, is_small_sample
from dashboards import callbacks, data, figures, layout
from tests.dashboard_fixtures import NOW, build_six, cohort

MIN_PX = 12


def font_sizes(node, path="figure") -> list[tuple[str, float]]:
    """Every font size a figure sets: `size` under any *font key, font-size in markup."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("font") and isinstance(value, dict) and "size" in value:
                sizes = value["size"] if isinstance(value["size"], list) else [value["size"]]
                found += [(f"{path}.{key}", size) for size in sizes]
            found += font_sizes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += font_sizes(value, f"{path}[{i}]")
    elif isinstance(node, str):
        found += [(path, float(s)) for s in re.findall(r"font-size:\s*([\d.]+)px", node)]
    return found


def assert_readable(fig: dict) -> None:
    """No text below MIN_PX: explicit sizes, the default, markup, and plotly's shrinking."""
    layout_ = fig["layout"]
    assert layout_["font"]["size"] >= MIN_PX
    sizes = font_sizes(fig)
    assert sizes, "the figure sets its font sizes"
    small = [(where, size) for where, size in sizes if size < MIN_PX]
    assert not small, small
    # Plotly shrinks bar text that does not fit; uniformtext puts a floor under that.
    assert layout_["uniformtext"] == {"minsize": MIN_PX, "mode": "show"}
    # <sub>/<sup> render at about 70 % of their line (the old subtitle was 10.5 px).
    text = to_json_plotly(fig)
    assert "<sup>" not in text and "<sub>" not in text
    # Legends below the plot, horizontal, so a legend wrapping on a phone grows away from
    # the title; titles push the top margin instead of overlapping the plot.
    assert layout_["legend"]["orientation"] == "h"
    assert layout_["legend"]["yanchor"] == "bottom" and layout_["legend"]["y"] == 0
    assert layout_["title"]["automargin"] is True
    assert layout_["xaxis"]["automargin"] and layout_["yaxis"]["automargin"]
    # Titles are wrapped for a phone's width: no line longer than TITLE_WRAP/NOTE_WRAP.
    lines = re.sub(r"<span[^>]*>|</span>", "", layout_["title"]["text"]).split("<br>")
    assert max(len(line) for line in lines) <= figures.NOTE_WRAP
    assert not [line for line in lines if line.startswith(("%", "="))]


def title_text(fig: dict) -> str:
    """The title as a reader sees it: markup and line breaks gone, spaces plain."""
    text = re.sub(r"<span[^>]*>|</span>", "", fig["layout"]["title"]["text"])
    return text.replace("<br>", " ").replace("\u00a0", " ")


def _rate(num: int, den: int) -> dict:
    low, high = wilson_interval(num, den) or (None, None)
    return {"rate": num / den if den else None, "low": low, "high": high}


def measure_frame(key: str, labels: list[str], dens: list[int]) -> pd.DataFrame:
    """A frame like data.by_cohort / by_month / by_coach: every measure, den per row."""
    rows = []
    for label, den in zip(labels, dens, strict=True):
        row = {key: label, "opportunities": den}
        for measure in data.MEASURES:
            num = den // 2
            rate = _rate(num, den)
            row.update({f"{measure}_num": num, f"{measure}_den": den, f"{measure}_opps": den})
            row.update({f"{measure}_{part}": value for part, value in rate.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def offer_frame(keys: list[dict], dens: list[int]) -> pd.DataFrame:
    """A frame like data.by_band / by_rule: offers of decided opportunities per row."""
    rows = []
    for key, den in zip(keys, dens, strict=True):
        num = den // 3
        rate = _rate(num, den)
        rows.append(
            {
                **key,
                "opportunities": den,
                "offers": num,
                "offer_rate": rate["rate"],
                "low": rate["low"],
                "high": rate["high"],
            }
        )
    return pd.DataFrame(rows)


def bands_frame(dens=(25, 7, 0)) -> pd.DataFrame:
    return offer_frame([{"band": b} for b in ("low", "medium", "high")], list(dens))


def rules_frame(small_rule="contacts") -> pd.DataFrame:
    keys, dens = [], []
    for rule in ("notes", "contacts", "thank_you_email"):
        for group in ("all_on_time", "late_or_missed"):
            keys.append({"rule": rule, "title": figures.rule_title(rule), "group": group})
            dens.append(4 if rule == small_rule and group == "all_on_time" else 30)
    return offer_frame(keys, dens)


def hours_frame(totals=None) -> pd.DataFrame:
    totals = totals or {"offer": 12, "rejected": 20, "no_response": 6}
    rows = []
    for outcome, total in totals.items():
        for i, label in enumerate(HOURS_LABELS):
            count = total if i == 1 else 0
            rate = _rate(count, total)
            rows.append(
                {
                    "outcome": outcome,
                    "hours": label,
                    "opportunities": count,
                    "outcome_total": total,
                    "share": rate["rate"],
                    "low": rate["low"],
                    "high": rate["high"],
                }
            )
    return pd.DataFrame(rows)


def every_figure() -> dict[str, dict]:
    coaches = measure_frame("coach", ["Ann", "Bo", "Cy"], [3, 12, 40])
    return {
        "bands": figures.bands_figure(bands_frame()),
        "rules": figures.rules_figure(rules_frame()),
        "hours": figures.hours_figure(hours_frame()),
        "months": figures.months_figure(measure_frame("month", ["2026-01", "2026-02"], [4, 30])),
        "cohorts": figures.cohorts_figure(measure_frame("cohort", ["Spring", "Summer"], [8, 50])),
        "coaches": figures.coaches_figure(coaches),
    }


# --- readable at every size ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(every_figure()))
def test_every_figure_draws_no_text_below_12_px(name):
    assert_readable(every_figure()[name])


def test_every_text_trace_sets_a_readable_font():
    for name, fig in every_figure().items():
        for trace in fig["data"]:
            if "text" in str(trace.get("mode", "")) or trace.get("textposition") not in (
                None,
                "none",
            ):
                assert trace["textfont"]["size"] >= MIN_PX, name


def test_the_empty_and_message_figures_are_readable_too():
    for fig in (
        figures.bands_figure(bands_frame((0, 0, 0))),
        figures.months_figure(measure_frame("month", [], [])),
        figures.coaches_figure(measure_frame("coach", [], [])),
    ):
        assert_readable(fig)


def test_bar_labels_sit_beside_the_interval_not_on_the_bar():
    """The 7 px labels of issue 14 were plotly shrinking text onto narrow bars: labels are now
    their own text trace at each bar's upper Wilson bound, in the bar's offset group."""
    fig = figures.rules_figure(rules_frame())
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    labels = [t for t in fig["data"] if t.get("mode") == "text"]
    assert len(bars) == len(labels) == 2
    for bar, label in zip(bars, labels, strict=True):
        assert bar["orientation"] == "h" and bar["textposition"] == "none"
        assert label["offsetgroup"] == bar["offsetgroup"]
        assert label["y"] == bar["y"]
        for value, plus, end in zip(bar["x"], bar["error_x"]["array"], label["x"], strict=True):
            assert end == pytest.approx(value + plus, abs=0.11)
    assert fig["layout"]["scattermode"] == "group"
    # One bar slot per bar: the figure grows with the rules instead of squeezing them.
    assert fig["layout"]["height"] >= figures.BAR_SLOT * 6


# --- intervals where the captions promise them ---------------------------------------------


def _has_interval(errors: dict) -> bool:
    return errors["type"] == "data" and any(v is not None for v in errors["array"])


def test_every_figure_that_says_wilson_intervals_draws_them():
    for name, fig in every_figure().items():
        assert "95 % Wilson intervals" in title_text(fig), name
        drawn = [
            trace
            for trace in fig["data"]
            if any(
                _has_interval(trace.get(k, {"type": "-", "array": []}))
                for k in ("error_x", "error_y")
            )
        ]
        assert drawn, name


def test_hours_months_and_coaches_draw_wilson_bounds_from_the_data_layer(world):
    build_six(world.profile, world.client_user)
    overview = data.overview(world.coach, now=NOW)
    hours = figures.hours_figure(overview["hours"])
    frame = overview["hours"]
    for trace, outcome in zip(hours["data"], figures.OUTCOME_LABELS, strict=True):
        part = frame[frame["outcome"] == outcome].set_index("hours").reindex(list(HOURS_LABELS))
        for share, count, total, plus, minus in zip(
            trace["y"],
            part["opportunities"],
            part["outcome_total"],
            trace["error_y"]["array"],
            trace["error_y"]["arrayminus"],
            strict=True,
        ):
            if not total:
                assert plus is None
                continue
            low, high = wilson_interval(int(count), int(total))
            assert share + plus == pytest.approx(high * 100, abs=0.11)
            assert share - minus == pytest.approx(low * 100, abs=0.11)
    months = figures.months_figure(overview["months"])
    assert all(_has_interval(trace["error_y"]) for trace in months["data"][:4])
    coaches = figures.coaches_figure(data.by_coach(world.admin, now=NOW))
    (point,) = coaches["data"]
    assert _has_interval(point["error_x"]) and _has_interval(point["error_y"])


def test_the_hours_intervals_are_blanked_with_the_rest_for_organisers(world):
    """One client's opportunities are too few for an organiser: the new bounds are blank
    too, so the whiskers give nothing away that the shares would not."""
    build_six(world.profile, world.client_user)
    cohort(world, world.organizer, "Spring", world.profile)
    admin = data.thank_you_hours(world.admin, now=NOW)
    assert admin["low"].notna().any() and admin["high"].notna().any()
    organizer = data.thank_you_hours(world.organizer, now=NOW)
    assert organizer["too_few"].all()
    assert organizer["low"].isna().all() and organizer["high"].isna().all()
    fig = figures.hours_figure(organizer)
    assert all(v is None for t in fig["data"] for v in t["error_y"]["array"])


# --- coach points labelled and sized by their counts ---------------------------------------


def test_coach_points_are_labelled_and_their_area_follows_decided_opportunities():
    frame = measure_frame("coach", ["Ann <b>", "Bo", "Cy"], [3, 12, 40])
    fig = figures.coaches_figure(frame)
    (point,) = fig["data"]
    assert "text" in point["mode"] and point["textfont"]["size"] >= MIN_PX
    assert point["text"] == ["Ann &lt;b&gt;", "Bo", "Cy"]  # escaped
    marker = point["marker"]
    assert marker["sizemode"] == "area"
    assert marker["size"] == [3, 12, 40]
    # plotly: diameter = sqrt(size / sizeref); the largest coach gets COACH_MAX_PX.
    # plotly draws an area-sized marker sqrt(2 * size / sizeref) px across (its documented
    # sizeref = 2 * max / max_px ** 2 gives the largest max_px); the browser test measures it.
    diameters = [(2 * s / marker["sizeref"]) ** 0.5 for s in marker["size"]]
    assert diameters == sorted(diameters) and len(set(diameters)) == 3
    assert diameters[-1] == pytest.approx(figures.COACH_MAX_PX)
    assert "point area: decided opportunities (largest 40)" in title_text(fig)
    assert "decided opportunities" in point["hovertemplate"]


# --- small samples -------------------------------------------------------------------------


def test_the_small_sample_threshold_is_one_playbook_constant():
    assert SMALL_SAMPLE == 10
    assert [is_small_sample(n) for n in (None, 0, 1, 9, 10, 11)] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]


def _flags(fig: dict) -> list[tuple[str, bool]]:
    """(label, flagged) per bar: hatched and said in the label beside it."""
    out = []
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    labels = [t for t in fig["data"] if t.get("mode") == "text"]
    for bar, label in zip(bars, labels, strict=True):
        shapes = bar["marker"]["pattern"]["shape"]
        for text, shape, template in zip(label["text"], shapes, label["texttemplate"], strict=True):
            said = figures.SMALL_LABEL in template
            assert (shape == "/") == said, text
            out.append((text, said))
    return out


def test_bars_under_ten_are_hatched_and_say_small_sample_and_others_do_not():
    bands = dict(_flags(figures.bands_figure(bands_frame((25, 7, 0)))))
    assert bands == {"32 % (8/25)": False, "29 % (2/7)": True, "— (0/0)": False}
    rules = _flags(figures.rules_figure(rules_frame("contacts")))
    assert [t for t, flagged in rules if flagged] == ["25 % (1/4)"]
    cohorts = _flags(figures.cohorts_figure(measure_frame("cohort", ["A", "B"], [9, 10])))
    assert {flagged for t, flagged in cohorts if t.endswith("/9)")} == {True}
    assert {flagged for t, flagged in cohorts if t.endswith("/10)")} == {False}
    fig = figures.bands_figure(bands_frame((25, 7, 0)))
    assert "n < 10, a small sample" in title_text(fig)
    assert "small sample" not in title_text(figures.bands_figure(bands_frame((25, 30, 10))))


def test_too_few_groups_are_not_called_small_samples():
    frame = bands_frame((25, 7, 3)).astype({"opportunities": "object"})
    frame["too_few"] = [False, False, True]
    frame.loc[2, ["opportunities", "offers", "offer_rate", "low", "high"]] = None
    flags = _flags(figures.bands_figure(frame))
    assert flags[2] == ("too few", False)


def test_hours_months_and_coaches_flag_small_samples():
    hours = figures.hours_figure(hours_frame({"offer": 12, "rejected": 20, "no_response": 6}))
    names = [t["name"] for t in hours["data"]]
    assert names == ["offer (n = 12)", "rejected (n = 20)", "no response (n = 6, small sample)"]
    assert [t["marker"]["pattern"]["shape"] for t in hours["data"]] == ["", "", "/"]
    months = figures.months_figure(measure_frame("month", ["2026-01", "2026-02"], [4, 30]))
    for trace in months["data"]:
        assert trace["marker"]["symbol"] == ["circle-open", "circle"]
        assert figures.SMALL_LABEL in trace["customdata"][0]
        assert figures.SMALL_LABEL not in trace["customdata"][1]
    coaches = figures.coaches_figure(measure_frame("coach", ["Ann", "Bo"], [3, 12]))
    assert coaches["data"][0]["marker"]["symbol"] == ["circle-open", "circle"]


def _tile(cards, measure):
    for card in cards:
        found = _find(card, f"tile-{measure}-value")
        if found is not None:
            return card
    raise AssertionError(measure)


def _find(component, component_id):
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found = _find(child, component_id)
            if found is not None:
                return found
    return None


def test_tiles_flag_small_samples_only():
    frame = pd.DataFrame(
        [
            {"measure": "compliance", "label": "Compliance", "num": 0, "den": 2, "opps": 1},
            {"measure": "offer", "label": "Offer rate", "num": 4, "den": 10, "opps": 10},
            {"measure": "check_in", "label": "Check-in rate", "num": 0, "den": 0, "opps": 0},
        ]
    )
    for part in ("rate", "low", "high"):
        frame[part] = [None, 0.4, None]
    frame.loc[0, ["rate", "low", "high"]] = [0.0, *wilson_interval(0, 2)]
    cards = layout.tiles(frame)
    small = _find(_tile(cards, "compliance"), "tile-compliance-small")
    assert small is not None and small.children == "small sample"
    assert _find(_tile(cards, "offer"), "tile-offer-small") is None
    assert _find(_tile(cards, "check_in"), "tile-check_in-small") is None


def test_the_coachs_tiles_on_the_six_opportunity_fixture_are_flagged(world):
    build_six(world.profile, world.client_user)
    cards = callbacks.overview_outputs(world.coach, *(None,) * 6, now=NOW)[0]
    # Offer rate 2 of 5: a small sample; compliance 29 of 43: not.
    assert _find(_tile(cards, "offer"), "tile-offer-small") is not None
    assert _find(_tile(cards, "compliance"), "tile-compliance-small") is None


# --- the table and the clients section -----------------------------------------------------


def test_the_client_table_uses_the_portals_font_with_numbers_right_aligned():
    table = _find(layout.build("admin"), "client-table")
    assert "monospace" not in table.style_cell["fontFamily"]
    assert table.style_cell["fontFamily"].startswith("system-ui")
    assert table.style_cell["textAlign"] == "right"
    assert table.style_cell_conditional == [{"if": {"column_id": "client"}, "textAlign": "left"}]
    numeric = [c["id"] for c in layout.CLIENT_COLUMNS if c.get("type") == "numeric"]
    assert numeric and "client" not in numeric


def test_the_clients_section_says_its_instruction_once(app, world):
    section = to_json_plotly(_find(layout.build("admin"), "sec-clients").to_plotly_json())
    assert "choose one coach" not in section.lower()  # the caption says it, from the callback
    with app.test_request_context():
        rows, caption = callbacks.client_outputs(world.admin, *(None,) * 6, now=NOW)
        assert rows == [] and caption == callbacks.CHOOSE_ONE_COACH
        rows, caption = callbacks.client_outputs(world.coach, *(None,) * 6, now=NOW)
    assert rows == [] and caption == callbacks.NO_CLIENTS
