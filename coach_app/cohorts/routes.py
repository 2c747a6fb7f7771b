from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from coach_app.access import get_visible_or_404, roles_required, scoped
from coach_app.auth import limits
from coach_app.cohorts import bp
from coach_app.cohorts.forms import CohortForm, CohortInviteForm, CohortRequestForm
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import Cohort, Role, audit
from coach_app.playbook import MIN_GROUP_SIZE
from coach_app.services import pipeline, roster
from coach_app.services.outbox import dispatch_due_now

ANALYTICS_URL = "/analytics/"


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def index():
    """The organizer's cohorts with sizes and aggregate compliance; a form to start one."""
    form = CohortForm()
    if form.validate_on_submit():
        cohort = Cohort(
            organization_id=current_user.organization_id,
            organizer_id=current_user.id,
            name=form.name.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
        )
        db.session.add(cohort)
        db.session.flush()
        audit.record(
            organization_id=cohort.organization_id,
            actor_id=current_user.id,
            action="cohort.created",
            obj=cohort,
        )
        db.session.commit()
        flash(f"Cohort “{cohort.name}” created.", "success")
        return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    cohorts = db.session.scalars(
        scoped(Cohort).order_by(Cohort.starts_on.desc(), Cohort.name, Cohort.id)
    ).all()
    figures = roster.cohort_figures([c.id for c in cohorts])
    status = 400 if request.method == "POST" else 200
    return render_template(
        "cohorts/index.html",
        form=form,
        rows=[(cohort, figures[cohort.id]) for cohort in cohorts],
        analytics_url=ANALYTICS_URL,
        min_group=MIN_GROUP_SIZE,
    ), status


def _can_add() -> bool:
    return current_user.role in (Role.ORGANIZER, Role.ADMIN)


@bp.get("/<int:cohort_id>")
@roles_required(Role.ORGANIZER, Role.ADMIN, Role.COACH)
def detail(cohort_id: int):
    """One cohort as aggregates only: size, compliance, same-day notes, offer rate."""
    cohort = get_visible_or_404(Cohort, cohort_id)
    figures = roster.cohort_figures([cohort.id])[cohort.id]
    return render_template(
        "cohorts/detail.html",
        cohort=cohort,
        figures=figures,
        requests=roster.requests_for_cohort(cohort) if _can_add() else [],
        can_add=_can_add(),
        analytics_url=ANALYTICS_URL,
        min_group=MIN_GROUP_SIZE,
    )


def _coach_choices(form, cohort: Cohort) -> None:
    form.coach.choices = [SelectChoice(0, "— choose a coach —")] + [
        SelectChoice(coach_id, name)
        for coach_id, name in pipeline.coach_choices(cohort.organization_id)
    ]


@bp.route("/<int:cohort_id>/invite", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
@limits.invites_per_account
def invite(cohort_id: int):
    """Invite a new client by email under a coach of the organisation, into this cohort."""
    cohort = get_visible_or_404(Cohort, cohort_id)
    form = CohortInviteForm()
    _coach_choices(form, cohort)
    if form.validate_on_submit():
        done, profile = commit_or_report(
            form,
            lambda: roster.invite_into_cohort(
                cohort=cohort,
                organizer=current_user,
                coach_id=form.coach.data,
                name=form.name.data,
                email=form.email.data,
                timezone=form.timezone.data,
            ),
        )
        if done:
            email = profile.user.email
            dispatch_due_now()
            flash(f"Invitation sent to {email}; they join “{cohort.name}”.", "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/invite.html", form=form, cohort=cohort), status


@bp.route("/<int:cohort_id>/request", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def request_clients(cohort_id: int):
    """Ask a coach to add clients from their roster; the coach chooses who joins."""
    cohort = get_visible_or_404(Cohort, cohort_id)
    form = CohortRequestForm()
    _coach_choices(form, cohort)
    if form.validate_on_submit():
        done, item = commit_or_report(
            form,
            lambda: roster.request_from_coach(
                cohort=cohort, organizer=current_user, coach_id=form.coach.data, note=form.note.data
            ),
        )
        if done:
            coach_name = item.coach.name
            flash(f"Request sent to {coach_name}.", "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/request.html", form=form, cohort=cohort), status
