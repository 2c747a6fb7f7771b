"""Admin page for the organisation's sign-in security: require a second factor, reset one."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from coach_app.access import get_visible_or_404, roles_required, scoped
from coach_app.admin import bp
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import Role, User
from coach_app.services import two_factor_policy


class RequireTwoFactorForm(FlaskForm):
    require_two_factor = BooleanField("Require a second factor for admins and coaches")


class ResetTwoFactorForm(FlaskForm):
    person = SelectField("Person who lost their phone", coerce=int, validate_choice=True)
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)])


def _people():
    """Everyone in the organisation (as this admin may see them), and whose second factor is on."""
    people = db.session.scalars(
        scoped(User).where(User.password_hash.is_not(None)).order_by(User.role, User.name)
    ).all()
    return people, two_factor_policy.enabled_among(p.id for p in people)


def _render(require_form, reset_form, status=200):
    people, enabled = _people()
    staff = [p for p in people if p.role in two_factor_policy.STAFF_ROLES]
    return render_template(
        "admin/security.html",
        require_form=require_form,
        reset_form=reset_form,
        staff=staff,
        enabled=enabled,
    ), status


def _reset_form(people=None, enabled=None):
    if people is None:
        people, enabled = _people()
    form = ResetTwoFactorForm(prefix="reset")
    form.person.choices = [
        SelectChoice(p.id, f"{p.name} ({p.role}, {p.email})")
        for p in people
        if p.id in enabled and p.id != current_user.id
    ]
    return form


@bp.route("/security", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def security():
    """Whether admins and coaches must use a second factor, and who has one."""
    form = RequireTwoFactorForm(prefix="require")
    if request.method == "GET":
        form.require_two_factor.data = current_user.organization.require_two_factor
    elif form.validate_on_submit():
        done, changed = commit_or_report(
            form, lambda: two_factor_policy.set_required(current_user, form.require_two_factor.data)
        )
        if done:
            if not changed:
                flash("Nothing changed.", "info")
            elif form.require_two_factor.data:
                flash(
                    "Admins and coaches now need a second factor. Those without one are asked "
                    "to set it up the next time they open a page.",
                    "success",
                )
            else:
                flash("A second factor is now optional.", "success")
            return redirect(url_for("admin.security"))
    status = 400 if request.method == "POST" else 200
    return _render(form, _reset_form(), status)


@bp.post("/security/reset")
@roles_required(Role.ADMIN)
def reset_two_factor():
    """Turn off the second factor of someone who lost it (they then set it up again)."""
    form = _reset_form()
    if form.validate_on_submit():
        person = get_visible_or_404(User, form.person.data)
        done, _ = commit_or_report(
            form, lambda: two_factor_policy.reset_by_admin(current_user, person, form.password.data)
        )
        if done:
            flash(
                f"Two-step sign-in is off for {person.name}. They can sign in with their password "
                "and set it up again.",
                "success",
            )
            return redirect(url_for("admin.security"))
    require_form = RequireTwoFactorForm(prefix="require")
    require_form.require_two_factor.data = current_user.organization.require_two_factor
    return _render(require_form, form, 400)
