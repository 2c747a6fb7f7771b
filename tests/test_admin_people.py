"""Organisation admin: deactivation, roles, invitations and the people lists, through the pages.

Every refusal is checked to change nothing: no row, no audit event, no message.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    ClientProfile,
    Invitation,
    OutboxMessage,
    Role,
    User,
)
from coach_app.services import ServiceError, people
from coach_app.services.accounts import create_user, find_invitation, invite_staff
from coach_app.services.outbox import queue_email
from coach_app.services.roster import archive_client, restore_client
from tests.conftest import PASSWORD
from tests.factories import interview_for


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def _events(action: str, object_id=None) -> int:
    conditions = [AuditEvent.action == action]
    if object_id is not None:
        conditions.append(AuditEvent.object_id == object_id)
    return _count(AuditEvent, *conditions)


def _pending_for(user) -> int:
    return _count(
        OutboxMessage, OutboxMessage.recipient_id == user.id, OutboxMessage.status == "pending"
    )


def _signs_in(app, user) -> bool:
    response = app.test_client().post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}
    )
    return response.status_code == 302


def _fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _message_for(user, key: str) -> None:
    queue_email(
        dedupe_key=key,
        organization_id=user.organization_id,
        recipient=user,
        kind="digest",
        subject="Your day",
        body_text="Hello",
        due_at=datetime.now(UTC) + timedelta(hours=2),
    )
    db.session.commit()


# --- deactivation ---------------------------------------------------------------------------


def test_deactivating_a_coach_ends_sign_in_and_sessions_and_cancels_messages(app, world, as_user):
    _message_for(world.coach, "digest:coach:test")
    coach_session = as_user(world.coach)
    assert coach_session.get("/coach/").status_code == 200
    admin = as_user(world.admin)

    page = admin.get(f"/admin/people/{world.coach.id}/deactivate")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    # The coach still has Cleo: a warning, and a link to the list where clients are moved.
    assert 'data-testid="clients-warning"' in text
    assert "1 active client" in text
    assert f"/coach/?coach={world.coach.id}" in text

    response = admin.post(f"/admin/people/{world.coach.id}/deactivate")
    assert response.status_code == 302
    coach = _fresh(world.coach)
    assert coach.active is False and coach.deactivated_at is not None
    assert _pending_for(coach) == 0
    assert (
        db.session.scalar(
            select(OutboxMessage.status_reason).where(
                OutboxMessage.dedupe_key == "digest:coach:test"
            )
        )
        == "account deactivated"
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivated"))
    assert event.actor_id == world.admin.id and event.object_id == coach.id
    assert event.details["active_clients"] == 1
    # The open session ends at its next request, and signing in again is refused.
    assert coach_session.get("/coach/").status_code == 302
    assert not _signs_in(app, coach)
    # The clients keep their coach (an admin moves them); nothing else changed.
    assert db.session.get(ClientProfile, world.profile.id).coach_id == coach.id
    assert "deactivated" in admin.get("/admin/users").get_data(as_text=True)

    # Deactivating twice changes nothing more.
    assert admin.post(f"/admin/people/{coach.id}/deactivate").status_code == 302
    assert _events("user.deactivated") == 1


def test_reactivating_restores_sign_in(app, world, as_user):
    admin = as_user(world.admin)
    admin.post(f"/admin/people/{world.organizer.id}/deactivate")
    assert not _signs_in(app, world.organizer)
    page = admin.get(f"/admin/people/{world.organizer.id}/reactivate").get_data(as_text=True)
    assert "sign in again with their password" in page
    assert admin.post(f"/admin/people/{world.organizer.id}/reactivate").status_code == 302
    organizer = _fresh(world.organizer)
    assert organizer.active is True and organizer.deactivated_at is None
    assert _signs_in(app, organizer)
    assert _events("user.reactivated", organizer.id) == 1
    # Reactivating an active account changes nothing.
    admin.post(f"/admin/people/{organizer.id}/reactivate")
    assert _events("user.reactivated") == 1


def test_an_admin_cannot_deactivate_themselves(app, world, as_user):
    admin = as_user(world.admin)
    page = admin.get(f"/admin/people/{world.admin.id}/deactivate").get_data(as_text=True)
    assert "cannot deactivate your own account" in page
    response = admin.post(f"/admin/people/{world.admin.id}/deactivate")
    assert response.status_code == 400
    assert "cannot deactivate your own account" in response.get_data(as_text=True)
    assert _fresh(world.admin).active is True
    assert _events("user.deactivated") == 0
    assert _signs_in(app, world.admin)


def test_the_last_active_admin_is_never_deactivated_or_demoted(app, world):
    # A second admin who never accepted the invitation cannot sign in, so Ada is the last
    # active admin: even another admin's request (here the invited one's) is refused.
    invited_admin, _token = invite_staff(
        admin=world.admin, role=Role.ADMIN, email="second@acme.example", name="Sid"
    )
    db.session.commit()
    before = _count(AuditEvent)
    with pytest.raises(ServiceError, match="last active admin"):
        people.deactivate(person=world.admin, actor=invited_admin)
    db.session.rollback()
    with pytest.raises(ServiceError, match="last active admin"):
        people.change_role(person=world.admin, actor=invited_admin, role=Role.COACH)
    db.session.rollback()
    admin = _fresh(world.admin)
    assert admin.active and admin.role == Role.ADMIN and admin.deactivated_at is None
    assert _count(AuditEvent) == before
    # The invited admin is not an active one: Ada may deactivate or demote them.
    assert people.change_role(person=invited_admin, actor=admin, role=Role.COACH)
    assert people.deactivate(person=invited_admin, actor=admin)
    db.session.commit()


def test_an_admin_may_deactivate_another_active_admin(app, world, as_user):
    other = create_user(
        organization_id=world.org.id,
        role=Role.ADMIN,
        email="other-admin@acme.example",
        name="Abe",
        password=PASSWORD,
    )
    db.session.commit()
    admin = as_user(world.admin)
    assert admin.post(f"/admin/people/{other.id}/deactivate").status_code == 302
    assert _fresh(other).active is False


def test_deactivating_a_client_cancels_reminders_and_reactivating_plans_them(app, world, as_user):
    interview_for(world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(hours=1))
    assert _pending_for(world.client_user) > 0
    admin = as_user(world.admin)
    page = admin.get(f"/admin/people/{world.client_user.id}/deactivate").get_data(as_text=True)
    assert "archive" in page  # points to archiving for ending the coaching
    assert admin.post(f"/admin/people/{world.client_user.id}/deactivate").status_code == 302
    client = _fresh(world.client_user)
    assert client.active is False
    assert _pending_for(client) == 0
    assert not _signs_in(app, client)
    # Deactivating is not archiving: the coach still has the client on the list.
    assert db.session.get(ClientProfile, world.profile.id).archived_at is None
    assert ">Cleo<" in as_user(world.coach).get("/coach/").get_data(as_text=True)

    assert admin.post(f"/admin/people/{client.id}/reactivate").status_code == 302
    assert _pending_for(client) > 0
    assert _signs_in(app, client)


def test_restoring_an_archived_client_does_not_undo_a_deactivation(app, world, as_user):
    admin = as_user(world.admin)
    admin.post(f"/admin/people/{world.client_user.id}/deactivate")
    profile = db.session.get(ClientProfile, world.profile.id)
    assert archive_client(client=profile, actor=world.coach)
    assert restore_client(client=profile, actor=world.coach)
    db.session.commit()
    assert _fresh(world.client_user).active is False
    assert not _signs_in(app, world.client_user)
    # Archived again, then reactivated by the admin: still off until the coach restores.
    profile = db.session.get(ClientProfile, world.profile.id)
    archive_client(client=profile, actor=world.coach)
    db.session.commit()
    response = admin.post(f"/admin/people/{world.client_user.id}/reactivate")
    assert response.status_code == 302
    assert "still archived" in admin.get(response.headers["Location"]).get_data(as_text=True)
    user = _fresh(world.client_user)
    assert user.deactivated_at is None and user.active is False
    profile = db.session.get(ClientProfile, world.profile.id)
    restore_client(client=profile, actor=world.coach)
    db.session.commit()
    assert _signs_in(app, world.client_user)


# --- roles ----------------------------------------------------------------------------------


def test_role_change_is_audited_with_from_and_to(app, world, as_user):
    admin = as_user(world.admin)
    response = admin.post(f"/admin/people/{world.organizer.id}/role", data={"role": "coach"})
    assert response.status_code == 302
    assert _fresh(world.organizer).role == Role.COACH
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.role_changed"))
    assert event.details == {"from": "organizer", "to": "coach"}
    assert event.object_id == world.organizer.id and event.actor_id == world.admin.id
    # The same role again changes nothing.
    admin.post(f"/admin/people/{world.organizer.id}/role", data={"role": "coach"})
    assert _events("user.role_changed") == 1


@pytest.mark.parametrize(
    "who, role, message",
    [
        ("coach2", "organizer", "still coaches 1 active client"),
        ("admin", "coach", "cannot change your own role"),
        ("client_user", "coach", "Clients stay clients"),
        ("organizer", "client", "Not a valid choice"),
        ("organizer", "owner", "Not a valid choice"),
    ],
)
def test_refused_role_changes_change_nothing(app, world, as_user, who, role, message):
    person = getattr(world, who)
    admin = as_user(world.admin)  # signing in is audited too: count after it
    before_role, before_events = person.role, _count(AuditEvent)
    response = admin.post(f"/admin/people/{person.id}/role", data={"role": role})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in text
    if who == "coach2":
        # Says where clients are moved: the client list filtered by this coach.
        assert f"/coach/?coach={person.id}" in text
    assert _fresh(person).role == before_role
    assert _count(AuditEvent) == before_events


def test_staff_never_become_clients_even_through_the_service(app, world):
    with pytest.raises(ServiceError, match="Choose coach"):
        people.change_role(person=world.organizer, actor=world.admin, role=Role.CLIENT)


# --- invitations ----------------------------------------------------------------------------


def _invite(world, email="new.coach@acme.example", name="Nina"):
    user, token = invite_staff(admin=world.admin, role=Role.COACH, email=email, name=name)
    db.session.commit()
    return user, token


def test_pending_invitations_resend_and_revoke(app, world, as_user):
    invited, first_token = _invite(world)
    admin = as_user(world.admin)
    listing = admin.get("/admin/invitations").get_data(as_text=True)
    assert "Nina" in listing and "Revoke" in listing
    assert "invited" in admin.get("/admin/users").get_data(as_text=True)

    response = admin.post(f"/admin/people/{invited.id}/invitation", data={"back": "invitations"})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/admin/invitations"
    )
    with pytest.raises(ServiceError):
        find_invitation(first_token)  # the earlier link stopped working
    live = db.session.scalars(
        select(Invitation).where(Invitation.user_id == invited.id, Invitation.revoked_at.is_(None))
    ).all()
    assert len(live) == 1
    assert _count(OutboxMessage, OutboxMessage.dedupe_key == f"invitation:{live[0].id}") == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.resent"))
    assert event.object_id == live[0].id and event.details["user_id"] == invited.id

    response = admin.post(f"/admin/invitations/{live[0].id}/revoke", data={"back": "invitations"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Invitation, live[0].id).revoked_at is not None
    # The email not yet sent would carry a dead link: it is cancelled.
    assert (
        db.session.scalar(
            select(OutboxMessage.status).where(
                OutboxMessage.dedupe_key == f"invitation:{live[0].id}"
            )
        )
        == "cancelled"
    )
    assert _events("invitation.revoked", live[0].id) == 1
    assert "Nina" not in admin.get("/admin/invitations").get_data(as_text=True)
    # Revoking twice changes nothing.
    admin.post(f"/admin/invitations/{live[0].id}/revoke")
    assert _events("invitation.revoked") == 1


def test_resending_is_refused_for_people_with_a_password_or_switched_off(app, world, as_user):
    invited, _token = _invite(world)
    admin = as_user(world.admin)
    admin.post(f"/admin/people/{invited.id}/deactivate")
    before_invitations, before_messages = _count(Invitation), _count(OutboxMessage)
    for person in (world.coach, _fresh(invited)):
        response = admin.post(f"/admin/people/{person.id}/invitation", follow_redirects=True)
        text = response.get_data(as_text=True)
        assert "nothing to send" in text or "switched off" in text
    assert _count(Invitation) == before_invitations
    assert _count(OutboxMessage) == before_messages
    assert _events("invitation.resent") == 0


def test_another_organisations_admin_reaches_nothing(app, world, as_user):
    invited, _token = _invite(world)
    invitation = db.session.scalar(select(Invitation).where(Invitation.user_id == invited.id))
    foreign = as_user(world.foreign_admin)
    before = _count(AuditEvent)
    for method, url, data in [
        ("get", f"/admin/people/{world.coach.id}", None),
        ("get", f"/admin/people/{world.coach.id}/deactivate", None),
        ("post", f"/admin/people/{world.coach.id}/deactivate", None),
        ("post", f"/admin/people/{world.coach.id}/role", {"role": "admin"}),
        ("post", f"/admin/people/{invited.id}/invitation", None),
        ("post", f"/admin/invitations/{invitation.id}/revoke", None),
    ]:
        assert getattr(foreign, method)(url, data=data).status_code == 404, url
    assert _count(AuditEvent) == before
    assert _fresh(world.coach).active and _fresh(world.coach).role == Role.COACH
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).revoked_at is None
    listing = foreign.get("/admin/invitations").get_data(as_text=True)
    assert "Nina" not in listing
    assert "Cleo" not in foreign.get("/admin/clients").get_data(as_text=True)


# --- lists ----------------------------------------------------------------------------------


def test_clients_list_searches_filters_and_pages_in_sql(app, world, as_user):
    for number in range(55):
        user = create_user(
            organization_id=world.org.id,
            role=Role.CLIENT,
            email=f"person{number:02d}@acme.example",
            name=f"Person {number:02d}",
            password=PASSWORD if number % 2 else None,
        )
        db.session.add(
            ClientProfile(user_id=user.id, organization_id=world.org.id, coach_id=world.coach.id)
        )
    db.session.commit()
    admin = as_user(world.admin)
    first = admin.get("/admin/clients").get_data(as_text=True)
    assert "57 clients" in first and "Person 00" in first and "Cleo" in first
    second = admin.get("/admin/clients?page=2").get_data(as_text=True)
    assert "Person 54" in second and "Person 00" not in second
    found = admin.get("/admin/clients?q=person+1").get_data(as_text=True)
    assert "10 clients match" in found  # Person 10 to Person 19
    # LIKE wildcards are matched literally, and bad input is not an error.
    assert "0 clients match" in admin.get("/admin/clients?q=%25_").get_data(as_text=True)
    assert admin.get("/admin/clients?page=abc&status=nonsense").status_code == 200
    invited = admin.get("/admin/clients?status=invited").get_data(as_text=True)
    assert "28 clients match" in invited and "Cleo" not in invited
    admin.post(f"/admin/people/{world.client_user.id}/deactivate")
    deactivated = admin.get("/admin/clients?status=deactivated").get_data(as_text=True)
    assert "1 client matches" in deactivated and "Cleo" in deactivated
    # Staff are not clients; the other organisation's clients are not listed either.
    assert "coach@acme.example" not in first
    world.client_of(world.foreign_coach, "far@other.example", "Faraway")
    db.session.commit()
    assert "Faraway" not in admin.get("/admin/clients?q=far").get_data(as_text=True)


def test_people_page_shows_status_role_and_buttons(app, world, as_user):
    _invite(world)
    admin = as_user(world.admin)
    admin.post(f"/admin/people/{world.organizer2.id}/deactivate")
    text = admin.get("/admin/users").get_data(as_text=True)
    for expected in ("Nina", "link until", "deactivated", "Reactivate", "Deactivate", "(you)"):
        assert expected in text, expected
    person = admin.get(f"/admin/people/{world.coach.id}").get_data(as_text=True)
    assert "Change role" in person and f"/admin/audit?actor={world.coach.id}" in person
    assert "Foreign Admin" not in text
