"""Organizer pages: cohorts as aggregates, adding clients by invitation or by coach consent."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    ClientProfile,
    Cohort,
    CohortMember,
    CohortRequest,
    FollowUpTask,
    Invitation,
    Notification,
    OutboxMessage,
    User,
)
from coach_app.services import followup, roster
from tests.factories import interview_for

XSS = '<script>alert("x")</script>'


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _cohort(world, name="Spring", organizer=None):
    cohort = Cohort(
        organization_id=world.org.id, organizer_id=(organizer or world.organizer).id, name=name
    )
    db.session.add(cohort)
    db.session.commit()
    return cohort


def _member(cohort, profile):
    db.session.add(CohortMember(cohort_id=cohort.id, client_id=profile.id))
    db.session.commit()


def _clients(world, n, coach=None, prefix="Member"):
    profiles = []
    for i in range(n):
        _user, profile = world.client_of(
            coach or world.coach, f"{prefix.lower()}{i}@acme.example", f"{prefix} {i}"
        )
        profiles.append(profile)
    db.session.commit()
    return profiles


# --- list and aggregates ----------------------------------------------------------------------


def test_create_cohort_and_list_it(app, world, as_user):
    browser = as_user(world.organizer)
    response = browser.post(
        "/cohorts/", data={"name": XSS, "starts_on": "2026-03-01", "ends_on": "2026-04-01"}
    )
    assert response.status_code == 302
    cohort = db.session.scalar(select(Cohort))
    assert cohort.name == XSS and cohort.organizer_id == world.organizer.id
    html = browser.get("/cohorts/").get_data(as_text=True)
    assert XSS not in html and "&lt;script&gt;" in html
    assert "Cohort analytics" in html and 'href="/analytics/"' in html


@pytest.mark.parametrize(
    "data",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "Dates", "starts_on": "2026-04-02", "ends_on": "2026-04-01"},
        {"name": "Dates", "starts_on": "yesterday"},
    ],
)
def test_create_cohort_refuses_bad_input(app, world, as_user, data):
    response = as_user(world.organizer).post("/cohorts/", data=data)
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True)
    assert _count(Cohort) == 0


def test_cohort_list_shows_sizes_and_compliance(app, world, as_user):
    small = _cohort(world, "Small")
    big = _cohort(world, "Big")
    _member(small, world.profile)
    members = _clients(world, 5)
    for profile in members:
        _member(big, profile)
        interview = interview_for(profile, world.coach, start_at=_days_ago(3))
        notes = db.session.scalar(
            select(FollowUpTask).where(
                FollowUpTask.interview_id == interview.id, FollowUpTask.rule == "notes"
            )
        )
        followup.complete_task(
            task=notes, actor=world.coach, completed_at=interview.start_at + timedelta(hours=1)
        )
    db.session.commit()
    figures = roster.cohort_figures([big.id, small.id])
    # Per client: notes on time, six round tasks missed, check-in pending -> 1 / 7.
    assert (figures[big.id].compliance.numerator, figures[big.id].compliance.denominator) == (
        5,
        35,
    )
    assert figures[big.id].size == 5 and figures[small.id].size == 1
    html = as_user(world.organizer).get("/cohorts/").get_data(as_text=True)
    assert "14 %" in html  # 5 of 35
    assert "too few" in html  # the small cohort has no opportunities
    for profile in members:
        assert profile.name not in html


def test_cohort_detail_is_aggregate_only(app, world, as_user):
    cohort = _cohort(world)
    members = _clients(world, 4)  # five clients: the smallest group organisers see figures of
    now = datetime.now(UTC)
    for i, profile in enumerate(members + [world.profile]):
        _member(cohort, profile)
        for j in range(2):
            interview = interview_for(
                profile, world.coach, start_at=_days_ago(4 + j), company=f"Co {i}-{j}"
            )
            followup.record_outcome(
                opportunity=interview.opportunity,
                outcome="offer" if (i + j) % 3 == 0 else "rejected",
                actor=world.coach,
                now=now,
            )
    db.session.commit()
    html = as_user(world.organizer).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert 'data-testid="size">5<' in html
    assert 'data-testid="opportunities">10<' in html
    # offers: (i + j) % 3 == 0 for (0,0), (2,1), (3,0) -> 3 of 10
    assert '30 % <span class="text-muted small">(3/10)</span>' in html
    assert "Cohort analytics" in html
    # No names, contacts or notes of clients: only totals.
    for text in ("Cleo", "Member 0", "Dana Reyes", "sailing", "Co 0-0"):
        assert text not in html, text


def test_small_groups_show_too_few(app, world, as_user):
    cohort = _cohort(world)
    _member(cohort, world.profile)
    interview_for(world.profile, world.client_user, start_at=_days_ago(3))
    html = as_user(world.organizer).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert html.count(">too few<") == 3
    assert "%" not in html.split('data-testid="cohort-figures"')[1].split("</dl>")[0]


def test_four_clients_are_too_few_however_many_opportunities(app, world, as_user):
    cohort = _cohort(world)
    for profile in _clients(world, 3) + [world.profile]:
        _member(cohort, profile)
        for j in range(2):
            interview_for(profile, world.coach, start_at=_days_ago(4 + j), company=f"Co {j}")
    db.session.commit()
    html = as_user(world.organizer).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert 'data-testid="opportunities">8<' in html  # enough opportunities, too few people
    assert "%" not in html.split('data-testid="cohort-figures"')[1].split("</dl>")[0]


def test_a_cohort_counts_work_from_its_start_date_on(app, world, as_user):
    cohort = _cohort(world)
    cohort.starts_on = (datetime.now(UTC) - timedelta(days=10)).date()
    for profile in _clients(world, 4) + [world.profile]:
        _member(cohort, profile)
        interview_for(profile, world.coach, start_at=_days_ago(3), company="After")
        interview_for(profile, world.coach, start_at=_days_ago(40), company="Before")
    db.session.commit()
    html = as_user(world.organizer).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert 'data-testid="opportunities">5<' in html  # the five from before the start are out


def test_other_organizer_cannot_see_cohort(app, world, as_user):
    cohort = _cohort(world)
    browser = as_user(world.organizer2)
    assert browser.get(f"/cohorts/{cohort.id}").status_code == 404
    assert browser.get(f"/cohorts/{cohort.id}/invite").status_code == 404
    assert (
        browser.post(
            f"/cohorts/{cohort.id}/request", data={"coach": str(world.coach.id)}
        ).status_code
        == 404
    )
    assert _count(CohortRequest) == 0
    assert "Spring" not in browser.get("/cohorts/").get_data(as_text=True)


# --- adding clients by invitation -------------------------------------------------------------


def test_invite_client_into_cohort(app, world, as_user):
    cohort = _cohort(world)
    browser = as_user(world.organizer)
    page = browser.get(f"/cohorts/{cohort.id}/invite").get_data(as_text=True)
    assert "Cora Coach" in page and "Cole Coach" in page and "Foreign Coach" not in page
    response = browser.post(
        f"/cohorts/{cohort.id}/invite",
        data={
            "name": "Wendy Workshop",
            "email": "Wendy@Example.org",
            "coach": str(world.coach2.id),
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "wendy@example.org"))
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == user.id))
    assert profile.coach_id == world.coach2.id and user.timezone == "Europe/Berlin"
    member = db.session.get(CohortMember, (cohort.id, profile.id))
    assert member.added_by_id == world.organizer.id
    assert _count(Invitation, Invitation.user_id == user.id) == 1
    assert _count(OutboxMessage, OutboxMessage.recipient_id == user.id) == 1
    email = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == user.id))
    # The invitation names the workshop and the organiser who invites, not only the coach.
    assert cohort.name in email.subject and world.organizer.name in email.subject
    assert _count(AuditEvent, AuditEvent.action == "cohort.member_invited") == 1
    # The organizer sees the count go up, never the name.
    html = browser.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    # Invited, not a member until they accept (members count people who did).
    assert 'data-testid="size">0<' in html and 'data-testid="invited">1<' in html
    assert "Wendy" not in html
    # The coach finds their new client in their pipeline.
    assert "Wendy Workshop" in as_user(world.coach2).get("/coach/").get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"email": "not-an-email"},
        {"email": ""},
        {"coach": ""},
        {"coach": "0"},
        {"coach": "abc"},
        {"coach": "foreign"},
        {"coach": "organizer"},
        {"timezone": "Mars/Olympus"},
        {"email": "client@acme.example"},  # already has an account
    ],
)
def test_invite_into_cohort_refuses_bad_input(app, world, as_user, overrides):
    cohort = _cohort(world)
    data = {"name": "Wendy", "email": "wendy@example.org", "coach": str(world.coach.id)}
    data.update(overrides)
    data["coach"] = {
        "foreign": str(world.foreign_coach.id),
        "organizer": str(world.organizer.id),
    }.get(data["coach"], data["coach"])
    users_before = _count(User)
    response = as_user(world.organizer).post(f"/cohorts/{cohort.id}/invite", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "invalid-feedback" in html
    assert _count(User) == users_before
    assert _count(CohortMember) == 0 and _count(Invitation) == 0


# --- adding clients from a coach's roster, with the coach's consent ---------------------------


def test_request_approved_by_coach(app, world, as_user):
    cohort = _cohort(world)
    second, third = _clients(world, 2, prefix="Roster")
    organizer = as_user(world.organizer)
    page = organizer.get(f"/cohorts/{cohort.id}/request").get_data(as_text=True)
    assert "Cleo" not in page  # organizers never see the roster
    response = organizer.post(
        f"/cohorts/{cohort.id}/request",
        data={"coach": str(world.coach.id), "note": f"Tuesday evenings {XSS}"},
    )
    assert response.status_code == 302
    request = db.session.scalar(select(CohortRequest))
    assert request.status == "requested" and request.coach_id == world.coach.id
    notice = db.session.scalar(select(Notification).where(Notification.user_id == world.coach.id))
    assert "Spring" in notice.message and notice.link.endswith("/coach/cohort-requests")

    coach = as_user(world.coach)
    assert "1 cohort request waits" in coach.get("/coach/").get_data(as_text=True)
    listing = coach.get("/coach/cohort-requests").get_data(as_text=True)
    assert "Spring" in listing and "Olga Organizer" in listing
    assert XSS not in listing and "Tuesday evenings &lt;script&gt;" in listing
    assert "Cleo" in listing and "Roster 0" in listing and "Kit" not in listing

    prefix = f"r{request.id}-"
    answer = coach.post(
        f"/coach/cohort-requests/{request.id}",
        data={
            f"{prefix}clients": [str(world.profile.id), str(second.id)],
            f"{prefix}decision": "approve",
        },
    )
    assert answer.status_code == 302
    db.session.refresh(request)
    assert request.status == "approved" and request.added_count == 2
    members = set(db.session.scalars(select(CohortMember.client_id)))
    assert members == {world.profile.id, second.id}
    assert third.id not in members
    # The organizer sees the count and the answer, never who.
    html = organizer.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert 'data-testid="size">2<' in html and "approved" in html
    assert "Cleo" not in html and "Roster 0" not in html
    # Answering again changes nothing.
    again = coach.post(
        f"/coach/cohort-requests/{request.id}", data={f"{prefix}decision": "decline"}
    )
    assert again.status_code == 302
    db.session.refresh(request)
    assert request.status == "approved"


def test_request_declined_by_coach(app, world, as_user):
    cohort = _cohort(world)
    item = _request(world, cohort)
    response = as_user(world.coach).post(
        f"/coach/cohort-requests/{item.id}", data={f"r{item.id}-decision": "decline"}
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == "declined" and _count(CohortMember) == 0
    assert "declined" in as_user(world.organizer).get(f"/cohorts/{cohort.id}").get_data(
        as_text=True
    )
    # After an answer the organizer may ask again.
    assert _request(world, cohort).status == "requested"


def _request(world, cohort, coach=None):
    item = roster.request_from_coach(
        cohort=cohort, organizer=world.organizer, coach_id=(coach or world.coach).id, note=None
    )
    db.session.commit()
    return item


@pytest.mark.parametrize(
    "clients", [[], ["abc"], ["other-coach"], ["999999"]], ids=["none", "junk", "kit", "ghost"]
)
def test_approve_refuses_bad_choices(app, world, as_user, clients):
    cohort = _cohort(world)
    item = _request(world, cohort)
    values = [str(world.profile2.id) if c == "other-coach" else c for c in clients]
    response = as_user(world.coach).post(
        f"/coach/cohort-requests/{item.id}",
        data={f"r{item.id}-clients": values, f"r{item.id}-decision": "approve"},
    )
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True)
    db.session.refresh(item)
    assert item.status == "requested" and _count(CohortMember) == 0


def test_other_coach_cannot_answer(app, world, as_user):
    cohort = _cohort(world)
    item = _request(world, cohort)
    response = as_user(world.coach2).post(
        f"/coach/cohort-requests/{item.id}",
        data={f"r{item.id}-clients": [str(world.profile2.id)], f"r{item.id}-decision": "approve"},
    )
    assert response.status_code == 404
    assert "Spring" not in as_user(world.coach2).get("/coach/cohort-requests").get_data(
        as_text=True
    )
    db.session.refresh(item)
    assert item.status == "requested" and _count(CohortMember) == 0


@pytest.mark.parametrize("coach", ["", "abc", "foreign", "organizer", "x" * 5])
def test_request_refuses_bad_coach(app, world, as_user, coach):
    cohort = _cohort(world)
    value = {"foreign": str(world.foreign_coach.id), "organizer": str(world.organizer.id)}.get(
        coach, coach
    )
    response = as_user(world.organizer).post(f"/cohorts/{cohort.id}/request", data={"coach": value})
    assert response.status_code == 400
    assert _count(CohortRequest) == 0 and _count(Notification) == 0


def test_request_refuses_duplicate_and_long_note(app, world, as_user):
    cohort = _cohort(world)
    _request(world, cohort)
    browser = as_user(world.organizer)
    duplicate = browser.post(f"/cohorts/{cohort.id}/request", data={"coach": str(world.coach.id)})
    assert duplicate.status_code == 400
    assert "has not answered the last request yet" in duplicate.get_data(as_text=True)
    long_note = browser.post(
        f"/cohorts/{cohort.id}/request", data={"coach": str(world.coach2.id), "note": "n" * 1001}
    )
    assert long_note.status_code == 400
    assert _count(CohortRequest) == 1


def test_coach_sees_cohort_aggregate_of_their_clients_cohort(app, world, as_user):
    cohort = _cohort(world)
    _member(cohort, world.profile)
    html = as_user(world.coach).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "Spring" in html and "Add clients" not in html
    assert as_user(world.coach2).get(f"/cohorts/{cohort.id}").status_code == 404


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
