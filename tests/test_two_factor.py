"""The second factor through the real pages: enrol, sign in with a code, recovery, devices."""

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import AuditEvent, OutboxMessage, RecoveryCode, TrustedDevice, TwoFactor
from coach_app.services import two_factor as service
from tests.conftest import PASSWORD, login


@pytest.fixture
def clock(monkeypatch):
    """The clock codes are checked against; `clock.step(n)` moves it n 30-second steps on."""

    class Clock:
        now = time.time()

        def __call__(self):
            return self.now

        def step(self, n=1):
            self.now += n * service.STEP_SECONDS

        def code(self, secret, offset=0):
            return pyotp.TOTP(secret).at(self.now + offset * service.STEP_SECONDS)

    fake = Clock()
    monkeypatch.setattr(service, "_clock", fake)
    return fake


def enrol(test_client, user, clock):
    """Turn the second factor on through the pages; return (secret, recovery codes)."""
    assert test_client.post("/auth/two-factor/setup").status_code == 302
    page = test_client.get("/auth/two-factor").get_data(as_text=True)
    assert "<svg" in page and "qr-code" in page
    db.session.expire_all()
    secret = service.unseal(db.session.get(TwoFactor, user.id).secret)
    shown = re.search(r'data-testid="setup-key">([A-Z2-7 ]+)<', page).group(1)
    assert shown.replace(" ", "") == secret
    response = test_client.post("/auth/two-factor/confirm", data={"code": clock.code(secret)})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", response.get_data(as_text=True))
    assert len(codes) == 10
    clock.step()  # the enrolment code's step is used up
    return secret, codes


def actions(user, action):
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == action,
            AuditEvent.object_type == "User",
            AuditEvent.object_id == user.id,
        )
    ).all()


def password_step(app, email, password=PASSWORD):
    """Post the password; return the client (pending, not signed in) and the response."""
    test_client = app.test_client()
    response = test_client.post("/auth/login", data={"email": email, "password": password})
    return test_client, response


def is_signed_in(test_client) -> bool:
    return test_client.get("/auth/password").status_code == 200


@pytest.fixture
def enrolled(app, world, clock):
    """The coach with the second factor on: (secret, recovery codes)."""
    test_client = app.test_client()
    login(test_client, world.coach.email)
    return enrol(test_client, world.coach, clock)


def test_enrolment_turns_it_on_and_sign_in_then_needs_the_code(app, world, clock, enrolled):
    secret, _codes = enrolled
    row = db.session.get(TwoFactor, world.coach.id)
    assert row.enabled_at is not None
    assert secret not in row.secret or row.secret == "plain:" + secret
    assert row.secret.split(":", 1)[0] in {"plain", "fernet"}
    assert len(actions(world.coach, "two_factor.enabled")) == 1
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 10
    # Stored hashed: no code appears anywhere in its row.
    assert all(
        c.replace("-", "") not in r.code_hash
        for r in db.session.scalars(select(RecoveryCode))
        for c in _codes
    )

    test_client, response = password_step(app, world.coach.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/two-factor/challenge")
    assert not is_signed_in(test_client)  # the password alone does not sign in
    assert test_client.get("/auth/two-factor/challenge").status_code == 200
    response = test_client.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    assert response.status_code == 302
    assert is_signed_in(test_client)


def test_the_challenge_keeps_the_next_page(app, world, clock, enrolled):
    secret, _ = enrolled
    test_client = app.test_client()
    test_client.post(
        "/auth/login?next=/coach/exceptions",
        data={"email": world.coach.email, "password": PASSWORD},
    )
    response = test_client.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    assert response.headers["Location"].endswith("/coach/exceptions")


def test_enrolment_refuses_a_wrong_code(client, world, clock):
    login(client, world.coach.email)
    client.post("/auth/two-factor/setup")
    secret = service.unseal(db.session.get(TwoFactor, world.coach.id).secret)
    wrong = f"{(int(clock.code(secret)) + 1) % 1000000:06d}"
    response = client.post("/auth/two-factor/confirm", data={"code": wrong})
    assert response.status_code == 400
    assert "That code is not right" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TwoFactor, world.coach.id).enabled_at is None
    assert not actions(world.coach, "two_factor.enabled")


def test_a_wrong_code_is_refused_and_audited_and_five_end_the_attempt(app, world, clock, enrolled):
    secret, _ = enrolled
    test_client, _ = password_step(app, world.coach.email)
    wrong = f"{(int(clock.code(secret)) + 1) % 1000000:06d}"
    for _ in range(4):
        response = test_client.post("/auth/two-factor/challenge", data={"code": wrong})
        assert response.status_code == 401
        assert "That code is not right" in response.get_data(as_text=True)
    assert not is_signed_in(test_client)
    response = test_client.post("/auth/two-factor/challenge", data={"code": wrong})
    assert response.headers["Location"].endswith("/auth/login")
    # The pending sign-in is gone: even the right code now needs the password first.
    response = test_client.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    assert response.headers["Location"].endswith("/auth/login")
    assert not is_signed_in(test_client)
    failed = actions(world.coach, "two_factor.challenge_failed")
    assert len(failed) == 5 and failed[0].details["reason"] == "wrong"


def test_a_used_code_is_refused_the_second_time_and_the_holder_is_told(app, world, clock, enrolled):
    secret, _ = enrolled
    code = clock.code(secret)
    first, _ = password_step(app, world.coach.email)
    assert first.post("/auth/two-factor/challenge", data={"code": code}).status_code == 302
    second, _ = password_step(app, world.coach.email)
    response = second.post("/auth/two-factor/challenge", data={"code": code})
    assert response.status_code == 401
    assert "already been used" in response.get_data(as_text=True)
    assert not is_signed_in(second)
    assert actions(world.coach, "two_factor.challenge_failed")[0].details["reason"] == "reused"
    warning = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "security"))
    assert warning is not None and warning.recipient_id == world.coach.id
    # An older step's code is refused too; the next step's code works.
    assert (
        second.post("/auth/two-factor/challenge", data={"code": clock.code(secret, -1)}).status_code
        == 401
    )
    response = second.post("/auth/two-factor/challenge", data={"code": clock.code(secret, 1)})
    assert response.status_code == 302 and is_signed_in(second)


def test_a_recovery_code_works_once(app, world, clock, enrolled):
    _secret, codes = enrolled
    first, _ = password_step(app, world.coach.email)
    response = first.post("/auth/two-factor/challenge", data={"code": codes[3].upper()})
    assert response.status_code == 302 and is_signed_in(first)
    used = actions(world.coach, "two_factor.recovery_code_used")
    assert len(used) == 1 and used[0].details["remaining"] == 9
    second, _ = password_step(app, world.coach.email)
    response = second.post("/auth/two-factor/challenge", data={"code": codes[3]})
    assert response.status_code == 401
    assert not is_signed_in(second)
    response = second.post("/auth/two-factor/challenge", data={"code": codes[4]})
    assert response.status_code == 302


def test_the_pending_sign_in_expires(app, world, clock, enrolled):
    secret, _ = enrolled
    test_client, _ = password_step(app, world.coach.email)
    with test_client.session_transaction() as session:
        pending = session["two_factor_pending"]
        pending["expires"] = int(time.time()) - 1
        session["two_factor_pending"] = pending
    response = test_client.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    assert response.headers["Location"].endswith("/auth/login")
    assert not is_signed_in(test_client)


def test_many_wrong_codes_pause_the_account_even_with_fresh_sessions(app, world, clock, enrolled):
    secret, _ = enrolled
    wrong = f"{(int(clock.code(secret)) + 1) % 1000000:06d}"
    for _ in range(service.MAX_FAILURES // 2):
        test_client, _ = password_step(app, world.coach.email)
        for _ in range(2):
            test_client.post("/auth/two-factor/challenge", data={"code": wrong})
    test_client, _ = password_step(app, world.coach.email)
    response = test_client.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    assert response.status_code == 429
    assert not is_signed_in(test_client)


def test_a_trusted_device_skips_the_code_until_forgotten(app, world, clock, enrolled):
    secret, _ = enrolled
    browser, _ = password_step(app, world.coach.email)
    response = browser.post(
        "/auth/two-factor/challenge", data={"code": clock.code(secret), "trust_device": "y"}
    )
    assert response.status_code == 302
    cookie = browser.get_cookie("ft_trusted_device", path="/auth/")
    assert cookie is not None and cookie.http_only
    device = db.session.scalar(select(TrustedDevice))
    assert device.user_id == world.coach.id and device.token_hash not in cookie.value
    browser.post("/auth/logout")

    response = browser.post("/auth/login", data={"email": world.coach.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/")  # straight in, no challenge
    assert is_signed_in(browser)
    page = browser.get("/auth/two-factor").get_data(as_text=True)
    assert 'data-testid="trusted-devices"' in page

    # Another person signing in on the same browser still gets the challenge.
    other = world.coach2
    other_client = app.test_client()
    login(other_client, other.email)
    other_secret, _ = enrol(other_client, other, clock)
    browser.post("/auth/logout")
    response = browser.post("/auth/login", data={"email": other.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/auth/two-factor/challenge")
    browser.get("/auth/login")  # drop the pending sign-in by starting again

    # Forgetting from another browser revokes this one.
    clock.step()
    elsewhere, _ = password_step(app, world.coach.email)
    elsewhere.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    assert elsewhere.post("/auth/two-factor/devices/forget").status_code == 302
    assert db.session.scalar(select(func.count(TrustedDevice.id))) == 0
    assert len(actions(world.coach, "two_factor.devices_forgotten")) == 1
    with browser.session_transaction() as session:
        session.clear()
    response = browser.post("/auth/login", data={"email": world.coach.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/auth/two-factor/challenge")


def test_a_password_change_forgets_trusted_devices(app, world, clock, enrolled):
    secret, _ = enrolled
    browser, _ = password_step(app, world.coach.email)
    browser.post(
        "/auth/two-factor/challenge", data={"code": clock.code(secret), "trust_device": "y"}
    )
    new_password = "a-brand-new-password"
    response = browser.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": new_password, "confirm": new_password},
    )
    assert response.status_code == 302
    browser.post("/auth/logout")
    response = browser.post(
        "/auth/login", data={"email": world.coach.email, "password": new_password}
    )
    assert response.headers["Location"].endswith("/auth/two-factor/challenge")


def test_a_forged_device_cookie_is_ignored(app, world, clock, enrolled):
    browser = app.test_client()
    browser.set_cookie("ft_trusted_device", "not-a-signed-value", path="/auth/")
    response = browser.post("/auth/login", data={"email": world.coach.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/auth/two-factor/challenge")


def test_turning_it_off_needs_the_password_and_a_code(app, world, clock, enrolled):
    secret, _ = enrolled
    test_client, _ = password_step(app, world.coach.email)
    test_client.post(
        "/auth/two-factor/challenge", data={"code": clock.code(secret), "trust_device": "y"}
    )
    clock.step()
    code = clock.code(secret)
    wrong_password = test_client.post(
        "/auth/two-factor/disable", data={"off-password": "not-my-password", "off-code": code}
    )
    assert wrong_password.status_code == 400
    assert "Your password is not right" in wrong_password.get_data(as_text=True)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    wrong_code = test_client.post(
        "/auth/two-factor/disable", data={"off-password": PASSWORD, "off-code": wrong}
    )
    assert wrong_code.status_code == 400
    assert service.is_enabled(world.coach)
    assert actions(world.coach, "two_factor.challenge_failed")[0].details["where"] == "disable"
    response = test_client.post(
        "/auth/two-factor/disable", data={"off-password": PASSWORD, "off-code": code}
    )
    assert response.status_code == 302
    assert not service.is_enabled(world.coach)
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 0
    assert db.session.scalar(select(func.count(TrustedDevice.id))) == 0
    assert len(actions(world.coach, "two_factor.disabled")) == 1
    # Signing in is back to the password alone.
    fresh, response = password_step(app, world.coach.email)
    assert response.headers["Location"].endswith("/") and is_signed_in(fresh)


def test_new_recovery_codes_replace_the_old_ones(app, world, clock, enrolled):
    secret, old_codes = enrolled
    test_client, _ = password_step(app, world.coach.email)
    test_client.post("/auth/two-factor/challenge", data={"code": clock.code(secret)})
    refused = test_client.post(
        "/auth/two-factor/recovery-codes",
        data={"codes-password": "wrong-password", "codes-code": old_codes[0]},
    )
    assert refused.status_code == 400
    response = test_client.post(
        "/auth/two-factor/recovery-codes",
        data={"codes-password": PASSWORD, "codes-code": old_codes[0]},
    )
    assert response.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert len(actions(world.coach, "two_factor.recovery_codes_regenerated")) == 1
    later, _ = password_step(app, world.coach.email)
    assert later.post("/auth/two-factor/challenge", data={"code": old_codes[1]}).status_code == 401
    assert later.post("/auth/two-factor/challenge", data={"code": new_codes[0]}).status_code == 302


def test_the_organisation_can_require_it_for_admins_and_coaches(app, world, clock, as_user):
    admin = as_user(world.admin)
    assert admin.get("/admin/security").status_code == 200
    response = admin.post("/admin/security", data={"require-require_two_factor": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.org.require_two_factor and not world.other_org.require_two_factor
    changed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "org.two_factor_required_changed")
    ).all()
    assert len(changed) == 1 and changed[0].details == {"required": True}
    # The admin, too, is now held to enrolment.
    assert admin.get("/admin/users").headers["Location"].endswith("/auth/two-factor")

    coach = as_user(world.coach)
    for url in ("/coach/", "/coach/exceptions", "/analytics/", "/notifications"):
        response = coach.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/auth/two-factor"), url
    assert coach.post("/coach/invite", data={}).status_code == 403
    assert coach.get("/auth/password").status_code == 200  # auth pages stay open
    assert coach.get("/auth/two-factor").status_code == 200
    assert as_user(world.client_user).get("/me/").status_code == 200  # clients are not held
    assert as_user(world.organizer).get("/cohorts/").status_code == 200
    assert as_user(world.foreign_coach).get("/coach/").status_code == 200  # other organisation

    enrol(coach, world.coach, clock)
    assert coach.get("/coach/").status_code == 200
    # Next sign-in: the password, then the code.
    _, response = password_step(app, world.coach.email)
    assert response.headers["Location"].endswith("/auth/two-factor/challenge")


def test_an_admin_resets_a_lost_second_factor(app, world, clock, enrolled, as_user):
    admin = as_user(world.admin)
    page = admin.get("/admin/security").get_data(as_text=True)
    assert world.coach.email in page and world.coach2.email not in page.split("reset-person")[-1]
    refused = admin.post(
        "/admin/security/reset",
        data={"reset-person": str(world.coach.id), "reset-password": "not-it"},
    )
    assert refused.status_code == 400 and service.is_enabled(world.coach)
    # Someone without a second factor, or in another organisation, is not a choice.
    for person in (world.coach2, world.foreign_coach, world.admin):
        response = admin.post(
            "/admin/security/reset",
            data={"reset-person": str(person.id), "reset-password": PASSWORD},
        )
        assert response.status_code == 400
    response = admin.post(
        "/admin/security/reset",
        data={"reset-person": str(world.coach.id), "reset-password": PASSWORD},
    )
    assert response.status_code == 302
    assert not service.is_enabled(world.coach)
    event = actions(world.coach, "two_factor.disabled")[0]
    assert event.actor_id == world.admin.id and event.details == {"by_admin": True}


@pytest.mark.parametrize(
    "code", ["", "\x00", "12345\x00", "1" * 41, "<script>", "１２３４５６", "ab cd-ef", "0" * 6]
)
def test_odd_codes_get_a_clear_answer(app, world, clock, enrolled, code):
    test_client, _ = password_step(app, world.coach.email)
    response = test_client.post("/auth/two-factor/challenge", data={"code": code})
    assert response.status_code in (400, 401)
    assert not is_signed_in(test_client)
    signed_in = app.test_client()
    login(signed_in, world.coach2.email)
    signed_in.post("/auth/two-factor/setup")
    assert signed_in.post("/auth/two-factor/confirm", data={"code": code}).status_code == 400


def test_the_secret_round_trips_through_its_stored_form(app):
    assert service.unseal(service.seal("JBSWY3DPEHPK3PXP")) == "JBSWY3DPEHPK3PXP"
    assert service.unseal("plain:ABC") == "ABC"


def test_with_cryptography_the_secret_is_encrypted(app):
    pytest.importorskip("cryptography")
    stored = service.seal("JBSWY3DPEHPK3PXP")
    assert stored.startswith("fernet:") and "JBSWY3DPEHPK3PXP" not in stored
    assert service.unseal(stored) == "JBSWY3DPEHPK3PXP"


def test_two_step_settings_ask_for_the_password_when_it_was_typed_long_ago(app, world, as_user):
    from coach_app.models import UserSession

    browser = as_user(world.coach)
    for row in db.session.scalars(select(UserSession)):
        row.reauthenticated_at = row.reauthenticated_at - timedelta(hours=1)
    db.session.commit()
    page = browser.get("/auth/two-factor")
    assert page.status_code == 302 and "/auth/confirm" in page.headers["Location"]
    setup = browser.post("/auth/two-factor/setup")
    assert setup.status_code == 302 and setup.headers["Location"].endswith("/auth/two-factor")
    assert db.session.scalar(select(func.count()).select_from(TwoFactor)) == 0
