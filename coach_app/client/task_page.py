"""The task page, shared by the client (their own work) and their coach or admin (on behalf).

One template serves both; only the wording, the breadcrumb, the "when was it done?" field and
where the page's forms return to differ, so the rules stay in one place.
"""

from datetime import UTC, datetime

from flask import url_for

from coach_app.client.forms import UnwaiveForm, WaiveForm, completion_form
from coach_app.models import FollowUpTask, Role, User
from coach_app.playbook import RULES, Rule
from coach_app.services import checklist, followup


def on_behalf(viewer: User) -> bool:
    """True when the viewer records work for a client rather than their own."""
    return viewer.role != Role.CLIENT


def task_url(item: FollowUpTask, viewer: User) -> str:
    """The task's page for this viewer: the coach's view for staff, the client's own otherwise."""
    endpoint = "coach.task" if on_behalf(viewer) else "client.task"
    return url_for(endpoint, task_id=item.id)


def completion_form_for(item: FollowUpTask, viewer: User, formdata=None):
    """The rule's completion form, with the time-done field when recording on behalf."""
    contacts = item.interview.contacts if item.interview is not None else []
    return completion_form(
        item,
        contacts,
        checklist.interests_of(contacts),
        formdata=formdata,
        on_behalf=on_behalf(viewer),
    )


def task_page_context(item: FollowUpTask, viewer: User, **extra) -> dict:
    """Everything client/task.html needs for `item` as `viewer` sees it."""
    now = datetime.now(UTC)
    interview = item.interview
    client = item.opportunity.client
    context = {
        "task": item,
        "row": checklist.task_row(item, now),
        "spec": RULES[Rule(item.rule)],
        "tz_name": client.timezone,
        "client": client,
        "on_behalf": on_behalf(viewer),
        "contacts": interview.contacts if interview is not None else [],
        "evidence_rows": checklist.evidence_rows(item.evidence),
        "warnings": [],
        "form": None,
        "waive_form": WaiveForm(formdata=None),
        "unwaive_form": UnwaiveForm(formdata=None),
        "undo_form": UnwaiveForm(formdata=None),
        "now": now,
    }
    # Before the interview starts the playbook refuses completion (can_complete): say when
    # the task becomes available rather than offer a form that would refuse.
    starts_at = followup.task_start(item)
    context["available_from"] = starts_at if item.is_open and starts_at > now else None
    if item.is_open and "form" not in extra and context["available_from"] is None:
        context["form"] = completion_form_for(item, viewer)
    context.update(extra)
    return context
