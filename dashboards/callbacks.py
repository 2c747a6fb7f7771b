"""Dash callbacks: the filters drive each group of views, computed as the signed-in user.

The work lives in plain functions that take the user (tests call them directly as each
role); `register_callbacks(app)` binds them to one Dash app with `current_user`. There are
no module-level `@dash.callback`s, so tests can build as many apps as they like.
"""

import re

from dash import Input, Output
from flask import url_for
from flask_login import current_user

from coach_app.models import Role
from dashboards import data, figures, layout

FILTER_INPUTS = [
    Input("f-dates", "start_date"),
    Input("f-dates", "end_date"),
    Input("f-cohort", "value"),
    Input("f-coach", "value"),
    Input("f-rounds", "value"),
    Input("f-industry", "value"),
]
# The clients section says what to do once, in its caption; with no rows the caption is the
# whole section (the empty table is hidden).
CHOOSE_ONE_COACH = "Choose one coach in the Coach filter above to list their clients."
NO_CLIENTS = "No clients have an interview that matches these filters."
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def filters_from(start=None, end=None, cohorts=None, coaches=None, rounds=None, industries=None):
    """The Filters for the control values (raises data.FilterError when malformed)."""
    return data.parse_filters(
        start=start,
        end=end,
        cohorts=cohorts,
        coaches=coaches,
        rounds=rounds,
        industries=industries,
    )


_message_figure = figures.message_figure


def overview_outputs(user, *values, now=None):
    """Tiles, band, rule, hours and month figures, and a filter error message."""
    try:
        filters = filters_from(*values)
    except data.FilterError as error:
        empty = _message_figure(str(error))
        return [], empty, empty, empty, empty, str(error)
    views = data.overview(user, filters, now)
    return (
        layout.tiles(views["headline"]),
        figures.bands_figure(views["bands"]),
        figures.rules_figure(views["rules"]),
        figures.hours_figure(views["hours"]),
        figures.months_figure(views["months"]),
        "",
    )


def cohort_outputs(user, *values, now=None):
    """Cohorts side by side."""
    try:
        filters = filters_from(*values)
    except data.FilterError as error:
        return _message_figure(str(error))
    return figures.cohorts_figure(data.by_cohort(user, filters, now))


def coach_outputs(user, *values, now=None):
    """Coaches side by side (admins only; nothing for other roles)."""
    if user.role != Role.ADMIN:
        return _message_figure("Only admins compare coaches.")
    try:
        filters = filters_from(*values)
    except data.FilterError as error:
        return _message_figure(str(error))
    frame = data.by_coach(user, filters, now, measures=figures.COACH_MEASURES)
    return figures.coaches_figure(frame)


def _markdown_text(text: str) -> str:
    # Client names are user text: escape Markdown so a name can't become a link or markup.
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text or "")


def client_rows(frame, client_url) -> list[dict]:
    """Rows of the per-client table (fractions for rates, None where nothing was counted)."""
    rows = []
    for record in frame.to_dict("records"):
        rows.append(
            {
                "client_id": int(record["client_id"]),
                "client": f"[{_markdown_text(record['client'])}]"
                f"({client_url(int(record['client_id']))})",
                "opportunities": int(record["opportunities"]),
                "compliance": record["compliance_rate"],
                "compliance_n": int(record["compliance_den"]),
                "same_day_notes": record["same_day_notes_rate"],
                "check_in": record["check_in_rate"],
                "offers": int(record["offer_num"]),
                "decided": int(record["offer_den"]),
                "offer_rate": record["offer_rate"],
            }
        )
    return rows


def _client_url(client_id: int) -> str:
    return url_for("coach.client_detail", client_id=client_id)


def client_outputs(user, *values, now=None, client_url=_client_url):
    """The per-client table for coaches (own clients) and admins (one chosen coach)."""
    if user.role not in (Role.ADMIN, Role.COACH):
        return [], ""
    try:
        filters = filters_from(*values)
    except data.FilterError as error:
        return [], str(error)
    if user.role == Role.ADMIN and len(filters.coaches) != 1:
        return [], CHOOSE_ONE_COACH
    frame = data.by_client(user, filters, now)
    rows = client_rows(frame, client_url)
    if not rows:
        return [], NO_CLIENTS
    return rows, f"{len(rows)} clients · {int(frame['opportunities'].sum())} opportunities"


def export_query(user, *values) -> dict:
    """Query-string arguments that reproduce the applied filters in an export link."""
    filters = data.applied_filters(user, filters_from(*values))
    query = {
        "start": filters.start.isoformat() if filters.start else None,
        "end": filters.end.isoformat() if filters.end else None,
        "cohort": list(filters.cohorts) or None,
        "coach": list(filters.coaches) or None,
        "rounds": filters.rounds,
        "industry": list(filters.industries) or None,
    }
    return {k: v for k, v in query.items() if v is not None}


def export_hrefs(user, *values) -> list:
    """Export links carrying the current filters, one per view (none while they're wrong)."""
    try:
        query = export_query(user, *values)
    except data.FilterError:
        return [None] * len(layout.EXPORT_VIEWS)
    return [url_for(f"analytics_export.{view}", **query) for view in layout.EXPORT_VIEWS]


def dates_note(user, start=None, end=None) -> str:
    """For organisers: the whole months the figures cover (their dates widen to months)."""
    if not data.is_organizer(user):
        return ""
    try:
        filters = data.applied_filters(user, filters_from(start, end))
    except data.FilterError:
        return ""
    if not filters.start and not filters.end:
        return "Whole months: organisers' date filters cover whole calendar months."
    since = filters.start.isoformat() if filters.start else "the first interview"
    until = filters.end.isoformat() if filters.end else "today"
    return f"Showing whole months: {since} to {until}."


def register_callbacks(app) -> None:
    """Bind the callbacks to this Dash app (called once per app)."""

    @app.callback(
        Output("tiles", "children"),
        Output("fig-bands", "figure"),
        Output("fig-rules", "figure"),
        Output("fig-hours", "figure"),
        Output("fig-months", "figure"),
        Output("filter-error", "children"),
        *FILTER_INPUTS,
    )
    def update_overview(*values):
        return overview_outputs(current_user, *values)

    @app.callback(Output("fig-cohorts", "figure"), *FILTER_INPUTS)
    def update_cohorts(*values):
        return cohort_outputs(current_user, *values)

    @app.callback(Output("fig-coaches", "figure"), *FILTER_INPUTS)
    def update_coaches(*values):
        return coach_outputs(current_user, *values)

    @app.callback(
        Output("client-table", "data"), Output("clients-caption", "children"), *FILTER_INPUTS
    )
    def update_clients(*values):
        return client_outputs(current_user, *values)

    @app.callback(
        *[Output(f"download-{view}", "href") for view in layout.EXPORT_VIEWS], *FILTER_INPUTS
    )
    def update_downloads(*values):
        return export_hrefs(current_user, *values)

    @app.callback(
        Output("f-dates-note", "children"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
    )
    def update_dates_note(start, end):
        return dates_note(current_user, start, end)
