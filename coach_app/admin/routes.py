from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from coach_app.access import roles_required, scoped
from coach_app.admin import bp
from coach_app.admin.forms import InviteStaffForm
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import ClientProfile, Role, User
from coach_app.services.accounts import invite_staff
from coach_app.services.outbox import dispatch_due_now


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    """Everyone in the organisation, and a form to invite coaches, organizers and admins."""
    form = InviteStaffForm()
    if form.validate_on_submit():
        done, invited = commit_or_report(
            form,
            lambda: invite_staff(
                admin=current_user,
                role=form.role.data,
                email=form.email.data,
                name=form.name.data,
                timezone=form.timezone.data,
            ),
        )
        if done:
            user, _token = invited
            dispatch_due_now()
            flash(f"Invitation sent to {user.email}.", "success")
            return redirect(url_for("admin.users"))
    client_counts = (
        select(ClientProfile.coach_id, func.count(ClientProfile.id).label("clients"))
        .where(ClientProfile.archived_at.is_(None))
        .group_by(ClientProfile.coach_id)
        .subquery()
    )
    rows = db.session.execute(
        scoped(User)
        .add_columns(func.coalesce(client_counts.c.clients, 0))
        .outerjoin(client_counts, client_counts.c.coach_id == User.id)
        .where(User.role != Role.CLIENT)
        .order_by(User.role, User.name)
    ).all()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/users.html", form=form, rows=rows), status
