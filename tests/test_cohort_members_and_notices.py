"""Cohort members count people who accepted; organizers hear a coach's answer to a request."""

from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember, Notification, OutboxMessage
from coach_app.services import roster
from coach_app.services.accounts import invite_client
from tests.reminders_helpers import redis_app_fixture, run_worker  # noqa: F401
from workers.mail import MemoryBackend
from workers.queues import enqueue_sweep


def _cohort(world, name="Spring"):
    cohort = Cohort(organization_id=world.org.id, organizer_id=world.organizer.id, name=name)
    db.session.add(cohort)
    db.session.commit()
    return cohort


def test_members_count_only_people_who_accepted_and_invited_show_apart(world, as_user):
    cohort = _cohort(world)
    db.session.add(CohortMember(cohort_id=cohort.id, client_id=world.profile.id))
    for i in range(3):
        profile, _token = invite_client(
            coach=world.coach, email=f"new{i}@acme.example", name=f"New {i}", timezone=None
        )
        db.session.add(CohortMember(cohort_id=cohort.id, client_id=profile.id))
    db.session.commit()

    figures = roster.cohort_figures([cohort.id])[cohort.id]
    assert (figures.size, figures.invited) == (1, 3)
    listing = as_user(world.organizer).get("/cohorts/").get_data(as_text=True)
    assert 'data-testid="size">1<' in listing and 'data-testid="invited">3<' in listing
    detail = as_user(world.organizer).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert 'data-testid="size">1<' in detail and 'data-testid="invited">3<' in detail
    assert "New 0" not in detail and "new0@acme.example" not in detail  # totals only


def test_an_empty_cohort_has_no_members_and_no_invited(world):
    cohort = _cohort(world)
    figures = roster.cohort_figures([cohort.id])[cohort.id]
    assert (figures.size, figures.invited) == (0, 0)


def _request(world, cohort):
    item = roster.request_from_coach(
        cohort=cohort, organizer=world.organizer, coach_id=world.coach.id, note=None
    )
    db.session.commit()
    return item


def test_the_organizer_hears_an_approval_in_the_portal_and_by_email(world, as_user):
    cohort = _cohort(world)
    item = _request(world, cohort)
    coach = as_user(world.coach)
    response = coach.post(
        f"/coach/cohort-requests/{item.id}",
        data={f"r{item.id}-clients": [str(world.profile.id)], f"r{item.id}-decision": "approve"},
    )
    assert response.status_code == 302

    notice = db.session.scalar(
        select(Notification).where(Notification.user_id == world.organizer.id)
    )
    assert notice.message == "Cora Coach added 1 client to “Spring”."
    assert notice.link.endswith(f"/cohorts/{cohort.id}")
    assert "Cleo" not in notice.message  # organizers never see names
    email = db.session.get(OutboxMessage, notice.outbox_id)
    assert (email.kind, email.channel) == ("cohort_request_answered", "email")
    assert email.status == "pending"
    assert email.recipient_id == world.organizer.id and email.to_email == world.organizer.email
    assert notice.message in email.body_text and email.link == notice.link

    page = as_user(world.organizer).get("/notifications").get_data(as_text=True)
    assert "Cora Coach added 1 client to “Spring”." in page


def test_the_organizer_hears_a_decline_too_and_only_once(world, as_user):
    cohort = _cohort(world)
    item = _request(world, cohort)
    coach = as_user(world.coach)
    url = f"/coach/cohort-requests/{item.id}"
    assert coach.post(url, data={f"r{item.id}-decision": "decline"}).status_code == 302
    # Answering again changes nothing and tells nobody twice.
    assert coach.post(url, data={f"r{item.id}-decision": "decline"}).status_code == 302
    notices = db.session.scalars(
        select(Notification).where(Notification.user_id == world.organizer.id)
    ).all()
    assert [n.message for n in notices] == [
        "Cora Coach declined your request to add clients to “Spring”."
    ]
    assert (
        db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.kind == "cohort_request_answered"
            )
        )
        == 1
    )


def test_a_refused_approval_tells_nobody(world, as_user):
    cohort = _cohort(world)
    item = _request(world, cohort)
    response = as_user(world.coach).post(
        f"/coach/cohort-requests/{item.id}", data={f"r{item.id}-decision": "approve"}
    )
    assert response.status_code == 400  # no client chosen
    assert (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == world.organizer.id)
        )
        == 0
    )
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_the_email_goes_out_through_the_workers_without_a_second_notice(redis_app, world):
    cohort = _cohort(world)
    item = _request(world, cohort)
    roster.decline_request(request=item, coach=world.coach)
    db.session.commit()
    enqueue_sweep(redis_app)
    run_worker(redis_app)
    db.session.expire_all()
    email = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "cohort_request_answered")
    )
    assert email.status == "sent"
    (sent,) = [m for m in MemoryBackend.outbox if m["To"] == world.organizer.email]
    assert "declined your request" in sent["Subject"]
    assert (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == world.organizer.id)
        )
        == 1
    )
