from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func

from coach_app.access import get_visible_or_404, roles_required, scoped
from coach_app.cohorts import bp
from coach_app.cohorts.forms import CohortForm
from coach_app.extensions import db
from coach_app.models import Cohort, CohortMember, Role, audit


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def index():
    """The organizer's cohorts with their sizes; a form to start a new one."""
    form = CohortForm()
    if form.validate_on_submit():
        cohort = Cohort(
            organization_id=current_user.organization_id,
            organizer_id=current_user.id,
            name=form.name.data.strip(),
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
    rows = db.session.execute(
        scoped(Cohort)
        .add_columns(func.count(CohortMember.client_id))
        .outerjoin(CohortMember, CohortMember.cohort_id == Cohort.id)
        .group_by(Cohort.id)
        .order_by(Cohort.starts_on.desc(), Cohort.name)
    ).all()
    status = 400 if request.method == "POST" else 200
    return render_template("cohorts/index.html", form=form, rows=rows), status


@bp.get("/<int:cohort_id>")
@roles_required(Role.ORGANIZER, Role.ADMIN, Role.COACH)
def detail(cohort_id: int):
    """One cohort as aggregates: size and membership counts, never a client's records."""
    cohort = get_visible_or_404(Cohort, cohort_id)
    size = db.session.scalar(
        func.count(CohortMember.client_id).select().where(CohortMember.cohort_id == cohort.id)
    )
    return render_template("cohorts/detail.html", cohort=cohort, size=size)
