"""Sign-in, throttling, invitations, passwords, staff creation and bad input."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import ClientProfile, Invitation, LoginAttempt, OutboxMessage, User
from tests.conftest import PASSWORD, login, make_app


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_login_and_logout(client, world):
    response = client.post(
        "/auth/login", data={"email": "COACH@acme.example ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/coach/").status_code == 200
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/coach/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, world):
    response = client.post("/auth/login", data={"email": "coach@acme.example", "password": "nope"})
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_login_is_throttled_after_repeated_failures(app, client, world):
    # Free failures, then a doubling wait (8 s after three more): see tests/test_throttling.py.
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        client.post("/auth/login", data={"email": "coach@acme.example", "password": "wrong"})
    # Even the right password waits, from a device that never signed in to this account.
    response = client.post(
        "/auth/login", data={"email": "coach@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Once the window has passed, the right password works again.
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.created_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    assert login(client, "coach@acme.example").status_code == 302


def test_missing_fields_get_field_errors_not_500(client, world):
    response = client.post("/auth/login", data={})
    assert response.status_code == 400
    assert "This field is required" in response.get_data(as_text=True)


def test_safe_next_redirect_refuses_other_sites(client, world):
    response = client.post(
        "/auth/login?next=https://evil.example/steal",
        data={"email": "coach@acme.example", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"
    client.post("/auth/logout")
    response = client.post(
        "/auth/login?next=/coach/invite", data={"email": "coach@acme.example", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/coach/invite"


def _invite(test_client, email="new.client@acme.example", timezone="America/Chicago"):
    return test_client.post(
        "/coach/invite", data={"name": "Nova Client", "email": email, "timezone": timezone}
    )


def test_coach_invites_client_who_sets_password_once(app, world, as_user):
    coach = as_user(world.coach)
    response = _invite(coach)
    assert response.status_code == 200
    link = re.search(r'value="(http://localhost/auth/invitation/[^"]+)"', response.text).group(1)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert message.to_email == "new.client@acme.example" and link in message.body_text
    profile = db.session.scalar(
        select(ClientProfile)
        .join(User, User.id == ClientProfile.user_id)
        .where(User.email == "new.client@acme.example")
    )
    assert profile.coach_id == world.coach.id and not profile.user.is_active

    visitor = app.test_client()
    path = link.removeprefix("http://localhost")
    assert visitor.get(path).status_code == 200
    response = visitor.post(
        path, data={"password": "a-long-password", "confirm": "a-long-password", "timezone": ""}
    )
    assert response.status_code == 302
    assert visitor.get("/me/").status_code == 200
    db.session.expire_all()
    assert profile.user.timezone == "America/Chicago"

    # The link is single-use.
    again = app.test_client().get(path)
    assert again.status_code == 410 and "already been used" in again.text


def test_expired_invitation_is_refused(app, world, as_user):
    response = _invite(as_user(world.coach))
    path = re.search(r'value="http://localhost(/auth/invitation/[^"]+)"', response.text).group(1)
    invitation = db.session.scalar(select(Invitation))
    invitation.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    visitor = app.test_client()
    response = visitor.post(
        path, data={"password": "a-long-password", "confirm": "a-long-password"}
    )
    assert response.status_code == 410 and "expired" in response.text
    db.session.expire_all()
    assert invitation.accepted_at is None


def _error_text(response) -> str:
    text = response.get_data(as_text=True)
    return text[text.index("be used for a new account") : text.index("another one") + 11]


def test_duplicate_email_is_refused_without_partial_write(world, as_user):
    coach = as_user(world.coach)
    users_before, profiles_before = _count(User), _count(ClientProfile)
    response = _invite(coach, email="CLIENT@acme.example")
    assert response.status_code == 400
    assert "be used for a new account" in response.text
    assert (_count(User), _count(ClientProfile)) == (users_before, profiles_before)
    # Another organisation's person gets the very same words: nothing says where they are.
    foreign = _invite(coach, email=world.foreign_coach.email)
    assert foreign.status_code == 400
    assert _error_text(foreign) == _error_text(response)
    assert _count(OutboxMessage) == 0


def test_unknown_time_zone_is_refused(world, as_user):
    response = _invite(as_user(world.coach), timezone="Mars/Olympus_Mons")
    assert response.status_code == 400
    assert "Not a valid choice" in response.text
    assert _count(Invitation) == 0


def test_short_password_on_accept_keeps_the_invitation_open(app, world, as_user):
    response = _invite(as_user(world.coach))
    path = re.search(r'value="http://localhost(/auth/invitation/[^"]+)"', response.text).group(1)
    response = app.test_client().post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 400 and "at least 12 characters" in response.text
    assert db.session.scalar(select(Invitation)).accepted_at is None


def test_password_change(world, as_user):
    coach = as_user(world.coach)
    bad = coach.post(
        "/auth/password",
        data={"current_password": "wrong", "new_password": "x" * 12, "confirm": "x" * 12},
    )
    assert bad.status_code == 400 and "current password is not right" in bad.text
    good = coach.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": "y" * 12, "confirm": "y" * 12},
    )
    assert good.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.coach.id).check_password("y" * 12)


def test_admin_invites_a_coach(world, as_user):
    admin = as_user(world.admin)
    response = admin.post(
        "/admin/users",
        data={"name": "Cas Coach", "email": "cas@acme.example", "role": "coach", "timezone": ""},
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "cas@acme.example"))
    assert user.role == "coach" and user.organization_id == world.org.id
    email = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == user.id))
    # A coach is told what they will do, not the client's wording.
    assert "as a coach" in email.body_text and "Acme Coaching" in email.body_text
    assert "each of your interviews" not in email.body_text


def test_csrf_is_enforced_on_forms(database_url, instance_dir, _schema):
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    with app.app_context():
        response = app.test_client().post(
            "/auth/login", data={"email": "a@b.example", "password": "whatever"}
        )
        assert response.status_code == 400
        assert "CSRF" in response.text


def test_cli_creates_admin(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "boss@acme.example",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--organization",
            "Acme Coaching",
            "--password",
            "long-enough-password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@acme.example"))
    assert user.role == "admin" and user.organization_id == world.org.id
    duplicate = runner.invoke(
        args=["create-user", "--email", "boss@acme.example", "--name", "B", "--password", "x" * 12]
    )
    assert duplicate.exit_code != 0 and "can't be used for a new account" in duplicate.output


@pytest.mark.parametrize("path", ["/coach/clients/abc", "/me/tasks/99999999", "/cohorts/0"])
def test_malformed_ids_are_404_not_500(world, as_user, path):
    assert as_user(world.admin).get(path).status_code == 404
