"""Account recovery: reset links by email through the outbox, single use, expiring, hashed."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from coach_app.auth.sessions import KNOWN_DEVICE_COOKIE
from coach_app.extensions import db
from coach_app.models import AuditEvent, LoginAttempt, OutboxMessage, PasswordReset, User
from coach_app.services import recovery
from tests.conftest import PASSWORD, login
from tests.reminders_helpers import redis_app_fixture, run_worker  # noqa: F401
from workers.mail import MemoryBackend

NEW_PASSWORD = "a-brand-new-password"


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audits(action):
    return _count(AuditEvent, AuditEvent.action == action)


def _ask(test_client, email):
    return test_client.post("/auth/reset", data={"email": email})


def _link_in_mail(to):
    """The reset link of the last email delivered to `to` (through the worker)."""
    (message,) = [m for m in MemoryBackend.outbox if m["To"] == to]
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/auth/reset/[\w-]+)", body).group(1)


def test_reset_end_to_end_through_the_outbox_email(redis_app, world):
    app = redis_app
    signed_in = app.test_client()
    login(signed_in, world.coach.email)
    visitor = app.test_client()
    login_page = visitor.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/reset"' in login_page and "Forgot password?" in login_page

    response = _ask(visitor, "COACH@acme.example ")
    assert response.status_code == 200
    assert 'data-testid="reset-sent"' in response.get_data(as_text=True)
    run_worker(app)
    path = _link_in_mail(world.coach.email)
    assert visitor.get(path).status_code == 200

    response = visitor.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    # Every session ended, including the one signed in before the reset.
    assert signed_in.get("/coach/").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.coach.id).check_password(NEW_PASSWORD)
    assert (
        visitor.post(
            "/auth/login", data={"email": world.coach.email, "password": PASSWORD}
        ).status_code
        == 401
    )
    login(visitor, world.coach.email, NEW_PASSWORD)
    # Single use.
    again = app.test_client().get(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert _audits("auth.password_reset_requested") == 1
    assert _audits("auth.password_reset") == 1
    assert _count(OutboxMessage, OutboxMessage.kind == "security_notice") == 1


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, world, as_user):
    invited = as_user(world.coach).post(
        "/coach/invite", data={"name": "Nova", "email": "nova@acme.example", "timezone": ""}
    )
    assert invited.status_code == 200
    before = _count(OutboxMessage)
    answers = {
        email: _ask(app.test_client(), email)
        for email in ("coach@acme.example", "nobody@acme.example", "nova@acme.example")
    }
    assert {r.status_code for r in answers.values()} == {200}
    texts = {r.get_data(as_text=True) for r in answers.values()}
    assert len(texts) == 1
    # Only the real, active account with a password got an email.
    assert _count(OutboxMessage) == before + 1
    assert _count(OutboxMessage, OutboxMessage.kind == "password_reset") == 1


def test_tokens_are_stored_hashed_and_expire(app, world):
    token = recovery.send_password_reset(world.coach)
    db.session.commit()
    reset = db.session.scalar(select(PasswordReset))
    assert token not in reset.token_hash and len(reset.token_hash) == 64
    reset.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    visitor = app.test_client()
    response = visitor.post(
        f"/auth/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.coach.id).check_password(PASSWORD)
    assert visitor.get("/auth/reset/not-a-token").status_code == 410


def test_the_link_expires_after_the_configured_time(app, world):
    recovery.send_password_reset(world.coach)
    db.session.commit()
    reset = db.session.scalar(select(PasswordReset))
    lifetime = reset.expires_at - reset.created_at
    assert abs(lifetime - timedelta(minutes=app.config["PASSWORD_RESET_TTL_MINUTES"])) < timedelta(
        seconds=5
    )


def test_a_second_request_keeps_the_first_link_until_one_is_used(app, world):
    first = recovery.send_password_reset(world.coach)
    second = recovery.send_password_reset(world.coach)
    db.session.commit()
    visitor = app.test_client()
    assert visitor.get(f"/auth/reset/{first}").status_code == 200
    assert visitor.get(f"/auth/reset/{second}").status_code == 200
    visitor.post(f"/auth/reset/{second}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert visitor.get(f"/auth/reset/{first}").status_code == 410


def test_a_short_password_keeps_the_link_open(app, world):
    token = recovery.send_password_reset(world.coach)
    db.session.commit()
    visitor = app.test_client()
    response = visitor.post(f"/auth/reset/{token}", data={"password": "short", "confirm": "short"})
    assert response.status_code == 400 and "at least 12 characters" in response.text
    mismatch = visitor.post(
        f"/auth/reset/{token}", data={"password": NEW_PASSWORD, "confirm": "something-else"}
    )
    assert mismatch.status_code == 400
    assert db.session.scalar(select(PasswordReset)).used_at is None


def test_reset_clears_the_backoff_and_makes_the_browser_known(app, world):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 4):
        app.test_client().post("/auth/login", data={"email": world.coach.email, "password": "x"})
    stranger_free = app.test_client().post(
        "/auth/login", data={"email": world.coach.email, "password": PASSWORD}
    )
    assert stranger_free.status_code == 429
    token = recovery.send_password_reset(world.coach)
    db.session.commit()
    owner = app.test_client()
    owner.post(f"/auth/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert owner.get_cookie(KNOWN_DEVICE_COOKIE, path="/auth/") is not None
    assert _count(LoginAttempt) == 0
    login(owner, world.coach.email, NEW_PASSWORD)


def test_admin_sends_a_reset_to_someone_in_the_organisation(app, world, as_user):
    admin = as_user(world.admin)
    page = admin.get(f"/admin/people/{world.coach.id}").get_data(as_text=True)
    assert f'action="/auth/reset/send/{world.coach.id}"' in page
    response = admin.post(f"/auth/reset/send/{world.coach.id}", follow_redirects=True)
    assert f"A password reset link was sent to {world.coach.email}" in response.text
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    assert message.recipient_id == world.coach.id and "Ada Admin (an administrator)" in (
        message.body_text
    )
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "auth.password_reset_requested")
    )
    assert event.actor_id == world.admin.id and event.details == {"by_admin": True}
    # Another organisation's people are out of reach; non-admins may not send.
    assert admin.post(f"/auth/reset/send/{world.foreign_coach.id}").status_code == 404
    assert as_user(world.coach).post(f"/auth/reset/send/{world.coach2.id}").status_code == 403
    assert _count(PasswordReset) == 1


def test_admin_reset_for_someone_without_a_password_explains_instead(app, world, as_user):
    admin = as_user(world.admin)
    admin.post(
        "/admin/users",
        data={"name": "Cas Coach", "email": "cas@acme.example", "role": "coach", "timezone": ""},
    )
    invited = db.session.scalar(select(User).where(User.email == "cas@acme.example"))
    response = admin.post(f"/auth/reset/send/{invited.id}", follow_redirects=True)
    assert "has not accepted their invitation yet" in response.text
    assert _count(PasswordReset) == 0
