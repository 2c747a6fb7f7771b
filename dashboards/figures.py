"""Plotly figures from the data layer's DataFrames.

Every figure names the number of opportunities it rests on in its title and carries the note
that these are associations, not causes. Groups the data layer blanked for organizers
(dashboards/privacy.py) are drawn as an empty slot labelled "too few". Text that people
typed reaches plotly only through escape_label.
"""

import math
import textwrap

import pandas as pd

from coach_app.playbook import RULES, Rate, Rule
from coach_app.playbook.analytics import (
    ALL_ON_TIME,
    HOURS_LABELS,
    LATE_OR_MISSED,
    SMALL_SAMPLE,
    is_small_sample,
)
from dashboards.data import MEASURES, NOTE, TOO_FEW

NOTE_SHORT = "associations, not causes"

GROUP_LABELS = {ALL_ON_TIME: "every task on time", LATE_OR_MISSED: "at least one late or missed"}
OUTCOME_LABELS = {"offer": "offer", "rejected": "rejected", "no_response": "no response"}
COLORS = ["#2f6f9f", "#d98c2b", "#5a9a5a", "#a2504f", "#7d6aa8"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value) -> float | None:
    """A proportion as a percentage for plotting, None when there is no value."""
    return None if _missing(value) else round(float(value) * 100, 1)


def rate_text(num, den, too_few=False) -> str:
    """ "40 % (2/5)", "—" when nothing was counted, or "too few" for small organizer groups."""
    if too_few:
        return TOO_FEW
    if _missing(num) or _missing(den):
        return "—"
    rate = Rate(int(num), int(den))
    return f"{rate.display()} ({rate.numerator}/{rate.denominator})"


def _too_few(frame: pd.DataFrame) -> pd.Series:
    if "too_few" in frame.columns:
        return frame["too_few"].fillna(False).astype(bool)
    return pd.Series(False, index=frame.index)


# Trace properties that carry data into the chart: plotly renders a subset of HTML (<a>,
# <b>, <br>, <span style>...) in them, in tick labels, legends and hover texts.
TEXT_PROPERTIES = ("x", "y", "text", "customdata", "hovertext", "name", "labels", "ids")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape_label(value):
    """What people typed, made inert for plotly: & < > as entities (plotly shows them as the
    characters but never parses them as tags), in strings and in lists of them."""
    if isinstance(value, str):
        return value.translate(_ENTITIES)
    if isinstance(value, list | tuple):
        return [escape_label(v) for v in value]
    return value


def _escape_trace(trace: dict) -> dict:
    return {k: escape_label(v) if k in TEXT_PROPERTIES else v for k, v in trace.items()}


def _figure(*traces) -> dict:
    # Plain dicts, which dcc.Graph takes as they are: building plotly.graph_objects validates
    # every property and costs tens of milliseconds per figure, per callback. Every trace
    # passes through the one escaping helper, so no figure can forget it.
    return {"data": [_escape_trace(t) for t in traces if t is not None], "layout": {}}


def add_trace(fig: dict, trace: dict) -> None:
    """Append a trace to a figure, escaped like the ones given to _figure."""
    fig["data"].append(_escape_trace(trace))


def message_figure(message: str) -> dict:
    """An empty chart that says why (a filter error, a view not for this role)."""
    return {
        "data": [],
        "layout": {
            "annotations": [
                {
                    "text": escape_label(message),
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                }
            ],
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "height": 200,
        },
    }


# --- legibility (issue 14) ------------------------------------------------------------------
# The charts use the portal's font (Bootstrap's system stack) and never draw text smaller than
# MIN_FONT px, at 1366 px or on a 390 px phone: titles are wrapped for a phone's width (plotly
# does not wrap), legends sit below the plot, margins grow with what they hold (automargin),
# and bar labels are drawn beside each bar's interval instead of being squeezed onto the bar.
FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", '
    '"Liberation Sans", Arial, sans-serif'
)
MIN_FONT = 12
FONT = 13
TITLE_FONT = 16
TITLE_WRAP = 34  # characters per title line: about 300 px at 16 px, a phone's chart width
NOTE_WRAP = 46  # the same width at 12 px
BAR_SLOT = 24  # px per horizontal bar: room for a 13 px label beside it
BAR_SLOT_FLAGGED = 32  # room for a label on two lines ("small sample" under the rate)
HBAR_OVERHEAD = 320
TICK_WRAP = 16  # category labels on two lines where long, leaving a phone room for the bars
CHAR_PX = 7.2  # an upper estimate of a 13 px character's width, to reserve room for labels
INK = "#212529"
WHISKER = "#343a40"
SMALL_LABEL = "small sample"
SMALL_NOTE = f"hatched or open: n < {SMALL_SAMPLE}, a small sample"


def small_sample(n) -> bool:
    """True for a count behind a rate that is shown but flagged (playbook SMALL_SAMPLE)."""
    return not _missing(n) and is_small_sample(int(n))


_KEEP_TOGETHER = {" %": "\u00a0%", "n = ": "n\u00a0=\u00a0", " < ": " <\u00a0", " ≥ ": " ≥\u00a0"}


def _wrap(text: str, width: int) -> list[str]:
    # No line starts with "%" or "= 7": textwrap breaks only at ASCII spaces, not at NBSP.
    for plain, joined in _KEEP_TOGETHER.items():
        text = text.replace(plain, joined)
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _title(title: str, subtitle: str) -> str:
    # Code's own text only (no names): plotly's <br> and <span> markup is ours to use here.
    lines = "<br>".join(_wrap(title, TITLE_WRAP))
    notes = "<br>".join(
        f'<span style="font-size:{MIN_FONT}px">{line}</span>' for line in _wrap(subtitle, NOTE_WRAP)
    )
    return f"{lines}<br>{notes}"


def _layout(
    fig: dict,
    title: str,
    n,
    *,
    unit="opportunities",
    y_title="%",
    intervals="bars: 95 % Wilson intervals",
    notes=(),
    height=440,
) -> dict:
    count = "too few" if n is None else f"n = {n:,} {unit}"
    subtitle = " · ".join(p for p in (count, intervals, *notes, NOTE_SHORT) if p)
    axis = {
        "automargin": True,
        "gridcolor": "#e5e5e5",
        "tickfont": {"size": FONT},
        "title": {"font": {"size": FONT}},
    }
    layout = fig["layout"]
    xaxis, yaxis = layout.get("xaxis", {}), layout.get("yaxis", {})
    layout.update(
        font={"family": FONT_FAMILY, "size": FONT, "color": INK},
        title={
            "text": _title(title, subtitle),
            "font": {"size": TITLE_FONT},
            "x": 0,
            "xanchor": "left",
            "xref": "container",
            "pad": {"l": 8, "b": 14},
            "y": 1,
            "yanchor": "bottom",
            "yref": "paper",
            "automargin": True,
        },
        margin={"l": 8, "r": 8, "t": 16, "b": 8, "pad": 4, **layout.get("margin", {})},
        height=layout.get("height", height),
        xaxis={**axis, **xaxis, "title": {**axis["title"], **xaxis.get("title", {})}},
        yaxis={
            **axis,
            "rangemode": "tozero",
            "title": {"text": y_title, "font": {"size": FONT}},
            **yaxis,
        },
        plot_bgcolor="white",
        paper_bgcolor="white",
        # Below the plot, so a legend that wraps on a phone grows downwards, away from the
        # title; "container" keeps it clear of the x-axis labels (the margin makes room).
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 0,
            "yanchor": "bottom",
            "yref": "container",
            "font": {"size": FONT},
        },
        hoverlabel={"font": {"size": FONT, "family": FONT_FAMILY}},
        # Plotly shrinks text that does not fit; never below MIN_FONT.
        uniformtext={"minsize": MIN_FONT, "mode": "show"},
        meta={"note": NOTE},
    )
    return fig


def _total(frame: pd.DataFrame, column="opportunities"):
    if frame.empty:
        return 0
    values = frame[column]
    if values.isna().any():
        known = int(values.dropna().sum())
        return known or None
    return int(values.sum())


def _errors(rates, lows, highs) -> dict:
    """Whiskers from the data layer's 95 % Wilson bounds (in percent)."""
    plus, minus = [], []
    for r, lo, hi in zip(rates, lows, highs, strict=True):
        known = not (_missing(r) or _missing(lo) or _missing(hi))
        plus.append(round((hi - r) * 100, 1) if known else None)
        minus.append(round((r - lo) * 100, 1) if known else None)
    return {
        "type": "data",
        "symmetric": False,
        "array": plus,
        "arrayminus": minus,
        "color": WHISKER,
        "thickness": 1.5,
        "width": 4,
    }


def _flag(label: str, n, too_few: bool) -> str:
    return f"{label} · {SMALL_LABEL}" if not too_few and small_sample(n) else label


def _bar_group(
    categories: list,
    *,
    rates,
    lows,
    highs,
    nums,
    dens,
    few,
    name: str,
    group: int,
    hover: str,
) -> list[dict]:
    """One series of horizontal bars with intervals, and its labels beside the whiskers.

    The bar carries its "rate (k/n)" texts for the hover; the labels are a text-only trace in
    the same offset group, placed at the interval's upper end so no whisker crosses them.
    Bars resting on fewer than SMALL_SAMPLE are hatched and their label says so.
    """
    texts = [rate_text(a, b, f) for a, b, f in zip(nums, dens, few, strict=True)]
    flagged = [not f and small_sample(d) for d, f in zip(dens, few, strict=True)]
    values = [percent(v) for v in rates]
    color = COLORS[group % len(COLORS)]
    bar = dict(
        type="bar",
        orientation="h",
        y=categories,
        x=values,
        error_x=_errors(rates, lows, highs),
        text=texts,
        textposition="none",
        hovertemplate="%{y}: %{text}" + f"<extra>{hover}</extra>",
        name=name,
        offsetgroup=str(group),
        marker={
            "color": color,
            "line": {"color": color, "width": 1},
            "pattern": {"shape": ["/" if s else "" for s in flagged], "fillmode": "replace"},
        },
    )
    ends = [
        None if _missing(v) else max(v, percent(h) if not _missing(h) else v)
        for v, h in zip(values, highs, strict=True)
    ]
    labels = dict(
        type="scatter",
        mode="text",
        orientation="h",
        y=categories,
        x=[0 if e is None and t != "—" else e for e, t in zip(ends, texts, strict=True)],
        text=texts,
        # The flag on a line of its own, so the label column stays narrow on a phone.
        texttemplate=[f"%{{text}}<br>{SMALL_LABEL}" if s else "%{text}" for s in flagged],
        textposition="middle right",
        textfont={"size": FONT, "color": INK},
        cliponaxis=False,
        hoverinfo="skip",
        showlegend=False,
        name=name,
        offsetgroup=str(group),
    )
    return [bar, labels]


def _hbar_layout(fig: dict, categories: list, series: int, *, ticktext=None) -> None:
    """Horizontal bars: one slot per bar, the first category on top, room for the labels."""
    labels = [t for trace in fig["data"] if trace.get("mode") == "text" for t in trace["text"]]
    flagged = any(SMALL_LABEL in t for trace in fig["data"] for t in trace.get("texttemplate", []))
    widest = max([len(str(t)) for t in labels] + [len(SMALL_LABEL) if flagged else 0])
    slot = BAR_SLOT_FLAGGED if flagged else BAR_SLOT
    yaxis = {"autorange": "reversed", "title": {"text": ""}, "type": "category"}
    if ticktext is not None:
        yaxis.update(tickvals=categories, ticktext=ticktext)
    fig["layout"].update(
        barmode="group",
        scattermode="group",
        bargap=0.25,
        bargroupgap=0.05,
        # The title, x axis and a legend stacked on a phone take about HBAR_OVERHEAD px.
        height=HBAR_OVERHEAD + slot * series * max(len(categories), 1),
        margin={"r": 12 + int(CHAR_PX * widest)},
        xaxis={"range": [0, 100], "title": {"text": "%"}, "ticksuffix": " %"},
        yaxis=yaxis,
    )


def bands_figure(frame: pd.DataFrame) -> dict:
    """Offer rate by compliance band (low / medium / high) with intervals and counts."""
    # Short categories (the title gives the bands' bounds), leaving a phone room for bars.
    categories = [str(b) for b in frame["band"]]
    fig = _figure(
        *_bar_group(
            categories,
            rates=frame["offer_rate"],
            lows=frame["low"],
            highs=frame["high"],
            nums=frame["offers"],
            dens=frame["opportunities"],
            few=_too_few(frame),
            name="offer rate",
            group=0,
            hover="offer rate",
        )
    )
    _hbar_layout(fig, categories, 1)
    fig["layout"]["showlegend"] = False
    fig["layout"]["yaxis"]["title"] = {"text": "compliance band"}
    return _layout(
        fig,
        "Offer rate by compliance band (low < 50 %, medium < 80 %, high ≥ 80 %)",
        _total(frame),
        unit="decided opportunities",
        notes=_small_notes(frame["opportunities"], _too_few(frame)),
    )


def _small_notes(dens, few) -> tuple[str, ...]:
    flagged = any(not f and small_sample(d) for d, f in zip(dens, few, strict=True))
    return (SMALL_NOTE,) if flagged else ()


def rules_figure(frame: pd.DataFrame) -> dict:
    """Offer rate per rule: every task on time against at least one late or missed."""
    fig = _figure()
    titles = list(dict.fromkeys(frame["title"])) if not frame.empty else []
    notes = ()
    for i, group in enumerate((ALL_ON_TIME, LATE_OR_MISSED)):
        part = frame[frame["group"] == group]
        few = _too_few(part)
        notes = notes or _small_notes(part["opportunities"], few)
        for trace in _bar_group(
            list(part["title"]),
            rates=part["offer_rate"],
            lows=part["low"],
            highs=part["high"],
            nums=part["offers"],
            dens=part["opportunities"],
            few=few,
            name=GROUP_LABELS[group],
            group=i,
            hover=GROUP_LABELS[group],
        ):
            add_trace(fig, trace)
    # The rule titles are the playbook's own text, so their tick labels may carry <br>.
    _hbar_layout(fig, titles, 2, ticktext=["<br>".join(_wrap(t, TICK_WRAP)) for t in titles])
    decided = _total(frame[frame["rule"] == Rule.NOTES.value]) if not frame.empty else 0
    return _layout(
        fig,
        "Offer rate by rule: every task on time vs at least one late or missed",
        decided,
        unit="decided opportunities with counted notes",
        notes=notes,
    )


def hours_figure(frame: pd.DataFrame) -> dict:
    """Hours from interview end to the thank-you email, as shares within each outcome."""
    fig = _figure()
    totals = []
    flagged = False
    for i, (outcome, label) in enumerate(OUTCOME_LABELS.items()):
        part = frame[frame["outcome"] == outcome].set_index("hours").reindex(list(HOURS_LABELS))
        total = part["outcome_total"].iloc[0] if len(part) else None
        totals.append(None if _missing(total) else int(total))
        small = small_sample(total)
        flagged = flagged or small
        if _missing(total):
            name = f"{label} ({TOO_FEW})"
        else:
            name = f"{label} (n = {int(total)}{', ' + SMALL_LABEL if small else ''})"
        lows = part["low"] if "low" in part else [None] * len(part)
        highs = part["high"] if "high" in part else [None] * len(part)
        add_trace(
            fig,
            dict(
                type="bar",
                x=list(HOURS_LABELS),
                y=[percent(v) for v in part["share"]],
                error_y=_errors(part["share"], lows, highs),
                name=name,
                marker={
                    "color": COLORS[i],
                    "line": {"color": COLORS[i], "width": 1},
                    "pattern": {"shape": "/" if small else "", "fillmode": "replace"},
                },
                customdata=[None if _missing(v) else int(v) for v in part["opportunities"]],
                hovertemplate="%{x}: %{y} % (%{customdata} opportunities)<extra></extra>",
            ),
        )
    fig["layout"].update(
        barmode="group",
        xaxis={"title": {"text": "hours from interview end (first round)"}, "type": "category"},
        yaxis={"range": [0, 100], "ticksuffix": " %"},
    )
    known = [t for t in totals if t is not None]
    n = sum(known) if known else (None if totals and None in totals else 0)
    return _layout(
        fig,
        "Hours to the thank-you email, by outcome",
        n,
        unit="decided opportunities",
        y_title="share of the outcome",
        notes=(SMALL_NOTE,) if flagged else (),
    )


def _measure_bars(frame: pd.DataFrame, key: str, title: str, unit: str) -> dict:
    fig = _figure()
    labels = [str(v) for v in frame[key]] if not frame.empty else []
    notes = ()
    for i, (measure, name) in enumerate(MEASURES.items()):
        if frame.empty:
            break
        few = (
            frame[f"{measure}_too_few"].fillna(False).astype(bool)
            if f"{measure}_too_few" in frame.columns
            else pd.Series(False, index=frame.index)
        )
        notes = notes or _small_notes(frame[f"{measure}_den"], few)
        for trace in _bar_group(
            labels,
            rates=frame[f"{measure}_rate"],
            lows=frame[f"{measure}_low"],
            highs=frame[f"{measure}_high"],
            nums=frame[f"{measure}_num"],
            dens=frame[f"{measure}_den"],
            few=few,
            name=name,
            group=i,
            hover=name,
        ):
            add_trace(fig, trace)
    # Names people typed: escaped for the tick labels too (ticktext is layout, not a trace),
    # then wrapped with our own <br> between words, which cannot split an entity.
    names = escape_label(labels)
    _hbar_layout(
        fig, names, len(MEASURES), ticktext=["<br>".join(_wrap(n, TICK_WRAP)) for n in names]
    )
    return _layout(fig, title, _total(frame), unit=unit, notes=notes)


def cohorts_figure(frame: pd.DataFrame) -> dict:
    """Each measure per cohort, side by side."""
    return _measure_bars(frame, "cohort", "Cohorts side by side", "opportunities (cohort members)")


# What the coaches figure draws; the callback asks the data layer for these only.
COACH_MEASURES = ("compliance", "offer")
COACH_MAX_PX = 44  # the diameter of the point of the coach with the most decided opportunities
COACH_MIN_PX = 8


def coach_sizes(decided: list[int]) -> tuple[list[int], float]:
    """Marker sizes whose *area* is proportional to decided opportunities, and the sizeref."""
    largest = max(decided, default=0) or 1
    # plotly's area sizing (its documented sizeref): the largest gets COACH_MAX_PX across.
    return decided, 2.0 * largest / (COACH_MAX_PX**2)


def coaches_figure(frame: pd.DataFrame) -> dict:
    """One labelled point per coach: compliance against offer rate, with both intervals,
    the point's area proportional to the coach's decided opportunities."""
    fig = _figure()
    largest = 0
    flagged = False
    if not frame.empty:
        decided = [0 if _missing(v) else int(v) for v in frame["offer_den"]]
        largest = max(decided, default=0)
        small = [small_sample(d) for d in decided]
        flagged = any(small)
        sizes, sizeref = coach_sizes(decided)
        names = [str(v) for v in frame["coach"]]
        add_trace(
            fig,
            dict(
                type="scatter",
                x=[percent(v) for v in frame["compliance_rate"]],
                y=[percent(v) for v in frame["offer_rate"]],
                error_x=_errors(
                    frame["compliance_rate"], frame["compliance_low"], frame["compliance_high"]
                ),
                error_y=_errors(frame["offer_rate"], frame["offer_low"], frame["offer_high"]),
                mode="markers+text",
                marker={
                    "size": sizes,
                    "sizemode": "area",
                    "sizeref": sizeref,
                    "sizemin": COACH_MIN_PX,
                    "color": COLORS[0],
                    "opacity": 0.75,
                    "symbol": ["circle-open" if s else "circle" for s in small],
                    "line": {"color": COLORS[0], "width": 2},
                },
                text=names,
                # Up and right of the point, clear of both whiskers through its centre.
                textposition="top right",
                textfont={"size": FONT, "color": INK},
                cliponaxis=False,
                customdata=[
                    [rate_text(a, b), rate_text(c, d), d]
                    for a, b, c, d in zip(
                        frame["compliance_num"],
                        frame["compliance_den"],
                        frame["offer_num"],
                        frame["offer_den"],
                        strict=True,
                    )
                ],
                hovertemplate="%{text}<br>compliance %{customdata[0]}"
                "<br>offer rate %{customdata[1]}"
                "<br>%{customdata[2]} decided opportunities<extra></extra>",
                name="coaches",
            ),
        )
    fig["layout"].update(
        xaxis={"title": {"text": "compliance"}, "range": [0, 100], "ticksuffix": " %"},
        yaxis={"range": [0, 100], "ticksuffix": " %"},
        showlegend=False,
        height=520,
    )
    size_note = f"point area: decided opportunities (largest {largest:,})"
    return _layout(
        fig,
        "Coaches: compliance against offer rate",
        _total(frame),
        unit="opportunities",
        y_title="offer rate",
        intervals="whiskers: 95 % Wilson intervals",
        notes=(size_note, SMALL_NOTE) if flagged else (size_note,),
    )


def months_figure(frame: pd.DataFrame) -> dict:
    """Each measure by month of the first interview, as lines with their intervals."""
    fig = _figure()
    flagged = False
    if not frame.empty:
        for i, (measure, name) in enumerate(MEASURES.items()):
            few = frame.get(f"{measure}_too_few", pd.Series(False, index=frame.index))
            small = [
                not bool(f) and small_sample(d)
                for d, f in zip(frame[f"{measure}_den"], few, strict=True)
            ]
            flagged = flagged or any(small)
            add_trace(
                fig,
                dict(
                    type="scatter",
                    x=list(frame["month"]),
                    y=[percent(v) for v in frame[f"{measure}_rate"]],
                    error_y={
                        **_errors(
                            frame[f"{measure}_rate"],
                            frame[f"{measure}_low"],
                            frame[f"{measure}_high"],
                        ),
                        "color": COLORS[i],
                    },
                    mode="lines+markers",
                    name=name,
                    line={"color": COLORS[i]},
                    marker={
                        "color": COLORS[i],
                        "size": 9,
                        "symbol": ["circle-open" if s else "circle" for s in small],
                        "line": {"color": COLORS[i], "width": 2},
                    },
                    customdata=[
                        _flag(rate_text(a, b, bool(f)), b, bool(f))
                        for a, b, f in zip(
                            frame[f"{measure}_num"], frame[f"{measure}_den"], few, strict=True
                        )
                    ],
                    hovertemplate="%{x}: %{customdata}<extra>" + name + "</extra>",
                    connectgaps=False,
                ),
            )
    fig["layout"].update(
        # Side by side within a month, so five measures' whiskers do not hide each other.
        scattermode="group",
        xaxis={"title": {"text": "month of the first interview"}, "type": "category"},
        yaxis={"range": [0, 100], "ticksuffix": " %"},
        height=480,
    )
    return _layout(
        fig,
        "Each measure by month",
        _total(frame),
        unit="opportunities",
        intervals="whiskers: 95 % Wilson intervals",
        notes=(SMALL_NOTE,) if flagged else (),
    )


def rule_title(rule: str) -> str:
    """The rule's human title."""
    return RULES[Rule(rule)].title
