"""The profile page, and changing the sign-in address through a link sent to the new one.

The address change has endpoints of its own (`account.change_email`), so a "fresh sign-in
required" check can be put on it alone.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coach_app.account import bp
from coach_app.account.forms import ConfirmForm, EmailChangeForm, ProfileForm
from coach_app.auth.sessions import fresh_login_required
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.services import ServiceError, profile
from coach_app.services.accounts import normalize_email
from coach_app.services.outbox import dispatch_due_now


def _render(form=None, email_form=None, status: int = 200):
    return render_template(
        "account/profile.html",
        form=form
        or ProfileForm(formdata=None, name=current_user.name, timezone=current_user.timezone or ""),
        email_form=email_form or EmailChangeForm(formdata=None),
        pending=profile.pending_email_change(current_user),
    ), status


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile_page():
    """Your name and time zone (changing the zone moves no deadline)."""
    if request.method == "GET":
        return _render()
    form = ProfileForm()
    form.timezone.keep(current_user.timezone)
    if form.validate_on_submit():
        data = profile.ProfileInput(name=form.name.data, timezone=form.timezone.data or None)
        done, changed = commit_or_report(
            form, lambda: profile.update_profile(user=current_user, data=data)
        )
        if done:
            flash("Your profile is saved." if changed else "Nothing to change.", "success")
            return redirect(url_for("account.profile_page"))
    return _render(form=form, status=400)


@bp.route("/email", methods=["GET", "POST"])
@login_required
@fresh_login_required
def change_email():
    """Ask to sign in with another address: a link goes to it, and nothing changes until then."""
    form = EmailChangeForm()
    if request.method == "GET":
        return render_template(
            "account/email.html", form=form, pending=profile.pending_email_change(current_user)
        )
    if form.validate_on_submit():
        done, _ = commit_or_report(
            form,
            lambda: profile.request_email_change(user=current_user, new_email=form.email.data),
        )
        if done:
            dispatch_due_now()
            flash(
                f"We sent a link to {normalize_email(form.email.data)}. Open it while "
                "signed in to confirm; until then you sign in with your current address.",
                "info",
            )
            return redirect(url_for("account.profile_page"))
    return render_template(
        "account/email.html", form=form, pending=profile.pending_email_change(current_user)
    ), 400


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@login_required
def confirm_email(token: str):
    """The link sent to the new address: shows the change, which a button then makes.

    Opening the link (GET) changes nothing: mail scanners open links too.
    """
    try:
        if request.method == "GET":
            change = profile.live_email_change(user=current_user, token=token)
            return render_template("account/email_confirm.html", change=change, token=token)
        if not ConfirmForm().validate_on_submit():
            return redirect(url_for("account.confirm_email", token=token))
        profile.confirm_email_change(user=current_user, token=token)
    except ServiceError as error:
        db.session.rollback()
        return render_template("account/email_link.html", message=error.message), 410
    db.session.commit()
    dispatch_due_now()
    flash(f"Your sign-in address is now {current_user.email}.", "success")
    return redirect(url_for("account.profile_page"))
