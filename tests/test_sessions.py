"""Server-side sessions: a saved cookie dies on logout, password change, revoke, deactivation."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select

from coach_app.auth.session_routes import describe_device
from coach_app.extensions import db
from coach_app.models import AuditEvent, OutboxMessage, User, UserSession
from coach_app.services import user_sessions
from coach_app.services.tokens import token_hash
from tests.conftest import PASSWORD, login

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def _copy_of(app, browser):
    """A second client holding a saved copy of `browser`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def _rows(user, live_only=True):
    query = select(UserSession).where(UserSession.user_id == user.id)
    if live_only:
        query = query.where(user_sessions.live())
    db.session.expire_all()
    return db.session.scalars(query.order_by(UserSession.id)).all()


def _count(action):
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def _browser(app, user, agent=FIREFOX, address="127.0.0.1"):
    browser = app.test_client()
    browser.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    login(browser, user.email)
    return browser


def test_a_saved_cookie_stops_working_after_logout(app, world):
    browser = _browser(app, world.coach)
    thief = _copy_of(app, browser)
    assert thief.get("/coach/").status_code == 200
    assert browser.post("/auth/logout").status_code == 302
    assert thief.get("/coach/").status_code == 302
    assert browser.get("/coach/").status_code == 302
    (row,) = _rows(world.coach, live_only=False)
    assert row.revoked_at is not None
    assert _count("auth.sign_in") == 1 and _count("auth.sign_out") == 1


def test_the_cookie_holds_a_session_token_not_the_user_id(app, world):
    # A cookie forged with the user id (the old format) signs nobody in.
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["_user_id"] = str(world.coach.id)
        session["_fresh"] = True
    assert forged.get("/coach/").status_code == 302
    browser = _browser(app, world.coach)
    with browser.session_transaction() as session:
        token = session["_user_id"]
    assert token != str(world.coach.id) and len(token) >= 40
    # Only its hash is stored.
    (row,) = _rows(world.coach)
    assert row.token_hash == token_hash(token) and token not in row.token_hash


def test_password_change_ends_other_sessions_and_old_copies_but_keeps_this_one(app, world):
    here = _browser(app, world.coach)
    elsewhere = _browser(app, world.coach, agent=IPHONE, address="10.0.0.7")
    copy_before = _copy_of(app, here)
    response = here.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": "n" * 12, "confirm": "n" * 12},
        follow_redirects=True,
    )
    assert "signed out on 1 other session(s)" in response.get_data(as_text=True)
    assert here.get("/coach/").status_code == 200
    assert elsewhere.get("/coach/").status_code == 302
    assert copy_before.get("/coach/").status_code == 302
    assert len(_rows(world.coach)) == 1
    assert _count("password.changed") == 1 and _count("auth.sessions_revoked") == 1
    # The person is told by email, in case it was not them (ASVS 2.2.3).
    notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "security_notice"))
    assert notice.recipient_id == world.coach.id and "/auth/reset" in notice.body_text


def test_revoking_one_session_from_the_sessions_page(app, world):
    here = _browser(app, world.coach)
    phone = _browser(app, world.coach, agent=IPHONE, address="10.0.0.7")
    page = here.get("/auth/sessions").get_data(as_text=True)
    assert "Firefox on Windows" in page and "Safari on iPhone" in page
    assert "10.0.0.7" in page and page.count('data-testid="this-device"') == 1
    here_row, phone_row = _rows(world.coach)
    assert f'data-testid="session-{here_row.id}"' in page
    response = here.post(f"/auth/sessions/{phone_row.id}/revoke")
    assert response.status_code == 302
    assert phone.get("/coach/").status_code == 302
    assert here.get("/coach/").status_code == 200
    assert "Safari on iPhone" not in here.get("/auth/sessions").get_data(as_text=True)


def test_nobody_sees_or_revokes_someone_elses_sessions(app, world):
    coach = _browser(app, world.coach)
    admin = _browser(app, world.admin)
    (coach_row,) = _rows(world.coach)
    # Sessions are their owner's alone, even for an admin of the same organisation.
    assert admin.post(f"/auth/sessions/{coach_row.id}/revoke").status_code == 404
    assert f"session-{coach_row.id}" not in admin.get("/auth/sessions").get_data(as_text=True)
    assert coach.get("/coach/").status_code == 200


def test_revoking_this_device_signs_out(app, world):
    here = _browser(app, world.coach)
    (row,) = _rows(world.coach)
    response = here.post(f"/auth/sessions/{row.id}/revoke")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert here.get("/coach/").status_code == 302


def test_sign_out_everywhere_else(app, world):
    here = _browser(app, world.coach)
    others = [_browser(app, world.coach, address=f"10.0.0.{n}") for n in (2, 3)]
    client = _browser(app, world.client_user)
    response = here.post("/auth/sessions/others/revoke", follow_redirects=True)
    assert "Signed out 2 other session(s)" in response.get_data(as_text=True)
    assert all(other.get("/coach/").status_code == 302 for other in others)
    assert here.get("/coach/").status_code == 200
    # Other people's sessions are untouched.
    assert client.get("/me/").status_code == 200
    event_ = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "auth.sessions_revoked")
    )
    assert event_.details["count"] == 2 and event_.actor_id == world.coach.id


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(app, world, as_user):
    client = _browser(app, world.client_user)
    assert client.get("/me/").status_code == 200
    coach = as_user(world.coach)
    assert coach.post(f"/coach/clients/{world.profile.id}/archive").status_code == 302
    assert client.get("/me/").status_code == 302
    assert _rows(world.client_user) == []
    assert coach.post(f"/coach/clients/{world.profile.id}/restore").status_code == 302
    assert client.get("/me/").status_code == 302
    # Any code path that turns an account off ends its sessions (not only the archive page).
    coach_copy = _copy_of(app, coach)
    user = db.session.get(User, world.coach.id)
    user.active = False
    db.session.commit()
    user.active = True
    db.session.commit()
    assert coach_copy.get("/coach/").status_code == 302


def test_idle_and_absolute_lifetimes(app, world):
    browser = _browser(app, world.coach)
    (row,) = _rows(world.coach)
    row.last_seen_at = datetime.now(UTC) - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.session.commit()
    assert browser.get("/coach/").status_code == 302
    browser = _browser(app, world.coach)
    row = _rows(world.coach)[-1]
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert browser.get("/coach/").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, world):
    browser = _browser(app, world.coach)
    (row,) = _rows(world.coach)
    first = row.last_seen_at
    browser.get("/coach/")
    assert _rows(world.coach)[0].last_seen_at == first
    two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)
    row = _rows(world.coach)[0]
    row.last_seen_at = two_minutes_ago
    db.session.commit()
    browser.get("/coach/")
    assert _rows(world.coach)[0].last_seen_at > two_minutes_ago + timedelta(seconds=90)


def test_loading_the_user_and_the_session_is_one_query(app, world):
    from coach_app.auth.sessions import load_user

    browser = _browser(app, world.coach)
    with browser.session_transaction() as session:
        token = session["_user_id"]
    db.session.expunge_all()
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        user = load_user(token)
        assert user.email == world.coach.email and user.organization.name == "Acme Coaching"
        assert user.auth_session.user_id == user.id
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert load_user("not-a-token") is None and load_user("") is None


def test_password_change_needs_a_recent_password_entry(app, world):
    browser = _browser(app, world.coach)
    assert browser.get("/auth/password").status_code == 200
    (row,) = _rows(world.coach)
    row.reauthenticated_at = datetime.now(UTC) - timedelta(minutes=11)
    db.session.commit()
    response = browser.get("/auth/password")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/confirm?next=/auth/password")
    # A change posted with a stale session is sent to confirm too, and changes nothing.
    posted = browser.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": "n" * 12, "confirm": "n" * 12},
    )
    assert posted.status_code == 302 and "/auth/confirm" in posted.headers["Location"]
    db.session.expire_all()
    assert db.session.get(User, world.coach.id).check_password(PASSWORD)
    wrong = browser.post("/auth/confirm?next=/auth/password", data={"password": "nope"})
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    assert _count("auth.password_check_failed") == 1
    # An open redirect is not possible through `next`.
    evil = browser.post("/auth/confirm?next=https://evil.example/", data={"password": PASSWORD})
    assert evil.headers["Location"] == "/"
    right = browser.post("/auth/confirm?next=/auth/password", data={"password": PASSWORD})
    assert right.status_code == 302 and right.headers["Location"] == "/auth/password"
    assert browser.get("/auth/password").status_code == 200


def test_invitation_acceptance_starts_a_session_through_sign_in(app, world, as_user):
    import re

    response = as_user(world.coach).post(
        "/coach/invite", data={"name": "Nova", "email": "nova@acme.example", "timezone": ""}
    )
    path = re.search(r'value="http://localhost(/auth/invitation/[^"]+)"', response.text).group(1)
    visitor = app.test_client()
    visitor.post(path, data={"password": "a-long-password", "confirm": "a-long-password"})
    user = db.session.scalar(select(User).where(User.email == "nova@acme.example"))
    (row,) = _rows(user)
    assert row.method == "invitation"
    assert visitor.get("/me/").status_code == 200


def test_describe_device():
    assert describe_device(FIREFOX) == "Firefox on Windows"
    assert describe_device(IPHONE) == "Safari on iPhone"
    chrome_mac = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
    )
    assert describe_device(chrome_mac) == "Chrome on macOS"
    assert describe_device(chrome_mac + " Edg/126.0") == "Edge on macOS"
    assert describe_device(None) == "Unknown device"
    assert describe_device("curl/8.0") == "Unknown device"
