"""Plotly figures from the data layer's DataFrames.

Every figure names the number of opportunities it rests on in its title and carries the note
that these are associations, not causes. Groups the data layer blanked for organizers
(dashboards/privacy.py) are drawn as an empty slot labelled "too few". Text that people
typed reaches plotly only through escape_label.
"""

import math

import pandas as pd

from coach_app.playbook import RULES, Rate, Rule
from coach_app.playbook.analytics import ALL_ON_TIME, HOURS_LABELS, LATE_OR_MISSED
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


def _errors(frame: pd.DataFrame, rate="offer_rate", low="low", high="high") -> dict:
    plus = [
        None if _missing(r) else round((h - r) * 100, 1)
        for r, h in zip(frame[rate], frame[high], strict=True)
    ]
    minus = [
        None if _missing(r) else round((r - lo) * 100, 1)
        for r, lo in zip(frame[rate], frame[low], strict=True)
    ]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus}


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


def _layout(fig: dict, title: str, n, *, unit="opportunities", y_title="%") -> dict:
    count = "too few" if n is None else f"n = {n:,} {unit}"
    fig["layout"].update(
        title={
            "text": f"{title}<br><sup>{count} · 95 % Wilson intervals · {NOTE_SHORT}</sup>",
            "font": {"size": 15},
        },
        margin={"l": 50, "r": 20, "t": 90, "b": 110},
        height=420,
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", "gridcolor": "#e5e5e5"},
        xaxis={"gridcolor": "#e5e5e5", "automargin": True, **fig["layout"].get("xaxis", {})},
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
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


def bands_figure(frame: pd.DataFrame) -> dict:
    """Offer rate by compliance band (low / medium / high) with intervals and counts."""
    few = _too_few(frame)
    texts = [
        rate_text(o, n, f)
        for o, n, f in zip(frame["offers"], frame["opportunities"], few, strict=True)
    ]
    fig = _figure(
        dict(
            type="bar",
            x=[f"{b} compliance" for b in frame["band"]],
            y=[percent(v) for v in frame["offer_rate"]],
            error_y=_errors(frame),
            text=texts,
            textposition="outside",
            marker={"color": COLORS[0]},
            name="offer rate",
        )
    )
    return _layout(
        fig,
        "Offer rate by compliance band (low < 50 %, medium < 80 %, high ≥ 80 %)",
        _total(frame),
        unit="decided opportunities",
        y_title="offer rate %",
    )


def rules_figure(frame: pd.DataFrame) -> dict:
    """Offer rate per rule: every task on time against at least one late or missed."""
    fig = _figure()
    for i, group in enumerate((ALL_ON_TIME, LATE_OR_MISSED)):
        part = frame[frame["group"] == group]
        few = _too_few(part)
        add_trace(
            fig,
            dict(
                type="bar",
                x=list(part["title"]),
                y=[percent(v) for v in part["offer_rate"]],
                error_y=_errors(part),
                text=[
                    rate_text(o, n, f)
                    for o, n, f in zip(part["offers"], part["opportunities"], few, strict=True)
                ],
                textposition="outside",
                name=GROUP_LABELS[group],
                marker={"color": COLORS[i]},
            ),
        )
    fig["layout"].update(barmode="group")
    decided = _total(frame[frame["rule"] == Rule.NOTES.value]) if not frame.empty else 0
    return _layout(
        fig,
        "Offer rate by rule: every task on time vs at least one late or missed",
        decided,
        unit="decided opportunities with counted notes",
        y_title="offer rate %",
    )


def hours_figure(frame: pd.DataFrame) -> dict:
    """Hours from interview end to the thank-you email, as shares within each outcome."""
    fig = _figure()
    totals = []
    for i, (outcome, label) in enumerate(OUTCOME_LABELS.items()):
        part = frame[frame["outcome"] == outcome].set_index("hours").reindex(list(HOURS_LABELS))
        total = part["outcome_total"].iloc[0] if len(part) else None
        totals.append(None if _missing(total) else int(total))
        name = f"{label} ({TOO_FEW})" if _missing(total) else f"{label} (n = {int(total)})"
        add_trace(
            fig,
            dict(
                type="bar",
                x=list(HOURS_LABELS),
                y=[percent(v) for v in part["share"]],
                name=name,
                marker={"color": COLORS[i]},
                customdata=[None if _missing(v) else int(v) for v in part["opportunities"]],
                hovertemplate="%{x}: %{y} % (%{customdata} opportunities)<extra></extra>",
            ),
        )
    fig["layout"].update(
        barmode="group", xaxis={"title": {"text": "hours from interview end (first round)"}}
    )
    known = [t for t in totals if t is not None]
    n = sum(known) if known else (None if totals and None in totals else 0)
    return _layout(
        fig,
        "Hours to the thank-you email, by outcome",
        n,
        unit="decided opportunities",
        y_title="share of the outcome %",
    )


def _measure_bars(frame: pd.DataFrame, key: str, title: str, unit: str) -> dict:
    fig = _figure()
    labels = [str(v) for v in frame[key]] if not frame.empty else []
    for i, (measure, name) in enumerate(MEASURES.items()):
        if frame.empty:
            break
        few = (
            frame[f"{measure}_too_few"].fillna(False).astype(bool)
            if f"{measure}_too_few" in frame.columns
            else pd.Series(False, index=frame.index)
        )
        add_trace(
            fig,
            dict(
                type="bar",
                x=labels,
                y=[percent(v) for v in frame[f"{measure}_rate"]],
                error_y=_errors(frame, f"{measure}_rate", f"{measure}_low", f"{measure}_high"),
                text=[
                    rate_text(a, b, f)
                    for a, b, f in zip(
                        frame[f"{measure}_num"], frame[f"{measure}_den"], few, strict=True
                    )
                ],
                textposition="outside",
                name=name,
                marker={"color": COLORS[i]},
            ),
        )
    fig["layout"].update(barmode="group")
    return _layout(fig, title, _total(frame), unit=unit)


def cohorts_figure(frame: pd.DataFrame) -> dict:
    """Each measure per cohort, side by side."""
    return _measure_bars(frame, "cohort", "Cohorts side by side", "opportunities (cohort members)")


# What the coaches figure draws; the callback asks the data layer for these only.
COACH_MEASURES = ("compliance", "offer")


def coaches_figure(frame: pd.DataFrame) -> dict:
    """One point per coach: compliance against offer rate, sized by decided opportunities."""
    fig = _figure()
    if not frame.empty:
        decided = [0 if _missing(v) else int(v) for v in frame["offer_den"]]
        add_trace(
            fig,
            dict(
                type="scatter",
                x=[percent(v) for v in frame["compliance_rate"]],
                y=[percent(v) for v in frame["offer_rate"]],
                mode="markers",
                marker={
                    "size": [6 + math.sqrt(d) for d in decided],
                    "color": COLORS[0],
                    "opacity": 0.6,
                },
                text=list(frame["coach"]),
                customdata=[
                    [rate_text(a, b), rate_text(c, d)]
                    for a, b, c, d in zip(
                        frame["compliance_num"],
                        frame["compliance_den"],
                        frame["offer_num"],
                        frame["offer_den"],
                        strict=True,
                    )
                ],
                hovertemplate="%{text}<br>compliance %{customdata[0]}"
                "<br>offer rate %{customdata[1]}<extra></extra>",
                name="coaches",
            ),
        )
    fig["layout"].update(xaxis={"title": {"text": "compliance %"}, "range": [0, 100]})
    return _layout(
        fig,
        "Coaches: compliance against offer rate (point size: decided opportunities)",
        _total(frame),
        unit="opportunities",
        y_title="offer rate %",
    )


def months_figure(frame: pd.DataFrame) -> dict:
    """Each measure by month of the first interview, as lines."""
    fig = _figure()
    if not frame.empty:
        for i, (measure, name) in enumerate(MEASURES.items()):
            add_trace(
                fig,
                dict(
                    type="scatter",
                    x=list(frame["month"]),
                    y=[percent(v) for v in frame[f"{measure}_rate"]],
                    mode="lines+markers",
                    name=name,
                    marker={"color": COLORS[i]},
                    customdata=[
                        rate_text(a, b, bool(f))
                        for a, b, f in zip(
                            frame[f"{measure}_num"],
                            frame[f"{measure}_den"],
                            frame.get(f"{measure}_too_few", pd.Series(False, index=frame.index)),
                            strict=True,
                        )
                    ],
                    hovertemplate="%{x}: %{customdata}<extra>" + name + "</extra>",
                    connectgaps=False,
                ),
            )
    fig["layout"].update(
        xaxis={"title": {"text": "month of the first interview"}, "type": "category"}
    )
    return _layout(fig, "Each measure by month", _total(frame), unit="opportunities")


def rule_title(rule: str) -> str:
    """The rule's human title."""
    return RULES[Rule(rule)].title
