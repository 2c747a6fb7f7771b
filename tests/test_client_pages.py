"""Client pages: log an interview, checklists, completing tasks with evidence, outcomes."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from coach_app.extensions import db
from coach_app.models import (
    AuditEvent,
    FollowUpTask,
    Interview,
    InterviewContact,
    Opportunity,
    Referral,
)
from coach_app.services import followup
from tests.factories import interview_for, zone_where_it_is

NY = ZoneInfo("America/New_York")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _interview_data(**overrides):
    yesterday = (datetime.now(NY) - timedelta(days=1)).date()
    data = {
        "opportunity_id": "",
        "company": "Harbor Analytics",
        "role": "Data analyst",
        "industry": "Logistics",
        "start_date": yesterday.isoformat(),
        "start_time": "10:00",
        "duration_minutes": "45",
        "format": "video",
        "contacts-0-name": "Dana Reyes",
        "contacts-0-title": "Hiring manager",
        "contacts-0-email": "dana@harbor.example",
        "contacts-0-card_collected": "y",
        "contacts-0-interests": "sailing, open data",
        "contacts-1-name": "Sam Ortiz",
        "contacts-1-interests": "chess",
        "contacts-2-name": "",
        "referrals": "Lee at the data guild\n\nPort Authority analytics team\n",
        "next_step": "Panel interview with the team",
        "stated_decision_date": "",
    }
    data.update(overrides)
    return data


def _task(interview, rule) -> FollowUpTask:
    return db.session.scalar(
        select(FollowUpTask).where(
            FollowUpTask.interview_id == interview.id, FollowUpTask.rule == rule
        )
    )


@pytest.fixture
def me(world, as_user):
    return as_user(world.client_user)


# ------------------------------------------------------------------ logging an interview


def test_log_interview_form_creates_opportunity_round_and_tasks(world, me):
    page = me.get("/me/interviews/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="contacts-2-name"' in html and "America/New_York" in html

    response = me.post("/me/interviews/new", data=_interview_data())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    interview = db.session.scalar(select(Interview))
    assert response.headers["Location"].endswith(f"/me/interviews/{interview.id}")
    assert interview.round_number == 1 and interview.duration_minutes == 45
    assert interview.format == "video" and interview.timezone == "America/New_York"
    assert interview.start_at.astimezone(NY).strftime("%H:%M") == "10:00"
    opportunity = interview.opportunity
    assert (opportunity.company, opportunity.role, opportunity.industry) == (
        "Harbor Analytics",
        "Data analyst",
        "Logistics",
    )
    contacts = db.session.scalars(select(InterviewContact).order_by(InterviewContact.id)).all()
    assert [(c.name, c.card_collected) for c in contacts] == [
        ("Dana Reyes", True),
        ("Sam Ortiz", False),
    ]
    rules = sorted(t.rule for t in db.session.scalars(select(FollowUpTask)))
    assert rules.count("referral") == 2
    assert {"notes", "contacts", "next_step", "thank_you_email", "check_in"} <= set(rules)
    assert len(rules) == 7 + 2 + 1

    checklist = me.get(response.headers["Location"]).get_data(as_text=True)
    for text in ("Interview notes", "Thank-you email", "Check-in", "opens", "sailing, open data"):
        assert text in checklist
    assert "Lee at the data guild" in checklist and "Round 1 logged" in checklist


def test_second_round_on_an_open_opportunity(world, me):
    first = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=3)
    )
    page = me.get(f"/me/interviews/new?opportunity={first.opportunity_id}").get_data(as_text=True)
    assert "round 2 next" in page and "selected" in page
    response = me.post(
        "/me/interviews/new",
        data=_interview_data(opportunity_id=str(first.opportunity_id), company="", role=""),
    )
    assert response.status_code == 302
    assert _count(Opportunity) == 1
    second = db.session.scalar(select(Interview).where(Interview.id != first.id))
    assert second.round_number == 2
    # A later round supersedes the earlier round's pending check-in.
    assert _task(first, "check_in").waived_reason == "superseded by a later round"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"company": ""}, "Enter the company"),
        ({"role": "  "}, "Enter the role"),
        ({"duration_minutes": "-5"}, "between 1 and 1440"),
        ({"duration_minutes": "abc"}, "Not a valid integer"),
        ({"duration_minutes": "99999999999999999999999"}, "between 1 and 1440"),
        ({"format": "carrier pigeon"}, "Not a valid choice"),
        ({"start_date": "2024-02-30"}, "Not a valid date"),
        ({"start_date": "yesterday"}, "Not a valid date"),
        ({"start_date": ""}, "Enter the interview date"),
        ({"start_time": "25:61"}, "Not a valid time"),
        (
            {"stated_decision_date": str(date.today() - timedelta(days=10))},
            "is before the interview",
        ),
        ({"stated_decision_date": "soon"}, "Not a valid date"),
        ({"stated_decision_date": "9999-12-31"}, "Enter a date between"),
        ({"start_date": "9999-12-31"}, "Enter a date between"),
        ({"start_date": "0001-01-01"}, "Enter a date between"),
        ({"start_time": "10:00:00"}, None),
        # 02:30 on the spring-forward night never happens in New York.
        ({"start_date": "2025-03-09", "start_time": "02:30"}, "does not exist in America/New_York"),
        ({"opportunity_id": "abc"}, "Not a valid choice"),
        ({"opportunity_id": "999999"}, "Not a valid choice"),
        ({"contacts-0-name": ""}, "Enter the person&#39;s name"),
        ({"contacts-1-email": "not-an-email"}, "Invalid email"),
        ({"company": "x" * 201}, "Field cannot be longer than 200"),
        ({"referrals": "\n".join(f"Person {i}" for i in range(25))}, "at most 20 referrals"),
    ],
)
def test_bad_interview_input_is_refused_with_a_message(world, me, overrides, message):
    response = me.post("/me/interviews/new", data=_interview_data(**overrides))
    if message is None:  # seconds from a browser's time picker are fine
        assert response.status_code == 302
        return
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "invalid-feedback" in html or "alert-danger" in html
    # Input is kept and nothing is written.
    assert "Panel interview with the team" in html
    assert _count(Opportunity) == 0 and _count(Interview) == 0 and _count(FollowUpTask) == 0


def test_another_clients_opportunity_cannot_be_chosen(world, me):
    theirs = interview_for(world.profile2, world.client2_user)
    response = me.post(
        "/me/interviews/new", data=_interview_data(opportunity_id=str(theirs.opportunity_id))
    )
    assert response.status_code == 400
    assert _count(Interview) == 1


def test_closed_opportunity_is_not_offered(world, me):
    first = interview_for(world.profile, world.client_user)
    first.opportunity.outcome = "offer"
    db.session.commit()
    response = me.post(
        "/me/interviews/new", data=_interview_data(opportunity_id=str(first.opportunity_id))
    )
    assert response.status_code == 400 and _count(Interview) == 1


def test_nul_bytes_and_garbage_never_500(world, me):
    response = me.post(
        "/me/interviews/new",
        data=_interview_data(company="Acme\x00 Corp", **{"contacts-0-interests": "a\x00b"}),
    )
    # Refused whole by the input filter, naming the field; nothing is written.
    assert response.status_code == 400 and "company" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Opportunity.id))) == 0
    for url in ("/me/interviews/abc", "/me/tasks/999999", "/me/tasks/-1", "/me/interviews/0"):
        assert me.get(url).status_code == 404


def test_html_in_user_text_is_escaped(world, me):
    response = me.post(
        "/me/interviews/new",
        data=_interview_data(
            company="<script>x</script>", **{"contacts-0-interests": "<b>bold</b>"}
        ),
    )
    assert response.status_code == 302
    for url in ("/me/", response.headers["Location"]):
        html = me.get(url).get_data(as_text=True)
        assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    checklist = me.get(response.headers["Location"]).get_data(as_text=True)
    assert "<b>bold</b>" not in checklist and "&lt;b&gt;bold&lt;/b&gt;" in checklist


# ------------------------------------------------------------------ home


def test_home_lists_today_first_then_overdue_and_opportunities(world, me):
    here = zone_where_it_is(14)  # mid-afternoon: the new notes are due today
    world.client_user.timezone = here
    db.session.commit()
    old = interview_for(
        world.profile,
        world.client_user,
        company="Old Co",
        start_at=datetime.now(UTC) - timedelta(days=4),
    )
    interview_for(
        world.profile,
        world.client_user,
        company="New Co",
        start_at=datetime.now(UTC) - timedelta(hours=2),
    )
    html = me.get("/me/").get_data(as_text=True)
    assert "Log an interview" in html and "Old Co" in html and "New Co" in html
    today, overdue = html.index('data-testid="todo-today"'), html.index("todo-overdue")
    # Today's work comes first; Old Co's misses that can still help follow it.
    assert today < html.index("New Co") < overdue < html.index("Old Co", overdue)
    assert "task-overdue" in html[overdue:]
    assert f"/me/interviews/{old.id}" in html


def test_a_months_old_miss_leaves_the_list_for_the_missed_history(world, me):
    interview_for(
        world.profile,
        world.client_user,
        company="Long Ago Inc",
        start_at=datetime.now(UTC) - timedelta(days=90),
    )
    html = me.get("/me/").get_data(as_text=True)
    history = html.index('data-testid="todo-missed"')
    assert "todo-overdue" not in html and "todo-today" not in html
    assert "Missed (" in html and html.index("Long Ago Inc") > history


def test_home_without_anything_logged(world, me):
    html = me.get("/me/").get_data(as_text=True)
    assert "Nothing to do right now" in html and "No interviews logged yet" in html


def _queries_for(test_client, url) -> int:
    statements = []

    def count(*_args):
        statements.append(1)

    # Tests share the session with the requests: start each measured page from a cold one.
    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert test_client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_home_query_count_does_not_grow_with_opportunities(world, me):
    interview_for(world.profile, world.client_user, company="Co 0", referrals=["Ref"])
    me.get("/me/")  # warm caches (login user, etc.)
    few = _queries_for(me, "/me/")
    for i in range(1, 7):
        opportunity = interview_for(
            world.profile, world.client_user, company=f"Co {i}", referrals=["A", "B"]
        ).opportunity
        interview_for(
            world.profile,
            world.client_user,
            opportunity=opportunity,
            start_at=datetime.now(UTC) - timedelta(hours=1),
        )
    many = _queries_for(me, "/me/")
    assert many == few, (few, many)


def test_checklist_query_count_does_not_grow_with_tasks(world, me):
    small = interview_for(world.profile, world.client_user)
    big = interview_for(world.profile, world.client_user, referrals=[f"R{i}" for i in range(8)])
    assert _queries_for(me, f"/me/interviews/{small.id}") == _queries_for(
        me, f"/me/interviews/{big.id}"
    )


# ------------------------------------------------------------------ completing tasks


def test_complete_notes_with_evidence(world, me):
    # Mid-afternoon locally: the interview three hours ago is on today's local date, so notes
    # written now are on time whatever hour the suite runs at.
    world.client_user.timezone = zone_where_it_is(14)
    db.session.commit()
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "notes")
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert "Your notes" in page and "Mark done" in page

    empty = me.post(f"/me/tasks/{task.id}/complete", data={"notes": "   "})
    assert empty.status_code == 400 and "Write your notes" in empty.get_data(as_text=True)
    db.session.refresh(task)
    assert task.completed_at is None

    done = me.post(f"/me/tasks/{task.id}/complete", data={"notes": "Cares about <open> data"})
    assert done.status_code == 302
    db.session.refresh(task)
    assert task.completed_at is not None
    assert task.evidence == {"rule": "notes", "notes": "Cares about <open> data"}
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert "Cares about &lt;open&gt; data" in page and "Done on time" in page

    again = me.post(f"/me/tasks/{task.id}/complete", data={"notes": "twice"})
    assert again.status_code == 400 and "already done" in again.get_data(as_text=True)


def test_contacts_task_confirms_and_adds_missing_people(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "contacts")
    missing = me.post(f"/me/tasks/{task.id}/complete", data={"new_contacts-0-name": "Ira"})
    assert missing.status_code == 400 and "Tick this" in missing.get_data(as_text=True)
    assert _count(InterviewContact) == 1
    response = me.post(
        f"/me/tasks/{task.id}/complete",
        data={
            "confirm_recorded": "y",
            "new_contacts-0-name": "Ira Kent",
            "new_contacts-0-title": "Recruiter",
            "new_contacts-0-interests": "jazz",
        },
    )
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.evidence["confirmed"] is True and task.evidence["contacts_added"] == 1
    assert {c.name for c in db.session.scalars(select(InterviewContact))} == {
        "Dana Reyes",
        "Ira Kent",
    }


def test_thank_you_email_records_who_and_channel(world, me):
    interview = interview_for(world.profile, world.client_user)
    contact = interview.contacts[0]
    task = _task(interview, "thank_you_email")
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert f'value="{contact.id}"' in page and "Dana Reyes" in page

    nobody = me.post(f"/me/tasks/{task.id}/complete", data={"channel": "email"})
    assert nobody.status_code == 400 and "Tick at least one person" in nobody.get_data(as_text=True)
    garbage = me.post(
        f"/me/tasks/{task.id}/complete", data={"channel": "email", "contact_ids": "abc"}
    )
    assert garbage.status_code == 400
    unknown = me.post(
        f"/me/tasks/{task.id}/complete", data={"channel": "email", "contact_ids": "99999"}
    )
    assert unknown.status_code == 400

    done = me.post(
        f"/me/tasks/{task.id}/complete",
        data={"channel": "email", "contact_ids": str(contact.id), "text": "Thanks for the tour"},
    )
    assert done.status_code == 302
    db.session.refresh(task)
    assert task.evidence["thanked"] == [{"id": contact.id, "name": "Dana Reyes"}]
    assert task.evidence["channel"] == "email"
    assert "Thanked" in me.get(f"/me/tasks/{task.id}").get_data(as_text=True)


def test_thank_you_note_skills_pitch_warns_then_saves_anyway(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "thank_you_note")
    data = {
        "channel": "handwritten",
        "other_recipient": "The whole panel",
        "text": "Thank you. With my skills in SQL and years of experience I would fit.",
    }
    first = me.post(f"/me/tasks/{task.id}/complete", data=data)
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "Save anyway" in html and "wrong place to sell your skills" in html
    assert "years of experience I would fit" in html  # input kept
    assert 'name="confirm" type="hidden" value="1"' in html
    db.session.refresh(task)
    assert task.completed_at is None

    saved = me.post(f"/me/tasks/{task.id}/complete", data={**data, "confirm": "1"})
    assert saved.status_code == 302
    db.session.refresh(task)
    assert task.completed_at is not None and task.evidence["warnings"]
    after = me.get(saved.headers["Location"]).get_data(as_text=True)
    assert "wrong place to sell your skills" in after  # flashed after saving


def test_tangible_gift_warning_is_shown(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "info_gift")
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert '<option value="sailing">sailing</option>' in page

    data = {"gift_kind": "other", "gift": "A $25 Starbucks gift card", "interest": "sailing"}
    warned = me.post(f"/me/tasks/{task.id}/complete", data=data)
    assert warned.status_code == 200
    html = warned.get_data(as_text=True)
    assert "sounds like a tangible gift" in html and "bribe" in html and "Save anyway" in html
    db.session.refresh(task)
    assert task.completed_at is None

    better = me.post(
        f"/me/tasks/{task.id}/complete",
        data={
            "gift_kind": "magazine",
            "gift": "Link to Cruising World's article on coastal charts",
            "interest": "",
            "interest_other": "sailing magazines",
        },
    )
    assert better.status_code == 302
    db.session.refresh(task)
    assert task.evidence["gift_kind"] == "magazine"
    assert task.evidence["interest"] == "sailing magazines"
    assert "warnings" not in task.evidence


def test_info_gift_needs_an_interest(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "info_gift")
    response = me.post(
        f"/me/tasks/{task.id}/complete", data={"gift_kind": "book", "gift": "Moneyball"}
    )
    assert response.status_code == 400
    assert "Choose the interest" in response.get_data(as_text=True)


def test_check_in_with_call_back_date_creates_callback(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "check_in")
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert "call back on" in page and "Opens" in page
    callback_on = (datetime.now(NY) + timedelta(days=12)).date()
    wrong = me.post(
        f"/me/tasks/{task.id}/complete",
        data={
            "other_person": "Dana",
            "channel": "phone",
            "result": "decision",
            "callback_date": callback_on.isoformat(),
        },
    )
    assert wrong.status_code == 400 and "goes with the result" in wrong.get_data(as_text=True)
    past = me.post(
        f"/me/tasks/{task.id}/complete",
        data={
            "contact_ids": str(interview.contacts[0].id),
            "channel": "phone",
            "result": "no_decision",
            "callback_date": str(date.today() - timedelta(days=2)),
        },
    )
    assert past.status_code == 400 and "is before the day" in past.get_data(as_text=True)
    far = me.post(
        f"/me/tasks/{task.id}/complete",
        data={"other_person": "Dana", "result": "no_decision", "callback_date": "9999-12-31"},
    )
    assert far.status_code == 400 and "Enter a date between" in far.get_data(as_text=True)
    assert _count(FollowUpTask) == 8

    done = me.post(
        f"/me/tasks/{task.id}/complete",
        data={
            "contact_ids": str(interview.contacts[0].id),
            "channel": "phone",
            "result": "no_decision",
            "callback_date": callback_on.isoformat(),
        },
    )
    assert done.status_code == 302
    callback = db.session.scalar(select(FollowUpTask).where(FollowUpTask.rule == "callback"))
    assert callback is not None and callback.parent_task_id == task.id
    assert callback.due_at.astimezone(NY).date() == callback_on
    db.session.refresh(task)
    assert task.evidence["callback_date"] == callback_on.isoformat()
    assert "call-back task is on your list" in me.get(done.headers["Location"]).get_data(
        as_text=True
    )
    # The call-back the employer asked for is never "too soon" after its own check-in.
    callback_page = me.post(
        f"/me/tasks/{callback.id}/complete",
        data={"other_person": "Dana", "channel": "phone", "result": "decision"},
    )
    assert callback_page.status_code == 302


def test_check_in_soon_after_a_thank_you_warns_about_spacing(world, me):
    interview = interview_for(world.profile, world.client_user)
    thanks = _task(interview, "thank_you_email")
    me.post(f"/me/tasks/{thanks.id}/complete", data={"channel": "email", "other_recipient": "Dana"})
    check_in = _task(interview, "check_in")
    response = me.post(
        f"/me/tasks/{check_in.id}/complete",
        data={"other_person": "Dana", "channel": "phone", "result": "left_message"},
    )
    assert response.status_code == 200
    assert "Leave at least 5 days between contacts" in response.get_data(as_text=True)


def test_referral_task_prefills_and_records(world, me):
    interview = interview_for(world.profile, world.client_user, referrals=["Lee Park"])
    task = _task(interview, "referral")
    assert 'value="Lee Park"' in me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    response = me.post(
        f"/me/tasks/{task.id}/complete",
        data={"contacted": "Lee Park", "channel": "email", "note": "Coffee next week"},
    )
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.evidence["contacted"] == "Lee Park"


def test_add_referral_from_the_checklist(world, me):
    interview = interview_for(world.profile, world.client_user)
    bad = me.post(f"/me/interviews/{interview.id}/referrals", data={"name": ""})
    assert bad.status_code == 400 and "Enter who you were referred to" in bad.get_data(as_text=True)
    ok = me.post(f"/me/interviews/{interview.id}/referrals", data={"name": "The guild"})
    assert ok.status_code == 302
    assert db.session.scalar(select(Referral.name)) == "The guild"
    assert _task(interview, "referral") is not None


def test_completing_before_the_interview_is_refused(world, me):
    future = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) + timedelta(days=2)
    )
    task = _task(future, "notes")
    response = me.post(f"/me/tasks/{task.id}/complete", data={"notes": "early"})
    assert response.status_code == 400
    assert "hasn&#39;t happened yet" in response.get_data(as_text=True)
    db.session.refresh(task)
    assert task.completed_at is None


# ------------------------------------------------------------------ waive, outcome


def test_waive_and_unwaive(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "second_interview")
    blank = me.post(f"/me/tasks/{task.id}/waive", data={"reason": " "})
    assert blank.status_code == 400 and "Give a reason" in blank.get_data(as_text=True)
    response = me.post(f"/me/tasks/{task.id}/waive", data={"reason": "They said no more rounds"})
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.waived_reason == "They said no more rounds"
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert "Un-waive" in page and "status-waived" in page
    blocked = me.post(f"/me/tasks/{task.id}/complete", data={"note": "done"})
    assert blocked.status_code == 400
    twice = me.post(f"/me/tasks/{task.id}/waive", data={"reason": "again"})
    assert twice.status_code == 400 and "already waived" in twice.get_data(as_text=True)

    assert me.post(f"/me/tasks/{task.id}/unwaive").status_code == 302
    db.session.refresh(task)
    assert task.waived_reason is None
    assert me.post(f"/me/tasks/{task.id}/unwaive").status_code == 400


def test_outcome_rejected_brings_up_rejection_thanks(world, me):
    interview = interview_for(world.profile, world.client_user)
    url = f"/me/opportunities/{interview.opportunity_id}/outcome"
    assert me.get(url).status_code == 200
    assert me.post(url, data={"outcome": "hired!"}).status_code == 400
    assert me.post(url, data={"outcome": ""}).status_code == 400
    response = me.post(url, data={"outcome": "rejected"})
    assert response.status_code == 302
    thanks = db.session.scalar(select(FollowUpTask).where(FollowUpTask.rule == "rejection_thanks"))
    assert response.headers["Location"].endswith(f"/me/tasks/{thanks.id}")
    page = me.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thanks after a rejection" in page and "One more step" in page
    assert _task(interview, "check_in").waived_reason == "decision recorded"
    # The checklist now lists the opportunity's rejection thanks and no outcome form.
    checklist = me.get(f"/me/interviews/{interview.id}").get_data(as_text=True)
    assert "Thanks after a rejection" in checklist and "Record</button>" not in checklist
    # Completing it with a short note.
    done = me.post(f"/me/tasks/{thanks.id}/complete", data={"note": "Emailed Dana"})
    assert done.status_code == 302
    assert me.post(url, data={"outcome": "offer"}).status_code == 400


def test_outcome_offer_returns_to_checklist(world, me):
    interview = interview_for(world.profile, world.client_user)
    response = me.post(
        f"/me/opportunities/{interview.opportunity_id}/outcome", data={"outcome": "offer"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/me/interviews/{interview.id}")
    db.session.refresh(interview.opportunity)
    assert interview.opportunity.outcome == "offer"


def test_coach_can_act_on_their_clients_task(world, as_user):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "notes")
    coach = as_user(world.coach)
    page = coach.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert "My follow-up" not in page  # no client-only breadcrumb for the coach
    assert "Cleo’s follow-up" in page
    assert (
        coach.post(f"/me/tasks/{task.id}/waive", data={"reason": "Phone screen"}).status_code == 302
    )
    other = as_user(world.coach2)
    assert other.post(f"/me/tasks/{task.id}/unwaive").status_code == 404
    db.session.refresh(task)
    assert task.waived_by_id == world.coach.id


def test_undo_a_completion_marked_by_mistake(world, me):
    interview = interview_for(world.profile, world.client_user)
    task = _task(interview, "notes")
    done = me.post(f"/me/tasks/{task.id}/complete", data={"notes": "Talked data"})
    assert done.status_code == 302
    page = me.get(f"/me/tasks/{task.id}").get_data(as_text=True)
    assert "I marked this by mistake" in page
    response = me.post(f"/me/tasks/{task.id}/undo")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/me/tasks/{task.id}"
    )
    db.session.refresh(task)
    assert task.completed_at is None and task.evidence is None and task.is_open
    # Its reminders are planned again, and undoing twice is refused without a change.
    assert me.post(f"/me/tasks/{task.id}/undo").status_code == 400
    audit = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "task.completion_undone")
    )
    assert audit is not None and audit.details["rule"] == "notes"


def test_undoing_a_check_in_waives_the_call_back_it_asked_for(world, me):
    start = datetime.now(UTC) - timedelta(days=8)
    interview = interview_for(world.profile, world.client_user, start_at=start)
    check_in = _task(interview, "check_in")
    callback = followup.complete_task(
        task=check_in,
        actor=world.client_user,
        callback_date=(datetime.now(NY) + timedelta(days=2)).date(),
        evidence={"result": "no_decision"},
    )
    db.session.commit()
    assert me.post(f"/me/tasks/{check_in.id}/undo").status_code == 302
    db.session.refresh(callback)
    assert callback.waived_reason == followup.UNDONE_REASON


def test_coach_task_page_names_the_client_and_records_on_behalf(world, as_user):
    interview = interview_for(
        world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=1)
    )
    task = _task(interview, "thank_you_email")
    coach = as_user(world.coach)
    page = coach.get(f"/coach/tasks/{task.id}").get_data(as_text=True)
    assert "Cleo’s follow-up" in page and "Record for Cleo" in page
    assert "When was it done?" in page and "My follow-up" not in page
    # The coach says when the client actually sent it: yesterday, two hours after the interview.
    done_local = (interview.start_at + timedelta(hours=3)).astimezone(NY)
    response = coach.post(
        f"/me/tasks/{task.id}/complete",
        data={
            "other_recipient": "Dana",
            "channel": "email",
            "text": "Thanks for the talk about data pipelines.",
            "done_at": done_local.strftime("%Y-%m-%dT%H:%M"),
            "confirm": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith(f"/coach/tasks/{task.id}")
    db.session.refresh(task)
    assert task.completed_at == done_local.replace(second=0, microsecond=0).astimezone(UTC)
    assert task.completed_by_id == world.coach.id
    # The client's own form has no such field: their completions are stamped when recorded.
    me = as_user(world.client_user)
    other = _task(interview, "thank_you_note")
    assert "When was it done?" not in me.get(f"/me/tasks/{other.id}").get_data(as_text=True)


def test_exceptions_queue_links_to_the_coach_task_page(world, as_user):
    interview_for(world.profile, world.client_user, start_at=datetime.now(UTC) - timedelta(days=2))
    page = as_user(world.coach).get("/coach/exceptions").get_data(as_text=True)
    assert "/coach/tasks/" in page and "/me/tasks/" not in page


def test_decision_date_keeps_local_date(world, me):
    start = (datetime.now(NY) - timedelta(days=1)).date()
    decision = start + timedelta(days=3)
    response = me.post(
        "/me/interviews/new", data=_interview_data(stated_decision_date=decision.isoformat())
    )
    assert response.status_code == 302
    interview = db.session.scalar(select(Interview))
    assert interview.stated_decision_date == decision
    check_in = _task(interview, "check_in")
    assert check_in.due_at.astimezone(NY).date() == decision + timedelta(days=1)
    assert isinstance(interview.stated_decision_date, date)


def test_csrf_is_required(world, database_url, instance_dir):
    from tests.conftest import make_app

    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    with app.test_request_context():
        test_client = app.test_client()
        page = test_client.get("/auth/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        test_client.post(
            "/auth/login",
            data={
                "email": world.client_user.email,
                "password": "correct-horse-battery",
                "csrf_token": token,
            },
        )
        form = test_client.get("/me/interviews/new").get_data(as_text=True)
        assert 'name="csrf_token"' in form
        response = test_client.post("/me/interviews/new", data=_interview_data())
        assert response.status_code == 400
    assert _count(Interview) == 0
