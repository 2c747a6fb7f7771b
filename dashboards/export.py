"""CSV exports: each view's data, and the per-opportunity table, behind the same guard.

The routes live under /analytics/export/, so the dashboard guard covers them (302 to the
login page, 403 for clients); the data layer then applies the role's scope, exactly as for
the figures, so an export is the view's own DataFrame. Filters come from the query string
(start, end, cohort, coach, rounds, industry); a cohort or coach outside the user's scope
answers 404, as it would anywhere else in the portal.
"""

import itertools
from datetime import UTC, datetime

import pandas as pd
from flask import Blueprint, Response, abort, request, stream_with_context
from flask_login import current_user
from sqlalchemy import select

from coach_app.auth import limits
from coach_app.extensions import db
from coach_app.models import audit
from dashboards import data
from dashboards.source import analytics_connection

bp = Blueprint("analytics_export", __name__)

VIEWS = {
    "headline": data.headline,
    "bands": data.by_band,
    "rules": data.by_rule,
    "hours": data.thank_you_hours,
    "months": data.by_month,
    "cohorts": data.by_cohort,
    "coaches": data.by_coach,
    "clients": data.by_client,
    "opportunities": data.opportunities,
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filters_from_args(user, args) -> data.Filters:
    """Filters from a query string: 400 when malformed, 404 for ids outside the scope."""
    try:
        filters = data.parse_filters(
            start=args.get("start"),
            end=args.get("end"),
            cohorts=args.getlist("cohort"),
            coaches=args.getlist("coach"),
            rounds=args.get("rounds"),
            industries=args.getlist("industry"),
        )
    except data.FilterError as error:
        abort(400, description=str(error))
    if filters.cohorts:
        cohorts = data.visible_cohorts(user).subquery()
        seen = set(analytics_connection().scalars(select(cohorts.c.id)))
        if not set(filters.cohorts) <= seen:
            abort(404)
    if filters.coaches:
        coaches = data.visible_coaches(user).subquery()
        seen = set(analytics_connection().scalars(select(coaches.c.id)))
        if not set(filters.coaches) <= seen:
            abort(404)
    return filters


class AnalyticsExport:
    """What an "export.downloaded" audit event is about (no row of its own, so no id)."""

    id = None


def audit_details(view: str, filters: data.Filters) -> dict:
    """Which export and which filters, as ids, dates and choices: never a person's data."""
    return {
        "export": view,
        "filters": {
            "start": filters.start.isoformat() if filters.start else None,
            "end": filters.end.isoformat() if filters.end else None,
            "cohorts": list(filters.cohorts),
            "coaches": list(filters.coaches),
            "rounds": filters.rounds,
            "industries": list(filters.industries),
        },
    }


def record_download(user, view: str, filters: data.Filters) -> None:
    """Audit the download (committed at once: a streamed body outlives the request's work)."""
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="export.downloaded",
        obj=AnalyticsExport(),
        details=audit_details(view, data.applied_filters(user, filters)),
    )
    db.session.commit()


def _cell(value):
    # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(frame, *, header: bool = True) -> str:
    """The DataFrame as CSV text, with text cells made safe for spreadsheets."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_cell)
    return safe.to_csv(index=False, header=header)


def _pages_as_csv(pages):
    header = True
    for page in pages:
        yield to_csv(page, header=header)
        header = False


def _export(view: str):
    def export_view():
        user = current_user
        filters = filters_from_args(user, request.args)
        try:
            if view == "opportunities":
                # Streamed page by page: the whole table never sits in memory at once.
                pages = data.opportunity_pages(user, filters)
                first = next(pages, None)
                if first is None:
                    body = to_csv(data.opportunities(user, filters))
                else:
                    body = stream_with_context(_pages_as_csv(itertools.chain([first], pages)))
            else:
                body = to_csv(VIEWS[view](user, filters))
        except data.AnalyticsAccessError:
            abort(403)
        record_download(user, view, filters)
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        return Response(
            body,
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="analytics-{view}-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )

    export_view.__name__ = view
    export_view.__doc__ = f"The {view} view as CSV, within the user's scope."
    return export_view


for _view in VIEWS:
    bp.add_url_rule(
        f"/{_view}.csv", endpoint=_view, view_func=limits.exports_per_account(_export(_view))
    )
