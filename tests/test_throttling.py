"""Throttling that protects rather than locks out: Flask-Limiter on the real Redis, per address
and per account, and a per-account backoff the owner's known device skips."""

from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from coach_app.extensions import db, limiter
from coach_app.models import AuditEvent, LoginAttempt, Role
from coach_app.services import credentials
from coach_app.services.accounts import create_user
from tests.conftest import PASSWORD, _truncate_all, login, make_app, service_unavailable

SPRAYED = "Summer2026!"


@pytest.fixture
def app(_schema, database_url, instance_dir):
    """The test app with rate limits on, kept in the test Redis (each test starts clean)."""
    redis_url = make_app(database_url, instance_dir).config["REDIS_URL"]
    try:
        Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except RedisError:
        service_unavailable(f"no redis-server at {redis_url}")
    app = make_app(
        database_url,
        instance_dir,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_SWALLOW_ERRORS=False,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False,
    )
    with app.app_context():
        limiter.reset()
        yield app
        limiter.reset()
        db.session.remove()
        _truncate_all()


def _from(app, address):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def _sign_in(browser, email, password):
    return browser.post("/auth/login", data={"email": email, "password": password})


def test_one_password_on_thirty_accounts_from_one_address_is_stopped(app, world):
    emails = [f"person{n}@acme.example" for n in range(30)]
    for email in emails:
        create_user(
            organization_id=world.org.id,
            role=Role.CLIENT,
            email=email,
            name=email,
            password=PASSWORD,
        )
    db.session.commit()
    attacker = _from(app, "203.0.113.9")
    statuses = [_sign_in(attacker, email, SPRAYED).status_code for email in emails]
    assert 429 in statuses, statuses
    first = statuses.index(429)
    assert first <= 10 and set(statuses[first:]) == {429}, statuses
    refused = _sign_in(attacker, emails[-1], SPRAYED)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts from your network" in refused.get_data(as_text=True)
    # A refused request changes nothing: no failure recorded, no audit event.
    failures = db.session.scalar(select(func.count(LoginAttempt.id)))
    audited = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "auth.sign_in_failed")
    )
    assert failures == audited == first
    # Other addresses are not affected.
    assert _sign_in(_from(app, "198.51.100.4"), emails[0], PASSWORD).status_code == 302


def test_successful_sign_ins_from_one_office_address_are_not_limited(app, world):
    office = "192.0.2.10"
    for n in range(15):
        user = create_user(
            organization_id=world.org.id,
            role=Role.COACH,
            email=f"staff{n}@acme.example",
            name=f"Staff {n}",
            password=PASSWORD,
        )
        db.session.commit()
        assert _sign_in(_from(app, office), user.email, PASSWORD).status_code == 302


def test_a_strangers_failures_do_not_stop_the_owner_on_a_known_device(app, world):
    owner = _from(app, "198.51.100.20")
    login(owner, world.coach.email)
    owner.post("/auth/logout")
    # A stranger fails from several addresses, below each address's limit.
    for n in range(12):
        _sign_in(_from(app, f"203.0.113.{n // 4 + 1}"), world.coach.email, "guess")
    # The account now asks anyone without the device cookie to wait, right password or not...
    elsewhere = _sign_in(_from(app, "198.51.100.30"), world.coach.email, PASSWORD)
    assert elsewhere.status_code == 429
    text = elsewhere.get_data(as_text=True)
    assert "Too many failed attempts for this account" in text and "Forgot password?" in text
    # ...but the owner's browser, which signed in here before, goes straight in.
    assert _sign_in(owner, world.coach.email, PASSWORD).status_code == 302
    assert owner.get("/coach/").status_code == 200
    # The cookie is signed: a forged one is ignored.
    forger = _from(app, "198.51.100.31")
    forger.set_cookie("ft_known_device", "[2]", path="/auth/")
    assert _sign_in(forger, world.coach.email, PASSWORD).status_code == 429


def test_backoff_progression(app, world):
    email = world.coach.email
    start = datetime.now(UTC) - timedelta(minutes=1)
    free = app.config["LOGIN_MAX_FAILURES"]

    def wait_after(failures):
        db.session.query(LoginAttempt).delete()
        db.session.add_all(LoginAttempt(email=email, created_at=start) for _ in range(failures))
        db.session.commit()
        return credentials.login_wait(email, now=start)

    assert wait_after(free - 1) is None
    assert wait_after(free) == timedelta(seconds=1)
    assert wait_after(free + 1) == timedelta(seconds=2)
    assert wait_after(free + 4) == timedelta(seconds=16)
    assert wait_after(free + 30) == timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"])
    # It is a delay, not a lock: once it has passed, the next attempt is allowed.
    later = start + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"], seconds=1)
    assert credentials.login_wait(email, now=later) is None
    # Failures older than a day no longer count.
    assert credentials.login_wait(email, now=start + timedelta(hours=25)) is None


def test_current_password_guesses_are_limited(app, world):
    browser = _from(app, "198.51.100.40")
    login(browser, world.coach.email)
    guesses = [
        browser.post(
            "/auth/password",
            data={"current_password": f"guess-{n}", "new_password": "n" * 12, "confirm": "n" * 12},
        ).status_code
        for n in range(6)
    ]
    assert guesses[:5] == [400] * 5 and guesses[5] == 429
    # The right password is refused too until the window passes, and so is the confirm page.
    right = browser.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": "n" * 12, "confirm": "n" * 12},
    )
    assert right.status_code == 429
    assert browser.post("/auth/confirm", data={"password": PASSWORD}).status_code == 429
    # Reading the page is still fine; only password checks are counted.
    assert browser.get("/auth/password").status_code == 200


def test_reset_requests_are_limited_per_email_and_per_address(app, world):
    statuses = [
        _from(app, f"198.51.100.{50 + n}")
        .post("/auth/reset", data={"email": world.coach.email})
        .status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    one_address = _from(app, "198.51.100.60")
    statuses = [
        one_address.post("/auth/reset", data={"email": f"x{n}@acme.example"}).status_code
        for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_reset_and_invitation_links_are_limited_per_address(app, world):
    guesser = _from(app, "198.51.100.70")
    statuses = [guesser.get(f"/auth/reset/guess-{n}").status_code for n in range(20)]
    statuses += [guesser.get(f"/auth/invitation/guess-{n}").status_code for n in range(11)]
    assert set(statuses[:30]) == {410} and statuses[30] == 429


def test_a_refused_sign_in_does_not_tell_whether_the_account_exists(app, world):
    # The backoff counts per typed address, whether or not it has an account.
    for n in range(app.config["LOGIN_MAX_FAILURES"] + 4):
        _sign_in(_from(app, f"203.0.113.{n + 1}"), "nobody@acme.example", "guess")
        _sign_in(_from(app, f"203.0.113.{n + 1}"), world.coach2.email, "guess")
    unknown = _sign_in(_from(app, "203.0.113.99"), "nobody@acme.example", "guess")
    known = _sign_in(_from(app, "203.0.113.99"), world.coach2.email, "guess")
    assert unknown.status_code == known.status_code == 429


def test_invitations_and_exports_are_limited_per_account(app, world, as_user):
    app.config.update(INVITE_LIMIT="2 per minute", EXPORT_LIMIT="3 per minute")
    coach = as_user(world.coach)
    for n in range(2):
        response = coach.post(
            "/coach/invite", data={"name": f"Invitee {n}", "email": f"invitee{n}@example.org"}
        )
        assert response.status_code in (200, 302), response.status_code
    third = coach.post("/coach/invite", data={"name": "Third", "email": "third@example.org"})
    assert third.status_code == 429
    assert "Too many invitations" in third.get_data(as_text=True)
    # Another account is not held back by this one's invitations.
    admin = as_user(world.admin)
    invited = admin.post(
        "/admin/users",
        data={"name": "Cas Coach", "email": "cas@acme.example", "role": "coach", "timezone": ""},
    )
    assert invited.status_code == 302
    for _ in range(3):
        assert admin.get("/analytics/export/headline.csv").status_code == 200
    assert admin.get("/analytics/export/headline.csv").status_code == 429
