"""A person's own profile: name, time zone, and a re-verified change of sign-in address.

The address changes only when the link sent to the new address is opened by the same
signed-in person; the link works once, expires, and only its hash is stored (like
invitations in services/accounts.py). The old address is told when the change is made.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from coach_app.extensions import db
from coach_app.models import EmailChange, OutboxMessage, User, audit
from coach_app.services import ServiceError
from coach_app.services.accounts import check_timezone, normalize_email
from coach_app.services.outbox import queue_email
from coach_app.services.tokens import new_token, token_hash
from coach_app.timefmt import local_datetime
from coach_app.urls import absolute_url

EMAIL_CHANGE_TTL = timedelta(hours=24)
# One wording for every refusal of a new address, whichever organisation holds it: the form
# must not reveal who has an account elsewhere.
ADDRESS_REFUSED = "This address can't be used for your account. Choose another one."
LINK_INVALID = "This link is not valid. Ask for a new one on your profile page."
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class ProfileInput:
    """What a person may change about themselves on the profile page (besides the address)."""

    name: str
    timezone: str | None = None  # blank: the organisation's zone


def update_profile(*, user: User, data: ProfileInput) -> list[str]:
    """Change the name and time zone; returns the names of the fields that changed.

    A new zone does not move any deadline: tasks keep their instants and each interview its
    own zone; pages simply show times in the new zone.
    """
    name = (data.name or "").replace("\x00", "").strip()
    if not name:
        raise ServiceError("Enter your name.", "name")
    if len(name) > 200:
        raise ServiceError("Keep your name to 200 characters or fewer.", "name")
    timezone = check_timezone(data.timezone)
    changed = []
    if name != user.name:
        user.name = name
        changed.append("name")
    if timezone != user.timezone:
        user.timezone = timezone
        changed.append("timezone")
    if changed:
        audit.record(
            organization_id=user.organization_id,
            actor_id=user.id,
            action="profile.updated",
            obj=user,
            details={"changed": changed},
        )
    return changed


def _address_in_use(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email)) is not None


def pending_email_change(user: User, now: datetime | None = None) -> EmailChange | None:
    """The person's live, unexpired request to change address, if any."""
    now = now or datetime.now(UTC)
    return db.session.scalar(
        select(EmailChange)
        .where(
            EmailChange.user_id == user.id,
            EmailChange.used_at.is_(None),
            EmailChange.revoked_at.is_(None),
            EmailChange.expires_at > now,
        )
        .order_by(EmailChange.id.desc())
        .limit(1)
    )


def _revoke_pending(user: User, now: datetime) -> None:
    for earlier in db.session.scalars(
        select(EmailChange).where(
            EmailChange.user_id == user.id,
            EmailChange.used_at.is_(None),
            EmailChange.revoked_at.is_(None),
        )
    ):
        earlier.revoked_at = now


def request_email_change(*, user: User, new_email: str, now: datetime | None = None) -> str:
    """Send a confirmation link to the new address; returns the raw token (never stored)."""
    now = now or datetime.now(UTC)
    email = normalize_email(new_email)
    if not email or len(email) > 254 or not _EMAIL_SHAPE.match(email):
        raise ServiceError("Enter an email address like name@example.com.", "email")
    if email == user.email:
        raise ServiceError("That is already your address.", "email")
    if _address_in_use(email):
        raise ServiceError(ADDRESS_REFUSED, "email")
    # A new request replaces any earlier link, so only the latest address can be confirmed.
    _revoke_pending(user, now)
    token = new_token()
    change = EmailChange(
        user_id=user.id,
        new_email=email,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + EMAIL_CHANGE_TTL,
    )
    db.session.add(change)
    db.session.flush()
    link = absolute_url("account.confirm_email", token=token)
    hours = int(EMAIL_CHANGE_TTL / timedelta(hours=1))
    queue_email(
        dedupe_key=f"email_change:{change.id}",
        organization_id=user.organization_id,
        recipient=user,
        to_email=email,
        kind="email_change",
        subject="Confirm your new address for Followthrough",
        body_text=(
            f"Hello {user.name},\n\nYou asked to sign in to Followthrough with this address "
            f"from now on. Open this link while signed in to confirm it (it works once and "
            f"expires in {hours} hours):\n{link}\n\nIf you did not ask for this, ignore this "
            "email: nothing changes.\n"
        ),
        link=link,
        due_at=now,
    )
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="email_change.requested",
        obj=change,
    )
    return token


def live_email_change(*, user: User, token: str, now: datetime | None = None) -> EmailChange:
    """The pending change a confirmation link names, or ServiceError saying why it can't be used.

    Refuses links of another person, used, revoked or expired links, and an address taken
    since the link was sent. Reads only: opening the link changes nothing until confirmed.
    """
    now = now or datetime.now(UTC)
    change = db.session.scalar(
        select(EmailChange).where(EmailChange.token_hash == token_hash(token or ""))
    )
    if change is None or change.user_id != user.id or change.revoked_at is not None:
        raise ServiceError(LINK_INVALID)
    if change.used_at is not None:
        raise ServiceError("This link has already been used.")
    if change.expires_at <= now:
        raise ServiceError("This link has expired. Ask for a new one on your profile page.")
    if _address_in_use(change.new_email):
        raise ServiceError(ADDRESS_REFUSED)
    return change


def confirm_email_change(*, user: User, token: str, now: datetime | None = None) -> str:
    """Use a confirmation link: the address changes and the old one gets a notice.

    Returns the old address; refuses what `live_email_change` refuses.
    """
    now = now or datetime.now(UTC)
    change = live_email_change(user=user, token=token, now=now)
    old = user.email
    user.email = change.new_email
    change.used_at = now
    _revoke_pending(user, now)
    # Reminders already planned follow the person to the new address.
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == user.id,
            OutboxMessage.status == "pending",
            OutboxMessage.to_email == old,
        )
        .values(to_email=change.new_email)
        .execution_options(synchronize_session=False)
    )
    when = local_datetime(now, user.effective_timezone)
    queue_email(
        dedupe_key=f"email_changed:{change.id}",
        organization_id=user.organization_id,
        recipient=user,
        to_email=old,
        kind="email_changed",
        subject="Your Followthrough sign-in address was changed",
        body_text=(
            f"Hello {user.name},\n\nThe sign-in address of your Followthrough account was "
            f"changed from {old} to {change.new_email} on {when}. From now on emails go to "
            "the new address.\n\nIf you did not do this, tell your coach or your "
            "organisation's administrator at once.\n"
        ),
        due_at=now,
    )
    audit.record(
        organization_id=user.organization_id,
        actor_id=user.id,
        action="email_change.confirmed",
        obj=change,
    )
    return old
