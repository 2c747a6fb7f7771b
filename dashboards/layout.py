"""The dashboard's layout, built per request for the signed-in person's role and scope.

Every role gets the same component ids (Dash needs each callback output to exist); the
sections a role may not use are hidden, and their callbacks answer with nothing, since
the data layer refuses them anyway.
"""

from dash import dcc, html
from dash.dash_table import DataTable, FormatTemplate
from flask_login import current_user

from coach_app.models import Role
from coach_app.playbook.analytics import SMALL_SAMPLE
from dashboards import data
from dashboards.figures import FONT_FAMILY, rate_text, small_sample

FILTER_IDS = ("f-dates", "f-cohort", "f-coach", "f-rounds", "f-industry")
EXPORT_VIEWS = {
    "headline": "headline tiles",
    "bands": "offer rate by band",
    "rules": "offer rate by rule",
    "hours": "hours to thank-you",
    "months": "by month",
    "cohorts": "cohorts",
    "coaches": "coaches",
    "clients": "clients",
    "opportunities": "per-opportunity table",
}
VIEWS_BY_ROLE = {
    Role.ADMIN: tuple(EXPORT_VIEWS),
    Role.COACH: tuple(v for v in EXPORT_VIEWS if v != "coaches"),
    Role.ORGANIZER: ("headline", "bands", "rules", "hours", "months", "cohorts"),
}
SCOPE_TEXT = {
    Role.ADMIN: "The whole organisation, with every coach side by side.",
    Role.COACH: "Your own clients.",
    Role.ORGANIZER: (
        "Members of your cohorts (their work from each cohort's start date on), as "
        f"aggregates only, by whole months. A figure resting on fewer than {data.MIN_GROUP_SIZE} "
        f"opportunities or {data.MIN_GROUP_SIZE} clients, or one that a neighbouring filter "
        f"would tell apart by fewer than {data.MIN_GROUP_SIZE} clients, is shown as “too few”."
    ),
}
PERCENT = FormatTemplate.percentage(0)
# The portal's font (Bootstrap's system stack) rather than dash_table's monospace; text
# columns left, numbers right-aligned so their digits line up.
TABLE_STYLE = {
    "style_cell": {
        "fontFamily": FONT_FAMILY,
        "fontSize": "0.9375rem",
        "padding": "0.375rem 0.5rem",
        "textAlign": "right",
    },
    "style_header": {"fontWeight": "600", "whiteSpace": "normal", "height": "auto"},
    "style_cell_conditional": [{"if": {"column_id": "client"}, "textAlign": "left"}],
}
CLIENT_COLUMNS = [
    {"id": "client", "name": "Client", "presentation": "markdown"},
    {"id": "opportunities", "name": "Opportunities", "type": "numeric"},
    {"id": "compliance", "name": "Compliance", "type": "numeric", "format": PERCENT},
    {"id": "compliance_n", "name": "Tasks counted", "type": "numeric"},
    {"id": "same_day_notes", "name": "Same-day notes", "type": "numeric", "format": PERCENT},
    {"id": "check_in", "name": "Check-ins on time", "type": "numeric", "format": PERCENT},
    {"id": "offers", "name": "Offers", "type": "numeric"},
    {"id": "decided", "name": "Decided", "type": "numeric"},
    {"id": "offer_rate", "name": "Offer rate", "type": "numeric", "format": PERCENT},
]


def _section(title: str, body, *, section_id: str, visible: bool = True):
    return html.Section(
        [html.H2(title, className="h5"), body],
        id=section_id,
        className="card card-body mb-3",
        style=None if visible else {"display": "none"},
    )


def _graph(graph_id: str):
    return dcc.Loading(dcc.Graph(id=graph_id, config={"displaylogo": False}))


def build(role: str | None, options: dict | None = None):
    """The layout for `role` with the given filter choices (skeleton when role is None)."""
    options = options or {}
    views = VIEWS_BY_ROLE.get(role, ())
    is_admin = role == Role.ADMIN
    filters = html.Div(
        [
            html.Div(
                [
                    html.Label("Interview dates", htmlFor="f-dates", className="form-label"),
                    dcc.DatePickerRange(
                        id="f-dates",
                        min_date_allowed=options.get("first_day"),
                        max_date_allowed=options.get("last_day"),
                        display_format="YYYY-MM-DD",
                        clearable=True,
                    ),
                    html.Div(id="f-dates-note", className="small text-muted"),
                ],
                className="col-md-4",
            ),
            _dropdown("Cohort", "f-cohort", options.get("cohorts", []), multi=True),
            _dropdown(
                "Coach",
                "f-coach",
                options.get("coaches", []),
                multi=True,
                visible=is_admin,
            ),
            _dropdown("Interview rounds", "f-rounds", options.get("rounds", []), multi=False),
            _dropdown("Industry", "f-industry", options.get("industries", []), multi=True),
        ],
        className="row g-2 mb-3",
        role="search",
    )
    downloads = html.Div(
        [html.Span("Export CSV: ", className="me-2")]
        + [
            html.A(
                label,
                id=f"download-{view}",
                href="#",
                className="me-3",
                style=None if view in views else {"display": "none"},
            )
            for view, label in EXPORT_VIEWS.items()
        ],
        className="small mb-3",
    )
    return html.Div(
        [
            html.H1("Analytics", className="h3"),
            html.P(SCOPE_TEXT.get(role, ""), id="scope-text", className="text-muted mb-1"),
            html.P(
                [html.Strong("Read with care: "), data.NOTE],
                className="alert alert-info py-2",
                role="note",
            ),
            filters,
            html.Div(id="filter-error", role="alert", className="text-danger mb-2"),
            downloads,
            html.Div(id="tiles", className="row g-2 mb-3", **{"aria-live": "polite"}),
            _section("Offer rate by compliance band", _graph("fig-bands"), section_id="sec-bands"),
            _section("Offer rate by rule", _graph("fig-rules"), section_id="sec-rules"),
            _section(
                "Hours from interview end to the thank-you email",
                _graph("fig-hours"),
                section_id="sec-hours",
            ),
            _section("Cohorts side by side", _graph("fig-cohorts"), section_id="sec-cohorts"),
            _section("Each measure by month", _graph("fig-months"), section_id="sec-months"),
            _section(
                "Coaches side by side",
                _graph("fig-coaches"),
                section_id="sec-coaches",
                visible=is_admin,
            ),
            _section(
                "Clients",
                html.Div(
                    [
                        # The one instruction or summary line (callbacks.client_outputs); with
                        # no rows it is the section's empty state and the table is hidden
                        # (assets/dashboard.css).
                        html.P(id="clients-caption", className="clients-caption small mb-2"),
                        DataTable(
                            id="client-table",
                            columns=CLIENT_COLUMNS,
                            data=[],
                            sort_action="native",
                            page_size=25,
                            markdown_options={"link_target": "_self"},
                            style_table={"overflowX": "auto"},
                            **TABLE_STYLE,
                        ),
                    ]
                ),
                section_id="sec-clients",
                visible="clients" in views,
            ),
        ],
        className="dashboard",
    )


def _dropdown(label: str, component_id: str, options, *, multi: bool, visible: bool = True):
    return html.Div(
        [
            html.Label(label, htmlFor=component_id, className="form-label"),
            dcc.Dropdown(id=component_id, options=options, multi=multi, placeholder="All"),
        ],
        className="col-md-2",
        style=None if visible else {"display": "none"},
    )


def skeleton():
    """Every component id, for Dash's callback validation (no data, no user)."""
    return build(None)


def serve_layout():
    """Dash calls this per page load: the signed-in person's layout (the guard ran first)."""
    user = current_user
    if not getattr(user, "is_authenticated", False) or user.role not in data.ANALYTICS_ROLES:
        return skeleton()
    return build(user.role, data.filter_options(user))


def tiles(frame) -> list:
    """The headline tiles: rate, its count n, the interval, and the opportunities behind it."""
    cards = []
    for record in frame.to_dict("records"):
        too_few = bool(record.get("too_few"))
        body = [
            html.Div(record["label"], className="small text-muted"),
            html.Div(
                rate_text(record["num"], record["den"], too_few).split(" (")[0],
                className="fs-3 fw-bold",
                id=f"tile-{record['measure']}-value",
            ),
        ]
        if too_few:
            body.append(
                html.Div(
                    f"hidden: it could single out fewer than {data.MIN_GROUP_SIZE} clients",
                    className="small",
                )
            )
        else:
            count = [f"n = {int(record['den'])} · {record['num']} of {record['den']}"]
            if small_sample(record["den"]):
                # Fewer than SMALL_SAMPLE: the rate is shown, but says it rests on little.
                count.append(
                    html.Span(
                        "small sample",
                        className="badge text-bg-warning ms-1",
                        id=f"tile-{record['measure']}-small",
                        title=f"fewer than {SMALL_SAMPLE}: read this rate with care",
                    )
                )
            body.append(html.Div(count, className="small", id=f"tile-{record['measure']}-n"))
            if record.get("low") is not None and record.get("rate") is not None:
                body.append(
                    html.Div(
                        f"95 % CI {record['low'] * 100:.0f}–{record['high'] * 100:.0f} %",
                        className="small text-muted",
                    )
                )
            body.append(
                html.Div(f"rests on {record['opps']} opportunities", className="small text-muted")
            )
        cards.append(html.Div(html.Div(body, className="card card-body"), className="col"))
    return cards
