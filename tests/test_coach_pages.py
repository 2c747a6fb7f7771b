"""Coach pages: pipeline, exceptions queue, client detail, notes, waivers, roster actions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    ClientProfile,
    CoachingNote,
    Cohort,
    CohortMember,
    FollowUpTask,
    Interview,
    Invitation,
    OutboxMessage,
    User,
)
from coach_app.services import followup
from coach_app.services.accounts import create_user, issue_invitation
from tests.conftest import PASSWORD, login
from tests.factories import interview_for

XSS = '<script>alert("x")</script>'


def _task(interview, rule):
    return db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == rule
        )
    )


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _client_of(world, coach, name, email):
    user, profile = world.client_of(coach, email, name)
    db.session.commit()
    return user, profile


# --- pipeline ---------------------------------------------------------------------------------


def test_pipeline_shows_figures_and_links(app, world, as_user):
    interview = interview_for(world.profile, world.client_user, start_at=_local_days_ago(2))
    followup.complete_task(
        task=_task(interview, "notes"),
        actor=world.client_user,
        completed_at=interview.start_at + timedelta(hours=2),
    )
    db.session.commit()
    html = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert "Cleo" in html and "Kit" not in html  # coach2's client stays with coach2
    assert "1 open: round 1" in html
    assert "100 %" in html  # same-day notes: 1 of 1
    assert 'data-testid="overdue"><span class="badge text-bg-danger">' in html
    assert f'href="/coach/clients/{world.profile.id}"' in html
    assert "Check-in" in html  # the next due item, linked to its task
    assert f'href="/coach/tasks/{_task(interview, "check_in").id}"' in html


def test_pipeline_escapes_names(app, world, as_user):
    user, _profile = _client_of(world, world.coach, XSS, "xss<b>@acme.example")
    html = as_user(world.coach).get("/coach/?q=script").get_data(as_text=True)
    assert XSS not in html
    assert "&lt;script&gt;" in html
    assert "xss&lt;b&gt;@acme.example" in html and "xss<b>" not in html
    # The admin's pipeline shows each client's coach, escaped too.
    world.coach.name = XSS
    db.session.commit()
    html = as_user(world.admin).get("/coach/?q=script").get_data(as_text=True)
    assert XSS not in html and html.count("&lt;script&gt;") >= 2


def test_pipeline_shows_dash_without_counted_tasks(app, world, as_user):
    html = as_user(world.coach).get("/coach/").get_data(as_text=True)
    assert 'data-testid="compliance"><span title="0 of 0">—</span>' in html


def test_pipeline_pagination(app, world, as_user):
    for i in range(5):
        _client_of(world, world.coach, f"Page Client {i}", f"page{i}@acme.example")
    app.config["PAGE_SIZE"] = 2
    browser = as_user(world.coach)
    first = browser.get("/coach/").get_data(as_text=True)
    assert "6 clients" in first
    assert "Cleo" in first and "Page Client 0" in first and "Page Client 1" not in first
    third = browser.get("/coach/?page=3").get_data(as_text=True)
    assert "Page Client 3" in third and "Page Client 4" in third
    # Past the end: the last page; nonsense: the first page.
    assert "Page Client 4" in browser.get("/coach/?page=999").get_data(as_text=True)
    assert browser.get("/coach/?page=abc").status_code == 200
    assert 'aria-current="page">1<' in browser.get("/coach/?page=-4").get_data(as_text=True)


def test_pipeline_rows_per_page_are_the_coachs_choice(app, world, as_user):
    for i in range(55):
        _client_of(world, world.coach, f"Row Client {i:02d}", f"row{i}@acme.example")
    browser = as_user(world.coach)

    def rows(query=""):
        return browser.get(f"/coach/{query}").get_data(as_text=True).count("<tr data-client-id=")

    assert rows() == 50  # the default page (PAGE_SIZE)
    assert rows("?per_page=100") == 56
    html = browser.get("/coach/?per_page=100&sort=name").get_data(as_text=True)
    assert '<option value="100" selected>' in html
    # Other sizes are ignored, never an error: the default page instead.
    for query in ("?per_page=7", "?per_page=abc", "?per_page=100000", "?per_page=-25"):
        assert rows(query) == 50, query
    # The choice follows the pager's links.
    assert "per_page=25&amp;page=2" in browser.get("/coach/?per_page=25").get_data(as_text=True)


def test_pipeline_filters(app, world, as_user):
    _user, quiet = _client_of(world, world.coach, "Quinn Quiet", "quiet@acme.example")
    interview_for(world.profile, world.client_user, start_at=_days_ago(3))  # Cleo: overdue
    cohort = Cohort(organization_id=world.org.id, organizer_id=world.organizer.id, name="Spring")
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, client_id=quiet.id))
    # A cohort holding only another coach's client is no filter for this coach.
    theirs = Cohort(organization_id=world.org.id, organizer_id=world.organizer.id, name="Autumn")
    db.session.add(theirs)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=theirs.id, client_id=world.profile2.id))
    db.session.commit()
    browser = as_user(world.coach)
    assert "Autumn" not in browser.get("/coach/").get_data(as_text=True)
    assert "Autumn" in as_user(world.coach2).get("/coach/").get_data(as_text=True)

    overdue = browser.get("/coach/?overdue=1").get_data(as_text=True)
    assert "Cleo" in overdue and "Quinn Quiet" not in overdue
    in_cohort = browser.get(f"/coach/?cohort={cohort.id}").get_data(as_text=True)
    assert "Quinn Quiet" in in_cohort and ">Cleo<" not in in_cohort
    assert "Spring" in in_cohort  # offered as a filter
    search = browser.get("/coach/?q=quinn").get_data(as_text=True)
    assert "Quinn Quiet" in search and ">Cleo<" not in search
    none = browser.get("/coach/?q=nobody-like-this").get_data(as_text=True)
    assert "No clients match these filters" in none
    # Malformed filters are ignored, never an error.
    for query in ("cohort=abc", "cohort=99999999999999", "sort=drop+table", "dir=x", "q=%25_"):
        assert browser.get(f"/coach/?{query}").status_code == 200, query


def test_pipeline_sorting(app, world, as_user):
    _user, other = _client_of(world, world.coach, "Abe Early", "abe@acme.example")
    interview_for(world.profile, world.client_user, start_at=_days_ago(3))  # Cleo overdue
    browser = as_user(world.coach)

    def order(query):
        html = browser.get(f"/coach/?{query}").get_data(as_text=True)
        return sorted(["Abe Early", "Cleo"], key=lambda name: html.index(f">{name}<"))

    assert order("sort=name") == ["Abe Early", "Cleo"]
    assert order("sort=name&dir=desc") == ["Cleo", "Abe Early"]
    assert order("sort=overdue&dir=desc") == ["Cleo", "Abe Early"]
    assert order("sort=overdue&dir=asc") == ["Abe Early", "Cleo"]
    # Clients with nothing to show go last in both directions.
    assert order("sort=next_due&dir=asc") == ["Cleo", "Abe Early"]
    assert order("sort=next_due&dir=desc") == ["Cleo", "Abe Early"]
    assert order("sort=last_activity&dir=desc") == ["Cleo", "Abe Early"]
    assert order("sort=compliance") == ["Cleo", "Abe Early"]


def test_admin_pipeline_has_coach_filter(app, world, as_user):
    browser = as_user(world.admin)
    html = browser.get("/coach/").get_data(as_text=True)
    assert "Cleo" in html and "Kit" in html and "Cole Coach" in html
    only = browser.get(f"/coach/?coach={world.coach2.id}").get_data(as_text=True)
    assert "Kit" in only and ">Cleo<" not in only
    assert "Cleo" not in as_user(world.foreign_admin).get("/coach/").get_data(as_text=True)


# --- exceptions queue -------------------------------------------------------------------------


def test_exceptions_queue_groups_by_rule_and_links_tasks(app, world, as_user):
    interview = interview_for(world.profile, world.client_user, start_at=_days_ago(3))
    interview_for(world.profile2, world.client2_user, start_at=_days_ago(3))
    _user, third = _client_of(world, world.coach, "Tess Third", "tess@acme.example")
    interview_for(third, world.coach, start_at=_days_ago(4))
    html = as_user(world.coach).get("/coach/exceptions").get_data(as_text=True)
    assert "Thank-you email overdue: 2 clients" in html
    email_task = _task(interview, "thank_you_email")
    assert f"/coach/tasks/{email_task.id}" in html
    assert "Kit" not in html  # coach2's client
    # The coach can open the task page the row links to.
    assert as_user(world.coach).get(f"/coach/tasks/{email_task.id}").status_code == 200


def test_exceptions_queue_due_today_in_the_clients_day(app, world):
    """'Due today' is the client's own local day: New York and Tokyo at the same instant."""
    from coach_app.services import pipeline

    _user, tokyo = _client_of_tz(world, "Tomo Tokyo", "tomo@acme.example", "Asia/Tokyo")
    now = _at("2026-02-10 12:00", "America/New_York")  # 02:00 on 11 February in Tokyo
    interview_for(
        world.profile,
        world.client_user,
        start_at=_at("2026-02-10 09:00", "America/New_York"),
        now=now,
    )
    interview_for(tokyo, world.coach, start_at=_at("2026-02-11 00:30", "Asia/Tokyo"), now=now)
    groups = pipeline.exceptions(world.coach, now=now)
    headings = [g.heading for g in groups]
    assert headings[:3] == [
        "Interview notes due today: 2 clients",
        "Contacts due today: 2 clients",
        "Next step due today: 2 clients",
    ]
    # Then the week ahead: the thank-yous, gifts and second-interview offers of both rounds.
    assert set(headings[3:]) == {
        "Thank-you email coming up: 2 clients",
        "Thank-you note coming up: 2 clients",
        "Informational gift coming up: 2 clients",
        "Offer a second interview coming up: 2 clients",
    }
    # Half a day later New York's day-0 tasks are overdue, Tokyo's are still due today:
    # today's work comes first.
    later = [g.heading for g in pipeline.exceptions(world.coach, now=now + timedelta(hours=17))]
    assert later[0] == "Interview notes due today: 1 client"
    overdue = [h for h in later if "overdue" in h]
    assert overdue[:3] == [
        "Interview notes overdue: 1 client",
        "Contacts overdue: 1 client",
        "Next step overdue: 1 client",
    ]
    assert later.index(overdue[0]) > later.index("Interview notes due today: 1 client")


def test_exceptions_queue_shows_misses_while_they_are_worth_doing(app, world, as_user):
    """A miss past its rule's horizon leaves the queue but stays in the pipeline."""
    from coach_app.services import pipeline

    interview_for(world.profile, world.client_user, start_at=_days_ago(20))
    _user, recent = _client_of(world, world.coach, "Rita Recent", "rita@acme.example")
    interview_for(recent, world.coach, start_at=_days_ago(3))
    headings = [g.heading for g in pipeline.exceptions(world.coach)]
    # Rita's thank-you email is two days late: still worth sending. The 20-day-old one is not.
    assert "Thank-you email overdue: 1 client" in headings
    # A check-in stays worth doing for 20 days past its deadline (day 10 of the old interview).
    assert "Check-in overdue: 1 client" in headings
    # The old miss still shows as overdue work in the pipeline.
    html = as_user(world.coach).get("/coach/?sort=name").get_data(as_text=True)
    assert html.count('data-testid="overdue"><span class="badge') == 2
    page = as_user(world.coach).get("/coach/exceptions").get_data(as_text=True)
    assert "Thank-you email overdue: 1 client" in page and "still worth doing" in page


def test_exceptions_queue_focus_and_paging(app, world, as_user):
    for i in range(3):
        _user, profile = _client_of(world, world.coach, f"Late {i}", f"late{i}@acme.example")
        interview_for(profile, world.coach, start_at=_days_ago(3 + i))
    app.config["PAGE_SIZE"] = 2
    browser = as_user(world.coach)
    page1 = browser.get("/coach/exceptions?rule=thank_you_note&kind=overdue").get_data(as_text=True)
    assert "Thank-you note overdue: 3 clients" in page1
    assert page1.count("/coach/tasks/") == 2
    page2 = browser.get("/coach/exceptions?rule=thank_you_note&kind=overdue&page=2")
    assert page2.get_data(as_text=True).count("/coach/tasks/") == 1
    for query in ("rule=nope&kind=overdue", "kind=x", "page=zz", "coach=abc"):
        assert browser.get(f"/coach/exceptions?{query}").status_code == 200


def test_exceptions_queue_empty_and_escaped(app, world, as_user):
    browser = as_user(world.coach)
    assert 'data-testid="queue-empty"' in browser.get("/coach/exceptions").get_data(as_text=True)
    interview_for(world.profile, world.client_user, start_at=_days_ago(3), company=XSS)
    html = browser.get("/coach/exceptions").get_data(as_text=True)
    assert XSS not in html and "&lt;script&gt;" in html


def test_archived_clients_leave_the_exceptions_queue(app, world, as_user):
    interview_for(world.profile, world.client_user, start_at=_days_ago(3))
    world.profile.archived_at = datetime.now(UTC)
    db.session.commit()
    html = as_user(world.coach).get("/coach/exceptions").get_data(as_text=True)
    assert 'data-testid="queue-empty"' in html


# --- client detail ----------------------------------------------------------------------------


def test_client_detail_shows_everything(app, world, as_user):
    interview = interview_for(
        world.profile, world.client_user, start_at=_days_ago(2), referrals=["Pat Referral"]
    )
    followup.complete_task(
        task=_task(interview, "notes"),
        actor=world.client_user,
        evidence={"notes": f"They like {XSS}"},
        completed_at=interview.start_at + timedelta(hours=1),
    )
    followup.waive_task(
        task=_task(interview, "second_interview"), actor=world.coach, reason="Panel said no"
    )
    db.session.commit()
    html = as_user(world.coach).get(f"/coach/clients/{world.profile.id}").get_data(as_text=True)
    for text in (
        "Harbor Analytics",
        "Round 1",
        "Dana Reyes",  # contact
        "sailing",  # their interests
        "Pat Referral",
        "Interview notes",
        "Done on time",
        "Overdue",
        "Waived:</strong> Panel said no",
        "Timeline",
        "Log an interview for Cleo",
    ):
        assert text in html, text
    assert XSS not in html and "They like &lt;script&gt;" in html


def test_client_detail_query_count_is_bounded(app, world, as_user):
    from tests.test_pipeline_queries import count_queries

    browser = as_user(world.coach)
    interview_for(world.profile, world.client_user, start_at=_days_ago(2))

    def queries():
        db.session.expire_all()
        with count_queries() as seen:
            assert browser.get(f"/coach/clients/{world.profile.id}").status_code == 200
        return len(seen)

    one = queries()
    for i in range(4):
        interview_for(world.profile, world.client_user, start_at=_days_ago(5 + i), company=f"C{i}")
    assert queries() == one


def test_coach2_cannot_see_or_change_coachs_client(app, world, as_user):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "notes")
    browser = as_user(world.coach2)
    assert browser.get(f"/coach/clients/{world.profile.id}").status_code == 404
    assert (
        browser.post(f"/coach/clients/{world.profile.id}/notes", data={"body": "x"}).status_code
        == 404
    )
    assert browser.post(f"/coach/tasks/{task.id}/waive", data={"reason": "x"}).status_code == 404
    assert browser.post(f"/coach/clients/{world.profile.id}/archive").status_code == 404
    assert _count(CoachingNote) == 0
    db.session.refresh(task)
    assert task.waived_reason is None and world.profile.archived_at is None


def test_add_private_note(app, world, as_user):
    browser = as_user(world.coach)
    response = browser.post(f"/coach/clients/{world.profile.id}/notes", data={"body": XSS})
    assert response.status_code == 302
    note = db.session.scalar(select(CoachingNote))
    assert note.body == XSS and note.author_id == world.coach.id
    html = browser.get(f"/coach/clients/{world.profile.id}").get_data(as_text=True)
    assert XSS not in html and "&lt;script&gt;alert" in html
    # The audit trail records the note, never its text.
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "coaching_note.added"))
    assert XSS not in str(event.details)
    # Never shown to the client: not on their pages.
    client_browser = as_user(world.client_user)
    assert client_browser.get(f"/coach/clients/{world.profile.id}").status_code == 403
    assert "alert" not in client_browser.get("/me/").get_data(as_text=True)


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_add_note_refuses_bad_input(app, world, as_user, body):
    response = as_user(world.coach).post(
        f"/coach/clients/{world.profile.id}/notes", data={"body": body}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "invalid-feedback" in html
    assert _count(CoachingNote) == 0


def test_waive_task(app, world, as_user):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "second_interview")
    browser = as_user(world.coach)
    page = browser.get(f"/coach/tasks/{task.id}/waive")
    assert page.status_code == 200
    response = browser.post(f"/coach/tasks/{task.id}/waive", data={"reason": "No second round"})
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.waived_reason == "No second round" and task.waived_by_id == world.coach.id
    # Waiving again is refused with a message, nothing changes.
    again = browser.post(f"/coach/tasks/{task.id}/waive", data={"reason": "Other"})
    assert again.status_code == 400
    assert "already waived" in again.get_data(as_text=True)
    db.session.refresh(task)
    assert task.waived_reason == "No second round"


@pytest.mark.parametrize("reason", ["", "   ", "y" * 501])
def test_waive_refuses_bad_reason(app, world, as_user, reason):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "thank_you_note")
    response = as_user(world.coach).post(f"/coach/tasks/{task.id}/waive", data={"reason": reason})
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True)
    db.session.refresh(task)
    assert task.waived_reason is None


def test_waive_completed_task_is_refused(app, world, as_user):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "notes")
    followup.complete_task(task=task, actor=world.client_user)
    db.session.commit()
    response = as_user(world.coach).post(f"/coach/tasks/{task.id}/waive", data={"reason": "x"})
    assert response.status_code == 400
    assert "already complete" in response.get_data(as_text=True)


def _interview_form(**overrides):
    local_day = (datetime.now(UTC) - timedelta(days=1)).date()
    data = {
        "opportunity_id": "",
        "company": "Northwind",
        "role": "Analyst",
        "start_date": local_day.isoformat(),
        "start_time": "10:00",
        "duration_minutes": "45",
        "format": "video",
        "contacts-0-name": "Ines Interviewer",
        "contacts-0-interests": "chess",
        "referrals": "",
        "next_step": "Panel next week",
    }
    data.update(overrides)
    return data


def test_log_interview_on_behalf(app, world, as_user):
    browser = as_user(world.coach)
    assert browser.get(f"/coach/clients/{world.profile.id}/interviews/new").status_code == 200
    response = browser.post(
        f"/coach/clients/{world.profile.id}/interviews/new", data=_interview_form()
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    interview = db.session.scalar(select(Interview))
    assert interview.client_id == world.profile.id
    assert interview.created_by_id == world.coach.id
    assert interview.timezone == world.profile.timezone
    assert _count(FollowUpTask, FollowUpTask.interview_id == interview.id) >= 7
    html = browser.get(f"/coach/clients/{world.profile.id}").get_data(as_text=True)
    assert "Northwind" in html and "Ines Interviewer" in html


@pytest.mark.parametrize(
    "overrides",
    [
        {"start_date": ""},
        {"start_date": "not-a-date"},
        {"duration_minutes": "-5"},
        {"duration_minutes": "abc"},
        {"company": "", "role": ""},
        {"format": "carrier-pigeon"},
        {"opportunity_id": "999999"},
    ],
)
def test_log_interview_on_behalf_refuses_bad_input(app, world, as_user, overrides):
    response = as_user(world.coach).post(
        f"/coach/clients/{world.profile.id}/interviews/new", data=_interview_form(**overrides)
    )
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True) or "alert-danger" in (
        response.get_data(as_text=True)
    )
    assert _count(Interview) == 0 and _count(FollowUpTask) == 0


def test_log_interview_for_other_coachs_client_is_404(app, world, as_user):
    response = as_user(world.coach2).post(
        f"/coach/clients/{world.profile.id}/interviews/new", data=_interview_form()
    )
    assert response.status_code == 404
    assert _count(Interview) == 0


# --- archive, restore, move -------------------------------------------------------------------


def test_archive_and_restore_client(app, world, as_user):
    interview_for(world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(hours=1))
    pending_before = _count(
        OutboxMessage,
        OutboxMessage.recipient_id == world.client_user.id,
        OutboxMessage.status == "pending",
    )
    assert pending_before > 0
    browser = as_user(world.coach)
    assert "Archiving ends" in browser.get(f"/coach/clients/{world.profile.id}/archive").get_data(
        as_text=True
    )
    assert browser.post(f"/coach/clients/{world.profile.id}/archive").status_code == 302
    db.session.expire_all()
    profile = db.session.get(ClientProfile, world.profile.id)
    assert profile.archived_at is not None
    assert profile.user.is_active is False
    assert (
        _count(
            OutboxMessage,
            OutboxMessage.recipient_id == world.client_user.id,
            OutboxMessage.status == "pending",
        )
        == 0
    )
    # History kept; hidden from the pipeline unless asked for.
    assert _count(Interview, Interview.client_id == profile.id) == 1
    assert ">Cleo<" not in browser.get("/coach/").get_data(as_text=True)
    assert ">Cleo<" in browser.get("/coach/?archived=archived").get_data(as_text=True)
    detail = browser.get(f"/coach/clients/{profile.id}").get_data(as_text=True)
    assert 'data-testid="archived-badge"' in detail
    # The client can no longer sign in.
    response = app.test_client().post(
        "/auth/login", data={"email": world.client_user.email, "password": PASSWORD}
    )
    assert response.status_code != 302
    # Archiving twice is harmless.
    assert browser.post(f"/coach/clients/{profile.id}/archive").status_code == 302
    assert (
        _count(
            AuditEvent, AuditEvent.action == "client.archived", AuditEvent.object_id == profile.id
        )
        == 1
    )

    assert browser.post(f"/coach/clients/{profile.id}/restore").status_code == 302
    db.session.expire_all()
    profile = db.session.get(ClientProfile, world.profile.id)
    assert profile.archived_at is None and profile.user.is_active
    login(app.test_client(), world.client_user.email)
    assert (
        _count(
            OutboxMessage,
            OutboxMessage.recipient_id == world.client_user.id,
            OutboxMessage.status == "pending",
        )
        > 0
    )


def test_archive_revokes_open_invitation(app, world, as_user):
    user = create_user(
        organization_id=world.org.id, role="client", email="new@acme.example", name="Newbie"
    )
    profile = ClientProfile(user_id=user.id, organization_id=world.org.id, coach_id=world.coach.id)
    db.session.add(profile)
    db.session.flush()
    issue_invitation(user, world.coach)
    db.session.commit()
    assert as_user(world.coach).post(f"/coach/clients/{profile.id}/archive").status_code == 302
    invitation = db.session.scalar(select(Invitation).where(Invitation.user_id == user.id))
    db.session.refresh(invitation)
    assert invitation.revoked_at is not None


def test_move_client_to_another_coach(app, world, as_user):
    browser = as_user(world.admin)
    page = browser.get(f"/coach/clients/{world.profile.id}/move").get_data(as_text=True)
    assert "Cole Coach" in page and f'value="{world.coach.id}"' not in page
    response = browser.post(
        f"/coach/clients/{world.profile.id}/move", data={"coach": str(world.coach2.id)}
    )
    assert response.status_code == 302
    db.session.refresh(world.profile)
    assert world.profile.coach_id == world.coach2.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.moved"))
    assert event.details == {"from_coach_id": world.coach.id, "to_coach_id": world.coach2.id}
    assert event.actor_id == world.admin.id
    assert as_user(world.coach).get(f"/coach/clients/{world.profile.id}").status_code == 404
    assert as_user(world.coach2).get(f"/coach/clients/{world.profile.id}").status_code == 200


@pytest.mark.parametrize("coach_value", ["", "abc", "0", "same", "foreign", "organizer"])
def test_move_client_refuses_bad_coach(app, world, as_user, coach_value):
    value = {
        "same": str(world.coach.id),
        "foreign": str(world.foreign_coach.id),
        "organizer": str(world.organizer.id),
    }.get(coach_value, coach_value)
    response = as_user(world.admin).post(
        f"/coach/clients/{world.profile.id}/move", data={"coach": value}
    )
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True)
    db.session.refresh(world.profile)
    assert world.profile.coach_id == world.coach.id
    assert _count(AuditEvent, AuditEvent.action == "client.moved") == 0


def test_only_admins_move_clients(app, world, as_user):
    response = as_user(world.coach).post(
        f"/coach/clients/{world.profile.id}/move", data={"coach": str(world.coach2.id)}
    )
    assert response.status_code == 403
    foreign = as_user(world.foreign_admin).post(
        f"/coach/clients/{world.profile.id}/move", data={"coach": str(world.coach2.id)}
    )
    assert foreign.status_code == 404
    db.session.refresh(world.profile)
    assert world.profile.coach_id == world.coach.id


def test_remove_client_from_cohort(app, world, as_user):
    cohort = Cohort(organization_id=world.org.id, organizer_id=world.organizer.id, name="Spring")
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, client_id=world.profile.id))
    db.session.commit()
    browser = as_user(world.coach)
    assert "Spring" in browser.get(f"/coach/clients/{world.profile.id}").get_data(as_text=True)
    url = f"/coach/clients/{world.profile.id}/cohorts/{cohort.id}/remove"
    assert as_user(world.coach2).post(url).status_code == 404
    assert _count(CohortMember) == 1
    assert browser.post(url).status_code == 302
    assert _count(CohortMember) == 0
    assert browser.post(url).status_code == 302  # already gone: harmless


def test_invite_page_still_works(app, world, as_user):
    response = as_user(world.coach).post(
        "/coach/invite", data={"name": "Ivy Invitee", "email": "ivy@acme.example", "timezone": ""}
    )
    assert response.status_code == 200
    assert "Invitation sent" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "ivy@acme.example"))
    profile = db.session.scalar(select(ClientProfile).where(ClientProfile.user_id == user.id))
    assert profile.coach_id == world.coach.id
    bad = as_user(world.coach).post("/coach/invite", data={"name": "", "email": "nope"})
    assert bad.status_code == 400


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _local_days_ago(days: int, hour: int = 10, tz: str = "America/New_York") -> datetime:
    """10:00 in the client's zone `days` local days ago (never near local midnight)."""
    from zoneinfo import ZoneInfo

    day = datetime.now(ZoneInfo(tz)).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _at(text: str, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _client_of_tz(world, name, email, tz):
    user, profile = world.client_of(world.coach, email, name, timezone=tz)
    db.session.commit()
    return user, profile
