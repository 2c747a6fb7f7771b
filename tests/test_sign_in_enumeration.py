"""Sign-in does not tell who has an account: same hashing work, same answer, whatever the email."""

import statistics
import time

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import AuditEvent, User
from coach_app.services import credentials

SLOW_HASH = "pbkdf2:sha256:150000"


@pytest.fixture
def hash_calls(monkeypatch):
    """Count every password-hash check made while signing in."""
    calls = []
    real = credentials.check_password_hash

    def spy(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(credentials, "check_password_hash", spy)
    return calls


def _post(client, email, password="wrong-password"):
    return client.post("/auth/login", data={"email": email, "password": password})


@pytest.mark.parametrize(
    "case", ["unknown email", "invited, no password yet", "deactivated", "wrong password"]
)
def test_every_refusal_checks_one_hash_of_the_same_method(app, world, hash_calls, case):
    method = app.config["PASSWORD_HASH_METHOD"]
    email = {
        "unknown email": "nobody@acme.example",
        "wrong password": world.coach.email,
        "deactivated": world.coach2.email,
        "invited, no password yet": world.organizer2.email,
    }[case]
    if case == "deactivated":
        db.session.get(User, world.coach2.id).active = False
    if case == "invited, no password yet":
        db.session.get(User, world.organizer2.id).password_hash = None
    db.session.commit()
    password = "correct-horse-battery" if case == "deactivated" else "wrong-password"
    response = _post(app.test_client(), email, password)
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert len(hash_calls) == 1 and hash_calls[0].startswith(method.split(":")[0])


def test_the_right_password_checks_one_hash_too(app, world, hash_calls):
    assert _post(app.test_client(), world.coach.email, "correct-horse-battery").status_code == 302
    assert len(hash_calls) == 1


def test_failures_are_audited_only_for_real_accounts(app, world):
    _post(app.test_client(), "nobody@acme.example")
    _post(app.test_client(), world.coach.email)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")
    ).all()
    assert [(e.object_id, e.organization_id) for e in events] == [(world.coach.id, world.org.id)]
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 1 + db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "user.created")
    )


def test_unknown_and_known_emails_take_about_as_long(app, world):
    # A coarse check that survives a busy machine: the issue measured 10 ms against 140 ms.
    app.config["PASSWORD_HASH_METHOD"] = SLOW_HASH
    db.session.get(User, world.coach.id).set_password("correct-horse-battery")
    db.session.commit()
    client = app.test_client()
    _post(client, "warm-up@acme.example")

    def median_seconds(email):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            _post(client, email)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    unknown = median_seconds("nobody@acme.example")
    known = median_seconds(world.coach.email)
    assert 1 / 3 < unknown / known < 3, (unknown, known)
