"""Client pages: what's due next, logging an interview, checklists, tasks and outcomes.

Every object is loaded through `get_visible_or_404`, so the task, checklist and outcome pages
also serve a client's coach and the organisation's admin (acting on the client's behalf), and
a 404 for everyone else. Pages only about "me" (home, logging) are for clients alone.
"""

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from coach_app.access import get_visible_or_404, roles_required
from coach_app.client import bp
from coach_app.client.forms import (
    InterviewForm,
    OutcomeForm,
    ReferralAddForm,
    UnwaiveForm,
    WaiveForm,
)
from coach_app.client.history import future_start_warning
from coach_app.client.task_page import (
    completion_form_for,
    on_behalf,
    task_page_context,
    task_url,
)
from coach_app.forms import commit_or_report
from coach_app.models import ClientProfile, FollowUpTask, Interview, Opportunity, Role
from coach_app.playbook import RULES, Outcome, Rule, zone
from coach_app.services import checklist, client_reads, followup, todo

STAFF_OR_CLIENT = (Role.CLIENT, Role.COACH, Role.ADMIN)


def _now() -> datetime:
    return datetime.now(UTC)


def _my_profile() -> ClientProfile | None:
    return client_reads.own_profile(current_user)


@bp.get("/")
@roles_required(Role.CLIENT)
def home():
    """The client's to-do list: due today, coming up, overdue still worth doing; then history."""
    profile = _my_profile()
    now = _now()
    return render_template(
        "client/home.html",
        profile=profile,
        todo=todo.todo_list(profile, current_user, now),
        opportunities=client_reads.client_opportunities(profile, current_user),
        outcome_labels=checklist.OUTCOME_LABELS,
    )


@bp.route("/interviews/new", methods=["GET", "POST"])
@roles_required(Role.CLIENT)
def log_interview():
    """Log an interview round in under a minute; its playbook tasks are created with it."""
    profile = _my_profile()
    if profile is None:
        flash("Your account has no client profile yet; ask your coach.", "error")
        return redirect(url_for("main.index"))
    form = InterviewForm()
    form.set_opportunity_choices(checklist.open_opportunity_choices(profile, current_user))
    if request.method == "GET":
        preselect = request.args.get("opportunity", "")
        if preselect in {value for value, *_ in form.opportunity_id.choices}:
            form.opportunity_id.data = preselect
        form.start_date.data = datetime.now(UTC).astimezone(zone(profile.timezone)).date()
    if form.validate_on_submit():
        done, interview = commit_or_report(
            form, lambda: checklist.log_interview_from_form(form, profile, current_user)
        )
        if done:
            flash(
                f"Round {interview.round_number} logged. Here is your follow-up checklist.",
                "success",
            )
            warning = future_start_warning(interview)
            if warning:
                flash(warning, "warning")
            return redirect(url_for("client.interview", interview_id=interview.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "client/log_interview.html", form=form, profile=profile, tz_name=profile.timezone
    ), status


def _checklist_context(interview: Interview, **extra):
    now = _now()
    opportunity = interview.opportunity
    contacts, referrals = client_reads.round_people(interview, current_user)
    context = {
        "interview": interview,
        "opportunity": opportunity,
        "rounds": client_reads.interview_rounds(opportunity, current_user),
        "contacts": contacts,
        "referrals": referrals,
        "rows": client_reads.checklist_tasks(interview, current_user, now),
        "tz_name": opportunity.client.timezone,
        "end_at": followup.interview_end(interview),
        "format_labels": checklist.FORMAT_LABELS,
        "outcome_labels": checklist.OUTCOME_LABELS,
        "outcome_form": OutcomeForm(formdata=None),
        "referral_form": ReferralAddForm(formdata=None),
        "is_open": opportunity.outcome == Outcome.OPEN.value,
        "now": now,
    }
    context.update(extra)
    return context


# The round's opportunity and client, loaded with it (not one lazy load after another).
CHECKLIST_LOADS = (joinedload(Interview.opportunity).joinedload(Opportunity.client),)


@bp.get("/interviews/<int:interview_id>")
@roles_required(*STAFF_OR_CLIENT)
def interview(interview_id: int):
    """The checklist of one interview round: every task, its deadline, status and evidence."""
    item = get_visible_or_404(Interview, interview_id, options=CHECKLIST_LOADS)
    return render_template("client/interview.html", **_checklist_context(item))


@bp.post("/interviews/<int:interview_id>/referrals")
@roles_required(*STAFF_OR_CLIENT)
def add_referral(interview_id: int):
    """Record a referral given at the interview; it gets its own follow-up task."""
    item = get_visible_or_404(Interview, interview_id)
    form = ReferralAddForm()
    if form.validate_on_submit():
        done, _ = commit_or_report(
            form,
            lambda: followup.add_referral(
                interview=item, name=form.name.data, note=form.note.data, actor=current_user
            ),
        )
        if done:
            flash("Referral added, with a task to contact them.", "success")
            return redirect(url_for("client.interview", interview_id=item.id))
    return render_template(
        "client/interview.html", **_checklist_context(item, referral_form=form)
    ), 400


def _task_page(item: FollowUpTask, *, status: int = 200, **extra):
    """The task page as the current user sees it (their own, or a client's on their behalf)."""
    return render_template(
        "client/task.html", **task_page_context(item, current_user, **extra)
    ), status


@bp.get("/tasks/<int:task_id>")
@roles_required(*STAFF_OR_CLIENT)
def task(task_id: int):
    """One follow-up task with its deadline, status, evidence and the form to complete it."""
    item = get_visible_or_404(FollowUpTask, task_id)
    return _task_page(item)


@bp.post("/tasks/<int:task_id>/complete")
@roles_required(*STAFF_OR_CLIENT)
def complete_task(task_id: int):
    """Record the work with its evidence.

    Warnings never block: when the playbook has advice and the form was not confirmed, the
    page comes back with the advice and the input kept, and "Save anyway" saves it as is.
    """
    item = get_visible_or_404(FollowUpTask, task_id)
    contacts = item.interview.contacts if item.interview is not None else []
    form = completion_form_for(item, current_user, formdata=request.form)
    if not item.is_open:
        flash("This task is already done." if item.completed_at else "Un-waive it first.", "error")
        return _task_page(item, form=None, status=400)
    if form.validate_on_submit():
        now = _now()
        warnings = checklist.warnings_for_form(item, form, contacts, now)
        if warnings and form.confirm.data != "1":
            form.confirm.data = "1"
            return _task_page(item, form=form, warnings=warnings)
        done, completed = commit_or_report(
            form, lambda: checklist.complete_from_form(item, form, current_user, contacts, now=now)
        )
        if done:
            callback, warnings = completed
            flash(f"{RULES[Rule(item.rule)].title}: done.", "success")
            for warning in warnings:
                flash(warning, "warning")
            if callback is not None:
                local_due = callback.due_at.astimezone(zone(item.opportunity.client.timezone))
                flash(f"A call-back task is on your list for {local_due:%a %d %b}.", "info")
            return redirect(_after_task(item))
    return _task_page(item, form=form, status=400)


def _after_task(item: FollowUpTask) -> str:
    if on_behalf(current_user):
        return task_url(item, current_user)
    if item.interview_id is not None:
        return url_for("client.interview", interview_id=item.interview_id)
    return url_for("client.task", task_id=item.id)


def _task_action(task_id: int, form, action, done_text: str, form_name: str):
    """Run one change to a task (waive, un-waive, undo), then back to its page or the error."""
    item = get_visible_or_404(FollowUpTask, task_id)
    if form.validate_on_submit():
        done, _ = commit_or_report(form, lambda: action(item))
        if done:
            flash(f"{RULES[Rule(item.rule)].title}: {done_text}.", "success")
            return redirect(task_url(item, current_user))
    return _task_page(item, status=400, **{form_name: form})


@bp.post("/tasks/<int:task_id>/waive")
@roles_required(*STAFF_OR_CLIENT)
def waive_task(task_id: int):
    """Mark a task as not applicable, with a reason; it then counts nowhere."""
    form = WaiveForm()

    def waive(item):
        return followup.waive_task(task=item, actor=current_user, reason=form.reason.data)

    return _task_action(task_id, form, waive, "waived", "waive_form")


@bp.post("/tasks/<int:task_id>/unwaive")
@roles_required(*STAFF_OR_CLIENT)
def unwaive_task(task_id: int):
    """Undo a waiver: the task counts again with its original deadline."""

    def unwaive(item):
        return followup.unwaive_task(task=item, actor=current_user)

    return _task_action(task_id, UnwaiveForm(), unwaive, "counts again", "unwaive_form")


@bp.post("/tasks/<int:task_id>/undo")
@roles_required(*STAFF_OR_CLIENT)
def undo_completion(task_id: int):
    """Reopen a task marked done by mistake; it counts again as pending or missed."""

    def undo(item):
        return followup.undo_completion(task=item, actor=current_user)

    return _task_action(task_id, UnwaiveForm(), undo, "open again", "undo_form")


@bp.route("/opportunities/<int:opportunity_id>/outcome", methods=["GET", "POST"])
@roles_required(*STAFF_OR_CLIENT)
def record_outcome(opportunity_id: int):
    """Record the opportunity's outcome; a rejection brings up the thank-you task."""
    opportunity = get_visible_or_404(Opportunity, opportunity_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        done, thanks = commit_or_report(
            form,
            lambda: followup.record_outcome(
                opportunity=opportunity, outcome=form.outcome.data, actor=current_user
            ),
        )
        if done:
            label = checklist.OUTCOME_LABELS.get(opportunity.outcome, opportunity.outcome)
            if thanks is not None:
                flash(
                    f"Recorded: {label}. One more step: thank them and ask to be kept in mind.",
                    "info",
                )
                return redirect(url_for("client.task", task_id=thanks.id))
            flash(f"Recorded: {label}.", "success")
            latest = checklist.latest_interview_id(opportunity)
            if latest is not None:
                return redirect(url_for("client.interview", interview_id=latest))
            return redirect(url_for("main.index"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "client/outcome.html",
        form=form,
        opportunity=opportunity,
        latest_interview_id=checklist.latest_interview_id(opportunity),
    ), status
