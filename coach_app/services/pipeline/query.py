"""What a coach asked the pipeline for (filters, sort, page) and the clients it selects."""

from dataclasses import dataclass

from sqlalchemy import or_, select

from coach_app.access import client_scope
from coach_app.models import ClientProfile, CohortMember, Role, User

SORTS = ("name", "compliance", "overdue", "next_due", "last_activity")
ARCHIVE_FILTERS = ("active", "archived", "all")
# Rows a coach may choose per page; the default is the PAGE_SIZE setting (50).
PAGE_SIZES = (25, 50, 100)
LIKE_ESCAPE = "/"


@dataclass(frozen=True)
class PipelineQuery:
    """What the coach asked to see: filters, sort and page (already cleaned)."""

    sort: str = "name"
    descending: bool = False
    q: str = ""
    cohort_id: int | None = None
    coach_id: int | None = None
    overdue_only: bool = False
    archived: str = "active"
    page: int = 1
    per_page: int | None = None  # one of PAGE_SIZES, or the configured default

    @classmethod
    def from_args(cls, args) -> "PipelineQuery":
        """Build from request.args, ignoring anything malformed (a filter never errors)."""
        sort = args.get("sort", "name")
        archived = args.get("archived", "active")
        per_page = _int_or_none(args.get("per_page"))
        return cls(
            sort=sort if sort in SORTS else "name",
            descending=args.get("dir") == "desc",
            q=(args.get("q") or "").strip()[:100],
            cohort_id=_int_or_none(args.get("cohort")),
            coach_id=_int_or_none(args.get("coach")),
            overdue_only=args.get("overdue") in ("1", "on", "true", "y"),
            archived=archived if archived in ARCHIVE_FILTERS else "active",
            page=max(1, _int_or_none(args.get("page")) or 1),
            per_page=per_page if per_page in PAGE_SIZES else None,
        )


def _int_or_none(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # Larger ids can't exist and would overflow PostgreSQL's integer parameters.
    return number if 0 < number < 2**31 else None


def _like_escaped(text: str) -> str:
    """`text` with LIKE's wildcards escaped, to be matched literally."""
    for special in (LIKE_ESCAPE, "%", "_"):  # the escape character itself first
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def scope_conditions(user, query: PipelineQuery) -> list:
    """Where-clauses on ClientProfile (and User, for the name search) for this pipeline."""
    conditions = [client_scope(user)]
    if user.role == Role.ADMIN and query.coach_id is not None:
        conditions.append(ClientProfile.coach_id == query.coach_id)
    if query.archived == "active":
        conditions.append(ClientProfile.archived_at.is_(None))
    elif query.archived == "archived":
        conditions.append(ClientProfile.archived_at.is_not(None))
    if query.cohort_id is not None:
        members = select(CohortMember.client_id).where(CohortMember.cohort_id == query.cohort_id)
        conditions.append(ClientProfile.id.in_(members))
    if query.q:
        pattern = _like_escaped(query.q)
        conditions.append(
            or_(
                User.name.icontains(pattern, escape=LIKE_ESCAPE),
                User.email.icontains(pattern, escape=LIKE_ESCAPE),
            )
        )
    return conditions
