"""The lists an admin reads: staff, clients (searched and paged in SQL), pending invitations."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from coach_app.extensions import db
from coach_app.models import ClientProfile, Invitation, Role, User
from coach_app.services.people import person_status
from coach_app.services.pipeline import LIKE_ESCAPE, _like_escaped

PER_PAGE = 50
CLIENT_STATUSES = ("all", "active", "invited", "deactivated", "archived")


@dataclass
class PersonRow:
    """One line of a people list."""

    user: User
    status: str
    clients: int = 0
    profile: ClientProfile | None = None
    coach_name: str | None = None
    link_expires_at: datetime | None = None

    @property
    def link_expired(self) -> bool:
        """The invitation link exists but can no longer be used."""
        return self.link_expires_at is not None and self.link_expires_at <= datetime.now(UTC)


@dataclass
class Page:
    """A page of rows and where it sits among all of them."""

    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))


def _live_links():
    """Subquery: user id -> expiry of their newest unused, unrevoked invitation."""
    return (
        select(Invitation.user_id, func.max(Invitation.expires_at).label("expires_at"))
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .group_by(Invitation.user_id)
        .subquery()
    )


def staff_rows(organization_id: int) -> list[PersonRow]:
    """Coaches, organizers and admins, with active-client counts and invitation expiry."""
    counts = (
        select(ClientProfile.coach_id, func.count(ClientProfile.id).label("clients"))
        .where(ClientProfile.archived_at.is_(None))
        .group_by(ClientProfile.coach_id)
        .subquery()
    )
    links = _live_links()
    rows = db.session.execute(
        select(User, func.coalesce(counts.c.clients, 0), links.c.expires_at)
        .outerjoin(counts, counts.c.coach_id == User.id)
        .outerjoin(links, links.c.user_id == User.id)
        .where(User.organization_id == organization_id, User.role != Role.CLIENT.value)
        .order_by(User.role, User.name, User.id)
    ).all()
    return [
        PersonRow(user=user, status=person_status(user), clients=clients, link_expires_at=expiry)
        for user, clients, expiry in rows
    ]


def _client_status_condition(status: str):
    not_deactivated = User.deactivated_at.is_(None)
    current = and_(not_deactivated, ClientProfile.archived_at.is_(None), User.active.is_(True))
    return {
        "active": and_(current, User.password_hash.is_not(None)),
        "invited": and_(current, User.password_hash.is_(None)),
        "deactivated": User.deactivated_at.is_not(None),
        "archived": and_(not_deactivated, ClientProfile.archived_at.is_not(None)),
    }.get(status)


def client_page(
    organization_id: int, *, q: str = "", status: str = "all", page: int = 1, per_page=PER_PAGE
) -> Page:
    """The organisation's clients matching a name or email search, one page, by name."""
    coach = aliased(User)
    links = _live_links()
    conditions = [ClientProfile.organization_id == organization_id]
    q = (q or "").strip()
    if q:
        pattern = f"%{_like_escaped(q.lower())}%"
        conditions.append(
            or_(
                func.lower(User.name).like(pattern, escape=LIKE_ESCAPE),
                User.email.like(pattern, escape=LIKE_ESCAPE),
            )
        )
    status_condition = _client_status_condition(status)
    if status_condition is not None:
        conditions.append(status_condition)
    total = db.session.scalar(
        select(func.count(ClientProfile.id))
        .join(User, User.id == ClientProfile.user_id)
        .where(*conditions)
    )
    rows = db.session.execute(
        select(User, ClientProfile, coach.name, links.c.expires_at)
        .select_from(ClientProfile)
        .join(User, User.id == ClientProfile.user_id)
        .join(coach, coach.id == ClientProfile.coach_id)
        .outerjoin(links, links.c.user_id == User.id)
        .where(*conditions)
        .order_by(User.name, User.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(
        rows=[
            PersonRow(
                user=user,
                status=person_status(user, profile),
                profile=profile,
                coach_name=coach_name,
                link_expires_at=expiry,
            )
            for user, profile, coach_name, expiry in rows
        ],
        total=total,
        page=page,
        per_page=per_page,
    )


def pending_invitations(organization_id: int, *, page: int = 1, per_page=PER_PAGE) -> Page:
    """Invitations neither used nor revoked (expired ones included), newest first."""
    inviter = aliased(User)
    conditions = (
        Invitation.organization_id == organization_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
    )
    total = db.session.scalar(select(func.count(Invitation.id)).where(*conditions))
    rows = db.session.execute(
        select(Invitation, User, inviter.name)
        .join(User, User.id == Invitation.user_id)
        .outerjoin(inviter, inviter.id == Invitation.invited_by_id)
        .where(*conditions)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(rows=list(rows), total=total, page=page, per_page=per_page)


def profile_of(person: User) -> ClientProfile | None:
    """The person's client profile, if they are a client."""
    return db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == person.id))


def live_link_expiry(person: User) -> datetime | None:
    """When the person's newest unused invitation link expires (None when there is none)."""
    return db.session.scalar(
        select(func.max(Invitation.expires_at)).where(
            Invitation.user_id == person.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
