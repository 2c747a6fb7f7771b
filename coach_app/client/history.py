"""Correcting history: edit an interview round, delete a mistaken round or opportunity.

Client, coach and admin share these pages; every object is loaded through
`get_visible_or_404`, so another person's interview is a 404. The rules are in
services/history.py, services/deletion.py and services/followup.py.
"""

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from coach_app.access import get_visible_or_404, roles_required
from coach_app.client import bp
from coach_app.client.history_forms import ConfirmDeleteForm, EditInterviewForm
from coach_app.forms import commit_or_report
from coach_app.models import Interview, Opportunity, Role
from coach_app.playbook import zone
from coach_app.services import ServiceError, checklist, deletion, history
from coach_app.timefmt import local_datetime

STAFF_OR_CLIENT = (Role.CLIENT, Role.COACH, Role.ADMIN)
# Where a service error about the interview belongs on the edit form.
_EDIT_FIELDS = {"start_at": "start_time"}


def future_start_warning(interview: Interview, now: datetime | None = None) -> str | None:
    """The warning shown after saving an interview that has not started yet (never a refusal)."""
    now = now or datetime.now(UTC)
    if interview.start_at <= now:
        return None
    when = local_datetime(interview.start_at, interview.timezone)
    return (
        f"This interview starts in the future ({when}). Its follow-up can be recorded once it "
        "has started. If the date or time is wrong, use “Edit this round”."
    )


def _back_to(interview_id: int | None, client_id: int) -> str:
    """Where a correction returns: the client's checklist or home, the coach's client page."""
    if current_user.role == Role.CLIENT:
        if interview_id is not None:
            return url_for("client.interview", interview_id=interview_id)
        return url_for("client.home")
    anchor = f"#round-{interview_id}" if interview_id is not None else ""
    return url_for("coach.client_detail", client_id=client_id) + anchor


def _changes(form: EditInterviewForm) -> history.InterviewChanges:
    """The service's plain data from a validated edit form (raises ServiceError on a bad time)."""
    start_at = checklist.local_to_utc(
        form.start_date.data, form.start_time.data, form.timezone.data
    )
    return history.InterviewChanges(
        start_at=start_at,
        duration_minutes=form.duration_minutes.data,
        timezone=form.timezone.data,
        format=form.format.data,
        company=form.company.data,
        role=form.role.data,
        industry=form.industry.data,
        next_step=form.next_step.data,
        stated_decision_date=form.stated_decision_date.data,
    )


def _edit(item: Interview, form: EditInterviewForm):
    try:
        return history.edit_interview(interview=item, data=_changes(form), actor=current_user)
    except ServiceError as error:
        raise ServiceError(error.message, _EDIT_FIELDS.get(error.field, error.field)) from None


@bp.route("/interviews/<int:interview_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_OR_CLIENT)
def edit_interview(interview_id: int):
    """Correct a round's time, zone, format, company, role, next step or decision date."""
    item = get_visible_or_404(Interview, interview_id)
    opportunity = item.opportunity
    if request.method == "GET":
        local = item.start_at.astimezone(zone(item.timezone))
        form = EditInterviewForm(
            data={
                "company": opportunity.company,
                "role": opportunity.role,
                "industry": opportunity.industry,
                "start_date": local.date(),
                "start_time": local.time().replace(second=0, microsecond=0),
                "duration_minutes": item.duration_minutes,
                "format": item.format,
                "timezone": item.timezone,
                "next_step": item.next_step,
                "stated_decision_date": item.stated_decision_date,
            }
        )
    else:
        form = EditInterviewForm()
    form.allow_zone(item.timezone)
    if request.method == "POST" and form.validate_on_submit():
        done, result = commit_or_report(form, lambda: _edit(item, form))
        if done:
            if result.changed:
                flash(
                    f"Round {item.round_number} updated; {result.tasks_rescheduled} task "
                    "deadlines follow the new details.",
                    "success",
                )
            else:
                flash("Nothing changed.", "info")
            warning = future_start_warning(item)
            if warning:
                flash(warning, "warning")
            return redirect(_back_to(item.id, opportunity.client_id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "client/edit_interview.html",
        form=form,
        interview=item,
        opportunity=opportunity,
        client=opportunity.client,
        back=_back_to(item.id, opportunity.client_id),
    ), status


@bp.route("/interviews/<int:interview_id>/delete", methods=["GET", "POST"])
@roles_required(*STAFF_OR_CLIENT)
def delete_interview(interview_id: int):
    """Confirm (GET), then delete (POST) a mistaken round with its tasks."""
    item = get_visible_or_404(Interview, interview_id)
    opportunity = item.opportunity
    client_id = opportunity.client_id
    form = ConfirmDeleteForm()
    if request.method == "POST" and form.validate_on_submit():
        number, company = item.round_number, opportunity.company
        done, result = commit_or_report(
            form, lambda: deletion.delete_interview(interview=item, actor=current_user)
        )
        if done:
            flash(
                f"Round {number} of {company} is deleted, with its {result.tasks} tasks.", "success"
            )
            if result.restored:
                flash(
                    "The previous round's check-in is back on the list, since the round that "
                    "replaced it is gone.",
                    "info",
                )
            latest = checklist.latest_interview_id(opportunity)
            return redirect(_back_to(latest, client_id))
    status = 400 if request.method == "POST" else 200
    form.confirm.data = "delete"
    return render_template(
        "client/delete_interview.html",
        form=form,
        interview=item,
        opportunity=opportunity,
        client=opportunity.client,
        preview=deletion.deletion_preview(item),
        back=_back_to(item.id, client_id),
    ), status


@bp.route("/opportunities/<int:opportunity_id>/delete", methods=["GET", "POST"])
@roles_required(*STAFF_OR_CLIENT)
def delete_opportunity(opportunity_id: int):
    """Confirm (GET), then delete (POST) a mistaken opportunity with all its rounds."""
    opportunity = get_visible_or_404(Opportunity, opportunity_id)
    client_id = opportunity.client_id
    form = ConfirmDeleteForm()
    if request.method == "POST" and form.validate_on_submit():
        company, role = opportunity.company, opportunity.role
        done, result = commit_or_report(
            form, lambda: deletion.delete_opportunity(opportunity=opportunity, actor=current_user)
        )
        if done:
            flash(
                f"{company} — {role} is deleted, with {result.interviews} interview rounds and "
                f"{result.tasks} tasks.",
                "success",
            )
            return redirect(_back_to(None, client_id))
    status = 400 if request.method == "POST" else 200
    form.confirm.data = "delete"
    latest = checklist.latest_interview_id(opportunity)
    return render_template(
        "client/delete_opportunity.html",
        form=form,
        opportunity=opportunity,
        client=opportunity.client,
        preview=deletion.opportunity_preview(opportunity),
        back=_back_to(latest, client_id),
    ), status
