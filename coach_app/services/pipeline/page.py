"""The page of clients a pipeline query selects: filters, sort, count and paging.

Sorting by name or last activity reads the clients alone. Sorting or filtering by a figure
that moves with the clock (overdue, next due, compliance) reads each client's stored
summary where it is exact at `now`, and a correlated subquery over that client's tasks
where it is not (services/summary_sql.py), so the order is exact whether or not the fold
job has run.
"""

import math
from datetime import UTC, datetime

from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import ClientProfile, ClientSummary, User
from coach_app.services import summary_sql
from coach_app.services.pipeline.query import PipelineQuery, scope_conditions
from coach_app.services.pipeline.rows import PipelinePage, page_rows

_FIGURE_KEYS = {
    "overdue": summary_sql.overdue_key,
    "next_due": summary_sql.next_due_key,
    "compliance": summary_sql.compliance_key,
}
_BY_FIGURE = tuple(_FIGURE_KEYS)


def _statements(user, query: PipelineQuery, now: datetime):
    """(page of client ids with the total, count alone) for this query."""
    conditions = scope_conditions(user, query)
    keys = {"name": func.lower(User.name), "last_activity": ClientProfile.last_activity_at}
    if query.sort in _BY_FIGURE:  # built only when asked: each is a CASE and a subquery
        keys[query.sort] = _FIGURE_KEYS[query.sort](now)
    if query.overdue_only:
        conditions.append(summary_sql.overdue_key(now) > 0)
    needs_summary = query.overdue_only or query.sort in _BY_FIGURE
    # The count needs the filters only: the users table only to search by name, the
    # summaries only to keep the overdue.
    counted = select(ClientProfile.id).where(*conditions)
    if query.q:
        counted = counted.join(User, User.id == ClientProfile.user_id)
    if query.overdue_only:
        counted = counted.outerjoin(ClientSummary, ClientSummary.client_id == ClientProfile.id)
    count = select(func.count()).select_from(counted.subquery())
    order = select(ClientProfile.id).join(User, User.id == ClientProfile.user_id)
    if needs_summary:
        order = order.outerjoin(ClientSummary, ClientSummary.client_id == ClientProfile.id)
    key = keys[query.sort]
    ordering = [key.desc() if query.descending else key.asc()]
    if query.sort in ("compliance", "next_due", "last_activity"):
        # Clients without a value (no counted task, nothing due) go last in both directions.
        ordering.insert(0, key.is_(None))
    if query.sort != "name":
        ordering.append(keys["name"])
    # The total rides along as an uncorrelated subquery, which the database runs once; a
    # count(*) OVER () window made SQLite buffer every client of the roster first.
    page = (
        order.where(*conditions)
        .add_columns(count.scalar_subquery().label("total"))
        .order_by(*ordering, ClientProfile.id)
    )
    return page, count


def pipeline(user, query: PipelineQuery, *, per_page: int, now: datetime | None = None):
    """The page of the pipeline `user` asked for; a fixed number of queries for any roster."""
    now = now or datetime.now(UTC)
    page_statement, count = _statements(user, query, now)
    connection = db.session.connection()
    page = query.page
    found = connection.execute(page_statement.limit(per_page).offset((page - 1) * per_page))
    found = found.all()
    if found:
        total = found[0].total  # counted by the same statement, before its LIMIT
    else:
        # No one here, or a page past the last one: count, then show the last page.
        total = connection.execute(count).scalar_one()
        page = min(page, max(1, math.ceil(total / per_page)))
        if total:
            offset = (page - 1) * per_page
            found = connection.execute(page_statement.limit(per_page).offset(offset)).all()
    pages = max(1, math.ceil(total / per_page))
    page_ids = [row.id for row in found]
    rows = page_rows(page_ids, now) if page_ids else []
    return PipelinePage(rows=rows, total=total, page=page, pages=pages, per_page=per_page)
