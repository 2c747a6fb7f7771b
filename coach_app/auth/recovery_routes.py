"""Forgotten passwords: ask for a link, use it; admins send one on someone's behalf."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from coach_app.access import get_visible_or_404, roles_required
from coach_app.auth import bp, limits, sessions
from coach_app.auth.forms import ForgotPasswordForm, ResetPasswordForm
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import Role, User
from coach_app.services import ServiceError, recovery
from coach_app.services.outbox import dispatch_due_now


@bp.route("/reset", methods=["GET", "POST"])
@limits.reset_request_per_address
@limits.reset_request_per_email
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data)
        db.session.commit()
        dispatch_due_now()
        return render_template("auth/forgot.html", form=form, sent=True)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form, sent=False), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limits.token_link_per_address
@limits.token_link_per_token
def reset_password(token: str):
    """Choose a new password from a reset link; every session of the account ends."""
    try:
        reset = recovery.find_password_reset(token)
    except ServiceError as error:
        return render_template("auth/reset_invalid.html", message=error.message), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        done, user = commit_or_report(
            form, lambda: recovery.reset_password(token, form.password.data)
        )
        if done:
            dispatch_due_now()
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            # Whoever could open the email is the owner: this browser skips the backoff now.
            sessions.remember_device(user.id)
            flash(
                "Your password is changed and you are signed out everywhere. "
                "Sign in with your new password.",
                "success",
            )
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/reset.html", form=form, user=reset.user), status


@bp.post("/reset/send/<int:user_id>")
@roles_required(Role.ADMIN)
def send_reset(user_id: int):
    """Admin: email a password reset link to someone in the organisation."""
    user = get_visible_or_404(User, user_id)
    try:
        recovery.send_password_reset(user, requested_by=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "warning")
    else:
        db.session.commit()
        dispatch_due_now()
        flash(f"A password reset link was sent to {user.email}.", "success")
    return redirect(url_for("admin.person", user_id=user.id))
