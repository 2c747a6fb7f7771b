"""No input to the client forms ends in a server error: every answer is a redirect or a 400."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import FollowUpTask
from tests.factories import interview_for

INTERVIEW_FIELDS = [
    "opportunity_id",
    "company",
    "role",
    "industry",
    "start_date",
    "start_time",
    "duration_minutes",
    "format",
    "contacts-0-name",
    "contacts-0-email",
    "contacts-0-card_collected",
    "contacts-7-name",
    "referrals",
    "next_step",
    "stated_decision_date",
]
TASK_FIELDS = [
    "notes",
    "note",
    "confirm",
    "confirm_recorded",
    "contact_ids",
    "other_recipient",
    "other_person",
    "channel",
    "text",
    "gift_kind",
    "gift",
    "interest",
    "interest_other",
    "contacted",
    "result",
    "callback_date",
    "new_contacts-0-name",
]
# Text that tends to break parsers: dates, numbers, NUL, markup, very long strings.
values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "0", "-1", "1e309", "2025-03-09", "02:30", "9999-12-31", "\x00", "<b>", "x" * 6000]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
relaxed = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def me(world, as_user):
    return as_user(world.client_user)


@relaxed
@given(st.dictionaries(st.sampled_from(INTERVIEW_FIELDS), values, max_size=8))
def test_interview_form_never_500(world, me, data):
    response = me.post("/me/interviews/new", data=data)
    assert response.status_code in (302, 400)


@relaxed
@given(
    st.sampled_from(["notes", "contacts", "thank_you_note", "info_gift", "check_in", "referral"]),
    st.dictionaries(st.sampled_from(TASK_FIELDS), values, max_size=8),
)
def test_task_forms_never_500(world, me, rule, data):
    interview = db.session.scalar(select(FollowUpTask.interview_id).limit(1))
    if interview is None:
        interview_for(world.profile, world.client_user, referrals=["Lee"])
    task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.rule == rule).limit(1))
    for url in (f"/me/tasks/{task.id}/complete", f"/me/tasks/{task.id}/waive"):
        assert me.post(url, data=data).status_code in (200, 302, 400)
