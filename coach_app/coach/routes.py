from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from coach_app.access import get_visible_or_404, roles_required, scoped
from coach_app.auth import limits
from coach_app.client.forms import InterviewForm, WaiveForm
from coach_app.client.history import future_start_warning
from coach_app.client.task_page import task_page_context
from coach_app.coach import bp
from coach_app.coach.detail import client_detail as build_client_detail
from coach_app.coach.forms import (
    CoachingNoteForm,
    CohortRequestAnswerForm,
    ConfirmForm,
    InviteClientForm,
    MoveClientForm,
)
from coach_app.coach.pipeline_rows import pipeline_rows_html
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import ClientProfile, Cohort, FollowUpTask, Role
from coach_app.playbook import RULES, Rule, zone
from coach_app.services import checklist, followup, pipeline, roster
from coach_app.services.accounts import invitation_link, invite_client
from coach_app.services.outbox import dispatch_due_now
from coach_app.urls import QUERY_SAFE, id_url_builder


def _now() -> datetime:
    return datetime.now(UTC)


def _page_size() -> int:
    return max(1, int(current_app.config.get("PAGE_SIZE", 50)))


def _url_maker(endpoint: str, args: dict):
    """A function `**changes -> URL`: this page with some query arguments changed (None drops one).

    One url_for per page rather than one per link: the sort headers and pager links differ
    only in their query strings.
    """
    base = url_for(endpoint)
    kept = {k: v for k, v in args.items() if v not in (None, "")}

    def url_with(**changes) -> str:
        merged = dict(kept)
        for key, value in changes.items():
            if value in (None, "", False):
                merged.pop(key, None)
            else:
                merged[key] = value
        # Encoded as Werkzeug's url_for encodes query arguments.
        return f"{base}?{urlencode(merged, safe=QUERY_SAFE)}" if merged else base

    return url_with


@bp.get("/", endpoint="pipeline")
@roles_required(Role.COACH, Role.ADMIN)
def pipeline_view():
    """The coach's clients at a glance: stages, compliance, overdue, next due, activity."""
    query = pipeline.PipelineQuery.from_args(request.args)
    per_page = query.per_page or _page_size()
    page = pipeline.pipeline(current_user, query, per_page=per_page, now=_now())
    args = request.args.to_dict()
    is_admin = current_user.role == Role.ADMIN
    coaches = pipeline.coach_choices(current_user.organization_id) if is_admin else []
    rows_html = pipeline_rows_html(
        page.rows,
        viewer_tz=current_user.effective_timezone,
        show_coach=bool(coaches),
        client_url=id_url_builder("coach.client_detail", "client_id"),
        task_url=id_url_builder("coach.task", "task_id"),
    )
    return render_template(
        "coach/pipeline.html",
        page=page,
        rows_html=rows_html,
        query=query,
        cohorts=pipeline.cohort_choices(current_user),
        coaches=coaches,
        requests_waiting=0 if is_admin else roster.pending_request_count(current_user),
        url_with=_url_maker("coach.pipeline", args),
        sorts=pipeline.SORTS,
        page_sizes=sorted({_page_size(), *pipeline.PAGE_SIZES}),
    )


@bp.get("/exceptions")
@roles_required(Role.COACH, Role.ADMIN)
def exceptions():
    """What is due today, then what is overdue but still worth doing, across the clients."""
    args = request.args
    rule = args.get("rule") if args.get("rule") in {r.value for r in Rule} else None
    kind = args.get("kind") if args.get("kind") in pipeline.KINDS else None
    coach_id = pipeline.PipelineQuery.from_args(args).coach_id
    focused = rule is not None and kind is not None
    page_number = pipeline.PipelineQuery.from_args(args).page if focused else 1
    size = _page_size() if focused else pipeline.EXCEPTION_ROWS_PER_GROUP
    groups = pipeline.exceptions(
        current_user,
        coach_id=coach_id if current_user.role == Role.ADMIN else None,
        rule=rule if focused else None,
        kind=kind if focused else None,
        limit=size,
        offset=(page_number - 1) * size,
        now=_now(),
    )
    pages = 1
    if focused and groups:
        pages = max(1, -(-groups[0].tasks // size))
    is_admin = current_user.role == Role.ADMIN
    return render_template(
        "coach/exceptions.html",
        groups=groups,
        focused=focused,
        page_number=page_number,
        pages=pages,
        coach_id=coach_id,
        coaches=pipeline.coach_choices(current_user.organization_id) if is_admin else [],
        url_with=_url_maker("coach.exceptions", args.to_dict()),
        # Every row links its task and client: one url_for per endpoint, not per row.
        task_url=id_url_builder("coach.task", "task_id"),
        client_url=id_url_builder("coach.client_detail", "client_id"),
        OVERDUE=pipeline.OVERDUE,
        COMING_UP=pipeline.COMING_UP,
    )


@bp.route("/invite", methods=["GET", "POST"])
@roles_required(Role.COACH)
@limits.invites_per_account
def invite():
    """Invite a new client by email; the link is shown too, to pass on by hand if needed."""
    form = InviteClientForm()
    if form.validate_on_submit():
        done, invited = commit_or_report(
            form,
            lambda: invite_client(
                coach=current_user,
                email=form.email.data,
                name=form.name.data,
                timezone=form.timezone.data,
            ),
        )
        if done:
            profile, token = invited
            dispatch_due_now()
            flash(f"Invitation sent to {profile.user.email}.", "success")
            return render_template(
                "coach/invited.html", profile=profile, link=invitation_link(token)
            )
    status = 400 if request.method == "POST" else 200
    return render_template("coach/invite.html", form=form), status


def _render_detail(client: ClientProfile, note_form=None, status: int = 200):
    detail = build_client_detail(client, _now(), current_user)
    return render_template(
        "coach/client.html",
        detail=detail,
        client=client,
        note_form=note_form or CoachingNoteForm(formdata=None),
        cohorts=roster.cohorts_of(client),
        confirm_form=ConfirmForm(formdata=None),
        tz_name=client.timezone,
        evidence_rows=checklist.evidence_rows,
    ), status


@bp.get("/clients/<int:client_id>")
@roles_required(Role.COACH, Role.ADMIN)
def client_detail(client_id: int):
    """One client's opportunities, rounds, tasks with evidence, contacts and private notes."""
    client = get_visible_or_404(ClientProfile, client_id)
    return _render_detail(client)


@bp.post("/clients/<int:client_id>/notes")
@roles_required(Role.COACH, Role.ADMIN)
def add_note(client_id: int):
    """Add a private coaching note."""
    client = get_visible_or_404(ClientProfile, client_id)
    form = CoachingNoteForm()
    if form.validate_on_submit():
        done, _ = commit_or_report(
            form,
            lambda: roster.add_coaching_note(
                client=client, author=current_user, body=form.body.data
            ),
        )
        if done:
            flash("Note saved.", "success")
            return redirect(url_for("coach.client_detail", client_id=client.id) + "#notes")
    return _render_detail(client, note_form=form, status=400)


@bp.route("/tasks/<int:task_id>/waive", methods=["GET", "POST"])
@roles_required(Role.COACH, Role.ADMIN)
def waive_task(task_id: int):
    """Waive one of the client's tasks with a reason (it then counts nowhere)."""
    task = get_visible_or_404(FollowUpTask, task_id)
    form = WaiveForm()
    if form.validate_on_submit():
        done, _ = commit_or_report(
            form,
            lambda: followup.waive_task(task=task, actor=current_user, reason=form.reason.data),
        )
        if done:
            flash(f"“{RULES[Rule(task.rule)].title}” waived.", "success")
            return redirect(
                url_for("coach.client_detail", client_id=task.client_id) + f"#task-{task.id}"
            )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "coach/waive.html",
        form=form,
        task=task,
        row=checklist.task_row(task, _now()),
        client=task.opportunity.client,
    ), status


@bp.get("/tasks/<int:task_id>")
@roles_required(Role.COACH, Role.ADMIN)
def task(task_id: int):
    """A client's task as their coach sees it: whose it is, their evidence, waive, record."""
    item = get_visible_or_404(FollowUpTask, task_id)
    return render_template("client/task.html", **task_page_context(item, current_user))


@bp.route("/clients/<int:client_id>/interviews/new", methods=["GET", "POST"])
@roles_required(Role.COACH, Role.ADMIN)
def log_interview(client_id: int):
    """Log an interview on the client's behalf (same form and rules as the client's own)."""
    client = get_visible_or_404(ClientProfile, client_id)
    if client.archived_at is not None:
        flash("Restore this client before logging interviews for them.", "error")
        return redirect(url_for("coach.client_detail", client_id=client.id))
    form = InterviewForm()
    form.set_opportunity_choices(checklist.open_opportunity_choices(client, current_user))
    if request.method == "GET":
        preselect = request.args.get("opportunity", "")
        if preselect in {value for value, *_ in form.opportunity_id.choices}:
            form.opportunity_id.data = preselect
        form.start_date.data = _now().astimezone(zone(client.timezone)).date()
    if form.validate_on_submit():
        done, interview = commit_or_report(
            form, lambda: checklist.log_interview_from_form(form, client, current_user)
        )
        if done:
            flash(f"Round {interview.round_number} logged for {client.name}.", "success")
            warning = future_start_warning(interview)
            if warning:
                flash(warning, "warning")
            return redirect(
                url_for("coach.client_detail", client_id=client.id) + f"#round-{interview.id}"
            )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "coach/log_interview.html", form=form, client=client, tz_name=client.timezone
    ), status


def _confirm_page(client, *, action: str, allowed: bool, status: int = 200):
    return render_template(
        "coach/confirm.html", client=client, action=action, allowed=allowed, form=ConfirmForm()
    ), status


# action -> (service call, may it apply now?, message when done, message when it didn't apply)
_ARCHIVE_ACTIONS = {
    "archive": (
        roster.archive_client,
        lambda client: client.archived_at is None,
        "{name} is archived. Their history is kept.",
        "{name} was already archived.",
    ),
    "restore": (
        roster.restore_client,
        lambda client: client.archived_at is not None,
        "{name} is back on your client list.",
        "{name} is not archived.",
    ),
}


def _archive_action(client_id: int, action: str):
    """Confirm page (GET) and the change itself (POST) for archiving or restoring a client."""
    client = get_visible_or_404(ClientProfile, client_id)
    change, applies, done, unchanged = _ARCHIVE_ACTIONS[action]
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _confirm_page(client, action=action, allowed=True, status=400)
        if change(client=client, actor=current_user):
            db.session.commit()
            flash(done.format(name=client.name), "success")
        else:
            flash(unchanged.format(name=client.name), "info")
        return redirect(url_for("coach.client_detail", client_id=client.id))
    return _confirm_page(client, action=action, allowed=applies(client))


@bp.route("/clients/<int:client_id>/archive", methods=["GET", "POST"])
@roles_required(Role.COACH, Role.ADMIN)
def archive_client(client_id: int):
    """Archive a client: history kept, hidden from the pipeline, sign-in and reminders off."""
    return _archive_action(client_id, "archive")


@bp.route("/clients/<int:client_id>/restore", methods=["GET", "POST"])
@roles_required(Role.COACH, Role.ADMIN)
def restore_client(client_id: int):
    """Bring an archived client back to the pipeline, with sign-in and reminders."""
    return _archive_action(client_id, "restore")


@bp.route("/clients/<int:client_id>/move", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def move_client(client_id: int):
    """Hand a client to another coach of the organisation (administrators only)."""
    client = get_visible_or_404(ClientProfile, client_id)
    form = MoveClientForm()
    form.coach.choices = [
        SelectChoice(coach_id, name)
        for coach_id, name in pipeline.coach_choices(client.organization_id)
        if coach_id != client.coach_id
    ]
    if form.validate_on_submit():
        done, coach = commit_or_report(
            form,
            lambda: roster.move_client(client=client, coach_id=form.coach.data, actor=current_user),
        )
        if done:
            flash(f"{client.name} is now coached by {coach.name}.", "success")
            return redirect(url_for("coach.client_detail", client_id=client.id))
    status = 400 if request.method == "POST" else 200
    return render_template("coach/move.html", form=form, client=client), status


@bp.post("/clients/<int:client_id>/cohorts/<int:cohort_id>/remove")
@roles_required(Role.COACH, Role.ADMIN)
def remove_from_cohort(client_id: int, cohort_id: int):
    """Take the client out of a cohort (the coach withdraws consent); history stays."""
    client = get_visible_or_404(ClientProfile, client_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    # Through the access scope too: a coach only reaches cohorts holding one of their clients,
    # and a cohort the client already left reads as "not in that cohort", not as an error.
    cohort = db.session.scalar(scoped(Cohort).where(Cohort.id == cohort_id))
    if cohort is not None and roster.remove_from_cohort(
        client=client, cohort_id=cohort.id, actor=current_user
    ):
        db.session.commit()
        flash(f"{client.name} left the cohort “{cohort.name}”.", "success")
    else:
        flash(f"{client.name} is not in that cohort.", "info")
    return redirect(url_for("coach.client_detail", client_id=client.id) + "#cohorts")


def _answer_forms(requests, posted_id: int | None = None):
    forms = {}
    choices = roster.eligible_clients_by_cohort(current_user, {r.cohort_id for r in requests})
    for item in requests:
        # Each request has its own prefixed form; only the one posted reads the request body.
        if item.id == posted_id:
            form = CohortRequestAnswerForm(prefix=f"r{item.id}")
        else:
            form = CohortRequestAnswerForm(prefix=f"r{item.id}", formdata=None)
        form.clients.choices = [
            SelectChoice(client_id, name) for client_id, name in choices[item.cohort_id]
        ]
        forms[item.id] = form
    return forms


@bp.get("/cohort-requests")
@roles_required(Role.COACH)
def cohort_requests():
    """Organizers' requests to add clients to their cohorts, waiting for the coach's answer."""
    requests = roster.pending_requests(current_user)
    return render_template(
        "coach/cohort_requests.html", requests=requests, forms=_answer_forms(requests)
    )


@bp.post("/cohort-requests/<int:request_id>")
@roles_required(Role.COACH)
def answer_cohort_request(request_id: int):
    """Approve a request with the clients the coach ticks, or decline it."""
    item = roster.get_request_for_coach_or_404(current_user, request_id)
    requests = roster.pending_requests(current_user)
    forms = _answer_forms(requests, posted_id=item.id)
    form = forms.get(item.id)
    if form is None:  # already answered: nothing to change
        flash("This request was already answered.", "info")
        return redirect(url_for("coach.cohort_requests"))
    if form.validate_on_submit():

        def answer() -> str:
            if form.decision.data == "decline":
                roster.decline_request(request=item, coach=current_user)
                return f"You declined the request for “{item.cohort.name}”."
            added = roster.approve_request(
                request=item, coach=current_user, client_ids=form.clients.data
            )
            noun = "client" if added == 1 else "clients"
            return f"{added} {noun} added to “{item.cohort.name}”."

        done, message = commit_or_report(form, answer)
        if done:
            dispatch_due_now()  # the organizer's email; the minute sweep sends it otherwise
            flash(message, "success")
            return redirect(url_for("coach.cohort_requests"))
    return render_template("coach/cohort_requests.html", requests=requests, forms=forms), 400
