"""The audit log page and its CSV download (admins, their own organisation only)."""

import tempfile
from datetime import UTC, datetime

import pandas as pd
from flask import render_template, request, send_file, url_for
from flask_login import current_user

from coach_app.access import roles_required
from coach_app.admin import bp
from coach_app.admin.people import page_arg
from coach_app.extensions import db
from coach_app.models import Role
from coach_app.services import audit_log
from dashboards.export import to_csv

CSV_COLUMNS = [
    "when",
    "who",
    "who_email",
    "action",
    "what",
    "object",
    "object_type",
    "object_id",
    "details",
]


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit():
    """Who did what, when: newest first, filtered by person, action and dates."""
    filters = audit_log.AuditFilters.from_args(request.args)
    page = audit_log.page_of_events(current_user, filters, page=page_arg(request.args))
    kept = {key: value for key, value in filters.as_args().items() if value is not None}
    return render_template(
        "admin/audit.html",
        page=page,
        filters=filters,
        actors=audit_log.actor_choices(current_user, filters.actor_id),
        actions=sorted(audit_log.ACTION_LABELS.items(), key=lambda item: item[1]),
        details_text=audit_log.details_text,
        url_with=lambda **changes: url_for("admin.audit", **{**kept, **changes}),
        csv_url=url_for("admin.audit_csv", **kept),
    ), 400 if filters.errors else 200


def _csv_body(chunks):
    header = True
    for chunk in chunks:
        yield to_csv(pd.DataFrame(chunk, columns=CSV_COLUMNS), header=header)
        header = False
    if header:  # nothing matched: still a file with its header line
        yield to_csv(pd.DataFrame([], columns=CSV_COLUMNS))


@bp.get("/audit.csv")
@roles_required(Role.ADMIN)
def audit_csv():
    """The filtered log as CSV (cells made safe for spreadsheets); the download is audited."""
    filters = audit_log.AuditFilters.from_args(request.args)
    # Recorded and committed first: a download cut short still shows in the log.
    audit_log.record_export(current_user, filters)
    db.session.commit()
    # Written to a spooled file inside the request (memory up to 1 MiB, then disk), then sent:
    # a long log never sits in memory whole, and nothing runs after the request has ended.
    # The response closes the file once sent, so no context manager here.
    spool = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+b")  # noqa: SIM115
    for text in _csv_body(audit_log.csv_chunks(current_user, filters)):
        spool.write(text.encode("utf-8"))
    spool.seek(0)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    response = send_file(
        spool,
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"audit-log-{stamp}.csv",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
