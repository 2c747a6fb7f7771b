"""Bad input is refused without a 5xx, GET changes nothing, unsubscribe links expire."""

import time

import pytest
from sqlalchemy import func, select

from coach_app.access import MAX_ID, get_visible_or_404, parse_id
from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    ClientProfile,
    CoachingNote,
    LoginAttempt,
    Notification,
    ReminderPreference,
)
from coach_app.services import reminders as service
from tests.conftest import login
from tests.test_access_matrix import MATRIX, objects  # noqa: F401  (the fixture)
from tests.test_fuzz_routes import WriteRecorder, row_counts

HUGE_IDS = [2**31, 2**31 + 5, 2**63, 2**64, 10**30]


# --- ids outside the column's range ------------------------------------------------------


@pytest.mark.parametrize("number", HUGE_IDS)
def test_huge_ids_in_any_url_are_404(world, objects, as_user, number):  # noqa: F811
    admin, coach, client = as_user(world.admin), as_user(world.coach), as_user(world.client_user)
    for browser, method, url in [
        (coach, "GET", f"/coach/clients/{number}"),
        (coach, "POST", f"/coach/clients/{number}/notes"),
        (coach, "GET", f"/coach/tasks/{number}/waive"),
        (coach, "POST", f"/coach/clients/{objects['client']}/cohorts/{number}/remove"),
        (coach, "POST", f"/coach/cohort-requests/{number}"),
        (admin, "GET", f"/cohorts/{number}"),
        (admin, "POST", f"/admin/outbox/{number}/retry"),
        (client, "GET", f"/me/tasks/{number}"),
        (client, "GET", f"/me/interviews/{number}"),
        (client, "GET", f"/me/opportunities/{number}/outcome"),
        (client, "POST", f"/tasks/{number}/snooze"),
    ]:
        assert browser.open(url, method=method).status_code == 404, url


@pytest.mark.parametrize("number", [*HUGE_IDS, 0, -1, "1e3", None, True, "", "12abc"])
def test_get_visible_or_404_refuses_ids_that_cannot_exist(world, app, number):
    from werkzeug.exceptions import NotFound

    with app.test_request_context(), pytest.raises(NotFound):
        get_visible_or_404(ClientProfile, number, user=world.admin)


def test_parse_id_accepts_exactly_the_column_range():
    assert parse_id("1") == 1 and parse_id(MAX_ID) == MAX_ID
    assert parse_id(MAX_ID + 1) is None and parse_id(0) is None and parse_id(False) is None


def test_huge_ids_in_query_strings_are_ignored_or_refused(world, as_user):
    coach = as_user(world.coach)
    for number in HUGE_IDS:
        assert coach.get(f"/coach/?cohort={number}&coach={number}").status_code == 200
        assert coach.get(f"/coach/exceptions?coach={number}").status_code == 200
        csv = coach.get(f"/analytics/export/headline.csv?cohort={number}")
        assert csv.status_code in (400, 404)


# --- the control-character filter ------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\x1b[2J", "\x7f", "\x85", "x\x08"])
def test_control_characters_in_the_sign_in_form_are_400_and_write_nothing(app, world, bad):
    before = row_counts()
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"email": f"coach{bad}@acme.example", "password": "whatever"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "“email”" in page and "control character" in page
    assert row_counts() == before
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 0
    # The same in the password field; and a JSON client gets the message as JSON.
    response = client.post(
        "/auth/login",
        data={"email": "coach@acme.example", "password": f"pw{bad}"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert "“password”" in response.get_json()["message"]
    assert row_counts() == before


def test_nul_in_query_strings_is_400_naming_the_field(world, as_user):
    coach = as_user(world.coach)
    for url, field in [
        ("/coach/?q=a%00b", "q"),
        ("/coach/exceptions?rule=%00", "rule"),
        ("/analytics/export/headline.csv?industry=Tech%00", "industry"),
        ("/auth/login?next=/%00", None),  # signed in: any page, same rule
        ("/coach/?%00=1", None),
    ]:
        response = coach.get(url)
        assert response.status_code == 400, url
        text = response.get_data(as_text=True)
        assert "control character" in text
        if field:
            assert f"“{field}”" in text


def test_nul_in_the_path_is_400(client):
    assert client.get("/auth/invitation/abc%00def").status_code == 400
    assert client.get("/unsubscribe/abc%00def").status_code == 400


def test_nul_in_an_invite_form_changes_nothing(world, as_user):
    coach = as_user(world.coach)
    before = row_counts()
    response = coach.post(
        "/coach/invite", data={"email": "new@acme.example", "name": "New\x00Person"}
    )
    assert response.status_code == 400 and "“name”" in response.get_data(as_text=True)
    assert row_counts() == before


def test_tabs_and_newlines_are_kept_in_multi_line_fields(world, as_user):
    coach = as_user(world.coach)
    body = "First line\r\nSecond line\twith a tab"
    response = coach.post(f"/coach/clients/{world.profile.id}/notes", data={"body": body})
    assert response.status_code == 302
    saved = db.session.scalar(select(CoachingNote.body))
    assert "Second line" in saved and "\n" in saved


# --- GET never changes state -----------------------------------------------------------------


def test_no_get_route_writes_as_any_role(app, world, objects):  # noqa: F811
    users = [
        None,
        world.admin,
        world.coach,
        world.client_user,
        world.organizer,
        world.foreign_admin,
    ]
    gets = [(endpoint, url) for endpoint, (method, url, _) in MATRIX.items() if method == "GET"]
    gets.append(("main.notifications", "/notifications"))
    with WriteRecorder(db.engine) as recorder:
        for user in users:
            browser = app.test_client()
            if user is not None:
                login(browser, user.email)
            for endpoint, template in gets:
                recorder.active = True
                browser.get(template.format(**objects))
                recorder.active = False
                assert not recorder.statements, (endpoint, user and user.role, recorder.statements)
        # The recorder does see writes: marking read (a POST) is one.
        db.session.add(Notification(user_id=world.foreign_admin.id, message="new"))
        db.session.commit()
        recorder.active = True
        browser.post("/notifications/read")
        assert any("notifications" in statement for statement in recorder.statements)


def test_opening_notifications_does_not_mark_them_read(world, as_user):
    db.session.add_all(
        [Notification(user_id=world.client_user.id, message=f"Reminder {i}") for i in range(2)]
    )
    db.session.commit()
    client = as_user(world.client_user)
    page = client.get("/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Mark all as read" in html and 'action="/notifications/read"' in html
    unread = select(func.count(Notification.id)).where(Notification.read_at.is_(None))
    assert db.session.scalar(unread) == 2
    assert client.get("/notifications").status_code == 200
    assert db.session.scalar(unread) == 2
    done = client.post("/notifications/read")
    assert done.status_code == 302 and done.headers["Location"].endswith("/notifications")
    db.session.expire_all()
    assert db.session.scalar(unread) == 0
    assert "Mark all as read" not in client.get("/notifications").get_data(as_text=True)


def test_marking_read_needs_the_csrf_token_and_touches_only_ones_own(
    world, database_url, instance_dir
):
    from tests.conftest import make_app

    db.session.add_all(
        [
            Notification(user_id=world.client_user.id, message="mine"),
            Notification(user_id=world.coach.id, message="the coach's"),
        ]
    )
    db.session.commit()
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    page = browser.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    browser.post(
        "/auth/login",
        data={
            "email": world.client_user.email,
            "password": "correct-horse-battery",
            "csrf_token": token,
        },
    )
    assert browser.post("/notifications/read").status_code == 400
    unread = select(Notification.message).where(Notification.read_at.is_(None))
    assert sorted(db.session.scalars(unread)) == ["mine", "the coach's"]
    page = browser.get("/notifications").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert browser.post("/notifications/read", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert list(db.session.scalars(unread)) == ["the coach's"]


# --- unsubscribe links -----------------------------------------------------------------------


def test_the_unsubscribe_pages_do_not_show_the_email(world, client):
    token = service.unsubscribe_token(world.client_user.id, ["nudge"])
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert world.client_user.email not in page.get_data(as_text=True)
    assert world.client_user.name not in page.get_data(as_text=True)
    done = client.post(f"/unsubscribe/{token}")
    assert done.status_code == 200
    assert world.client_user.email not in done.get_data(as_text=True)


def test_unsubscribing_is_audited_as_a_preference_change(world, client):
    token = service.unsubscribe_token(world.client_user.id, ["nudge", "overdue"])
    client.post(f"/unsubscribe/{token}")
    client.post(f"/unsubscribe/{token}")  # nothing left to change: no second event
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "preferences.changed")
    ).all()
    assert [(e.action, e.actor_id, e.object_id) for e in events] == [
        ("preferences.changed", world.client_user.id, world.client_user.id)
    ]
    assert events[0].details == {
        "via": "unsubscribe link",
        "kinds": ["nudge", "overdue"],
        "email": "off",
    }


def _token_made_days_ago(monkeypatch, days: float, user_id: int) -> str:
    real = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real() - days * 86400)
    try:
        return service.unsubscribe_token(user_id, ["nudge"])
    finally:
        monkeypatch.setattr("itsdangerous.timed.time.time", real)


def test_a_link_younger_than_a_year_still_works(world, client, monkeypatch):
    token = _token_made_days_ago(monkeypatch, 364, world.client_user.id)
    assert service.check_unsubscribe_token(token)[0] == service.UNSUBSCRIBE_VALID
    assert client.get(f"/unsubscribe/{token}").status_code == 200


def test_an_expired_link_explains_and_changes_nothing(world, client, monkeypatch):
    token = _token_made_days_ago(monkeypatch, 366, world.client_user.id)
    assert service.read_unsubscribe_token(token) is None
    for method in ("GET", "POST"):
        page = client.open(f"/unsubscribe/{token}", method=method)
        assert page.status_code == 410
        html = page.get_data(as_text=True)
        assert "This link has expired" in html and "Sign in to change your reminders" in html
        assert "/auth/login?next=/settings/reminders" in html
        assert world.client_user.email not in html
    assert db.session.get(ReminderPreference, world.client_user.id) is None
    changed = select(func.count(AuditEvent.id)).where(AuditEvent.action == "preferences.changed")
    assert db.session.scalar(changed) == 0


def test_an_undated_link_from_before_expiry_existed_counts_as_expired(world, app, client):
    from itsdangerous import URLSafeSerializer

    legacy = URLSafeSerializer(app.config["SECRET_KEY"], salt=service.UNSUBSCRIBE_SALT).dumps(
        [world.client_user.id, ["nudge"]]
    )
    assert service.check_unsubscribe_token(legacy)[0] == service.UNSUBSCRIBE_EXPIRED
    assert client.get(f"/unsubscribe/{legacy}").status_code == 410
    forged = URLSafeSerializer("another key", salt=service.UNSUBSCRIBE_SALT).dumps([1, ["nudge"]])
    assert client.get(f"/unsubscribe/{forged}").status_code == 404
