"""Shared fixtures: an app on SQLite (or PostgreSQL via TEST_DATABASE_URL), users, logins."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coach_app import create_app
from coach_app.extensions import db
from coach_app.models import ClientProfile, Organization, Role
from coach_app.services.accounts import create_user

PASSWORD = "correct-horse-battery"
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_unavailable(message: str):
    """Skip locally when a real service is missing; under CI=true that is a failure."""
    if IN_CI:
        pytest.fail(f"CI requires this service: {message}")
    pytest.skip(message)  # outside CI only: under CI=true the line above fails instead


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


def make_app(database_url, instance_dir, **overrides):
    """An app configured for tests (CSRF off unless asked for, memory mail backend)."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "MAIL_BACKEND": "memory",
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6390/0"),
        "RQ_QUEUE_PREFIX": "ft-test",
        "BASE_URL": "http://localhost",
        # Fast hashing keeps hundreds of test sign-ins cheap; production uses scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Hundreds of tests sign in from 127.0.0.1: rate limits are off unless a test turns
        # them on (tests/test_throttling.py does, on the real Redis).
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    os.environ.setdefault("SECRET_KEY", "test-secret-not-for-production")
    app = create_app(config)

    @app.teardown_request
    def forget_cached_user(_error):
        # Tests keep an app context open, which requests then share; Flask-Login caches the
        # signed-in user on `g`, so drop it or the next client would inherit it.
        from flask import g

        g.pop("_login_user", None)

    return app


@pytest.fixture(scope="session")
def _schema(database_url, instance_dir):
    app = make_app(database_url, instance_dir)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return True


@pytest.fixture
def app(_schema, database_url, instance_dir):
    app = make_app(database_url, instance_dir)
    with app.app_context():
        yield app
        db.session.remove()
        _truncate_all()


def _truncate_all():
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def now():
    return datetime.now(UTC)


class World:
    """Two organisations with every role, for tenancy tests."""

    def __init__(self):
        self.org = Organization(name="Acme Coaching", timezone="America/New_York")
        self.other_org = Organization(name="Other Practice", timezone="Europe/Berlin")
        db.session.add_all([self.org, self.other_org])
        db.session.flush()
        self.admin = self.user(Role.ADMIN, "admin@acme.example", "Ada Admin")
        self.coach = self.user(Role.COACH, "coach@acme.example", "Cora Coach")
        self.coach2 = self.user(Role.COACH, "coach2@acme.example", "Cole Coach")
        self.organizer = self.user(Role.ORGANIZER, "organizer@acme.example", "Olga Organizer")
        self.organizer2 = self.user(Role.ORGANIZER, "organizer2@acme.example", "Otto Organizer")
        self.client_user, self.profile = self.client_of(self.coach, "client@acme.example", "Cleo")
        self.client2_user, self.profile2 = self.client_of(
            self.coach2, "client2@acme.example", "Kit"
        )
        self.foreign_admin = self.user(
            Role.ADMIN, "admin@other.example", "Foreign Admin", self.other_org
        )
        self.foreign_coach = self.user(
            Role.COACH, "coach@other.example", "Foreign Coach", self.other_org
        )
        db.session.commit()

    def user(self, role, email, name, org=None, timezone=None):
        return create_user(
            organization_id=(org or self.org).id,
            role=role,
            email=email,
            name=name,
            password=PASSWORD,
            timezone=timezone,
        )

    def client_of(self, coach, email, name, timezone="America/New_York"):
        user = self.user(Role.CLIENT, email, name, org=coach.organization, timezone=timezone)
        profile = ClientProfile(
            user_id=user.id, organization_id=coach.organization_id, coach_id=coach.id
        )
        db.session.add(profile)
        db.session.flush()
        return user, profile


@pytest.fixture
def world(app):
    return World()


def login(test_client, email, password=PASSWORD):
    """Sign in through the real login form."""
    response = test_client.post(
        "/auth/login", data={"email": email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def as_user(app):
    """Return a test client signed in as the given user."""

    def _as(user):
        test_client = app.test_client()
        login(test_client, user.email)
        return test_client

    return _as


def past(hours: float = 0, days: float = 0) -> datetime:
    """A moment in the past, relative to now."""
    return datetime.now(UTC) - timedelta(hours=hours, days=days)
