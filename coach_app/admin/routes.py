from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from coach_app.access import roles_required
from coach_app.admin import bp
from coach_app.admin.forms import ConfirmForm, InviteStaffForm
from coach_app.auth import limits
from coach_app.forms import commit_or_report
from coach_app.models import Role
from coach_app.services import people, people_lists
from coach_app.services.accounts import invite_staff
from coach_app.services.outbox import dispatch_due_now


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@limits.invites_per_account
def users():
    """Coaches, organizers and admins with their status, and a form to invite more."""
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
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/users.html",
        form=form,
        rows=people_lists.staff_rows(current_user.organization_id),
        role_labels=people.ROLE_LABELS,
        confirm_form=ConfirmForm(formdata=None),
    ), status
