"""Everyone's profile: name and time zone, and changing the sign-in address through the outbox."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import AuditEvent, EmailChange, FollowUpTask, OutboxMessage, User
from coach_app.services import ServiceError, profile
from tests.conftest import PASSWORD, login
from tests.factories import interview_for


def messages(kind: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def link_path(message: OutboxMessage) -> str:
    return urlsplit(message.link).path


def test_every_role_reaches_the_profile_from_its_name(world, as_user):
    for user in (world.client_user, world.coach, world.organizer, world.admin):
        page = as_user(user).get("/account/").get_data(as_text=True)
        assert 'href="/account/"' in page  # the name in the header links here
        assert f'value="{user.name}"' in page
        assert "moves <strong>no deadline</strong>" in page


def test_changing_name_and_time_zone_moves_no_deadline(world, as_user):
    interview = interview_for(world.profile, world.client_user)
    due = {t.id: t.due_at for t in db.session.scalars(select(FollowUpTask))}
    browser = as_user(world.client_user)
    response = browser.post("/account/", data={"name": "Cleo Martin", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, world.client_user.id)
    assert (user.name, user.timezone) == ("Cleo Martin", "Asia/Tokyo")
    assert {t.id: t.due_at for t in db.session.scalars(select(FollowUpTask))} == due
    assert db.session.get(type(interview), interview.id).timezone == "America/New_York"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "profile.updated"))
    assert event.details == {"changed": ["name", "timezone"]}
    # Blank zone: the organisation's; a blank name is refused next to the field.
    assert browser.post("/account/", data={"name": "Cleo", "timezone": ""}).status_code == 302
    assert db.session.get(User, world.client_user.id).timezone is None
    refused = browser.post("/account/", data={"name": "  ", "timezone": "Asia/Tokyo"})
    assert refused.status_code == 400 and 'id="name-error"' in refused.get_data(as_text=True)
    unknown = browser.post("/account/", data={"name": "Cleo", "timezone": "Mars/Olympus"})
    assert unknown.status_code == 400
    assert db.session.get(User, world.client_user.id).timezone is None


def test_email_change_end_to_end_through_the_outbox_link(app, world, as_user):
    interview_for(world.profile, world.client_user)  # pending reminders to the old address
    browser = as_user(world.client_user)
    response = browser.post("/account/email", data={"email": "Cleo.New@Example.org "})
    assert response.status_code == 302
    # Nothing changes until the link is opened; the link goes to the NEW address only.
    assert db.session.get(User, world.client_user.id).email == "client@acme.example"
    (sent,) = messages("email_change")
    assert sent.to_email == "cleo.new@example.org" and sent.status == "pending"
    token = link_path(sent).rsplit("/", 1)[1]
    assert token in sent.body_text
    stored = db.session.scalar(select(EmailChange))
    assert stored.token_hash != token and token not in stored.token_hash  # only the hash
    page = browser.get("/account/").get_data(as_text=True)
    assert "Waiting for confirmation" in page and "cleo.new@example.org" in page

    # Someone else signed in cannot use it (nor learn whose it is).
    other = as_user(world.client2_user)
    assert other.get(link_path(sent)).status_code == 410
    assert db.session.get(User, world.client2_user.id).email == "client2@acme.example"

    # Opening the link only shows the change (mail scanners open links too); the button makes it.
    shown = browser.get(link_path(sent))
    assert shown.status_code == 200 and "Use this address" in shown.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.client_user.id).email == "client@acme.example"
    response = browser.post(link_path(sent))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.client_user.id).email == "cleo.new@example.org"
    (notice,) = messages("email_changed")
    assert notice.to_email == "client@acme.example"
    assert "cleo.new@example.org" in notice.body_text
    reminders = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.recipient_id == world.client_user.id,
            OutboxMessage.status == "pending",
            OutboxMessage.kind.not_in(["email_change", "email_changed"]),
        )
    ).all()
    assert reminders and {r.to_email for r in reminders} == {"cleo.new@example.org"}
    # Single use.
    again = browser.post(link_path(sent))
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    # Sign-in follows the address.
    fresh = app.test_client()
    login(fresh, "cleo.new@example.org", PASSWORD)
    old = app.test_client().post(
        "/auth/login", data={"email": "client@acme.example", "password": PASSWORD}
    )
    assert old.status_code == 401
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"email_change.requested", "email_change.confirmed"} <= actions


def test_a_taken_address_gets_one_wording_whatever_organisation_holds_it(world, as_user):
    browser = as_user(world.client_user)
    answers = []
    for taken in ("coach@acme.example", "admin@other.example"):
        response = browser.post("/account/email", data={"email": taken})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert 'id="email-error"' in page
        answers.append(page.replace(taken, "ADDRESS"))
    assert profile.ADDRESS_REFUSED.replace("'", "&#39;") in answers[0]
    assert answers[0] == answers[1]  # the page can't tell the two apart
    assert messages("email_change") == []
    own = browser.post("/account/email", data={"email": "client@acme.example"})
    assert own.status_code == 400 and "already your address" in own.get_data(as_text=True)


def test_expired_replaced_and_since_taken_links_are_refused(world):
    user = world.client_user
    now = datetime.now(UTC)
    first = profile.request_email_change(user=user, new_email="one@example.org", now=now)
    second = profile.request_email_change(user=user, new_email="two@example.org", now=now)
    db.session.commit()
    with pytest.raises(ServiceError, match="not valid"):
        profile.confirm_email_change(user=user, token=first, now=now)  # replaced
    with pytest.raises(ServiceError, match="expired"):
        profile.confirm_email_change(
            user=user, token=second, now=now + profile.EMAIL_CHANGE_TTL + timedelta(seconds=1)
        )
    third = profile.request_email_change(user=user, new_email="three@example.org", now=now)
    world.coach.email = "three@example.org"  # taken by someone else in the meantime
    db.session.commit()
    with pytest.raises(ServiceError, match="can't be used"):
        profile.confirm_email_change(user=user, token=third, now=now)
    assert db.session.get(User, user.id).email == "client@acme.example"


def test_changing_the_email_needs_a_recent_password(app, world, as_user):
    from coach_app.models import UserSession

    browser = as_user(world.client_user)
    # The password was typed long ago in this session: confirm it before changing the address.
    for row in db.session.scalars(select(UserSession)):
        row.reauthenticated_at = row.reauthenticated_at - timedelta(hours=1)
    db.session.commit()
    response = browser.post("/account/email", data={"email": "cleo.new@example.org"})
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    assert messages("email_change") == []
