from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from coach_app.auth import bp, two_factor
from coach_app.auth.forms import AcceptInvitationForm, ChangePasswordForm, LoginForm
from coach_app.auth.sessions import sign_in
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.services import ServiceError, accounts


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect would hand sessions to a phishing page.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; repeated failures lock the address for a while."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        locked = accounts.login_locked_for(form.email.data)
        if locked:
            minutes = max(1, int(locked.total_seconds() // 60) + 1)
            form.form_errors.append(f"Too many failed attempts. Try again in {minutes} minutes.")
            status = 429
        else:
            user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr)
            db.session.commit()
            if user is not None:
                next_url = _safe_next(request.args.get("next"))
                # --- second factor hook (all logic in coach_app/auth/two_factor.py) ---
                if two_factor.challenge_needed(user):
                    return two_factor.start_challenge(user, next_url)
                # --- end of the second factor hook ---
                sign_in(user)
                return redirect(next_url or url_for("main.index"))
            form.form_errors.append("That email and password do not match an account.")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Set a password from a single-use invitation link."""
    try:
        invitation = accounts.find_invitation(token)
    except ServiceError as error:
        return render_template("auth/invitation_invalid.html", message=error.message), 410
    form = AcceptInvitationForm()
    if request.method == "GET" and invitation.user.timezone:
        form.timezone.data = invitation.user.timezone
    if form.validate_on_submit():
        done, user = commit_or_report(
            form, lambda: accounts.accept_invitation(token, form.password.data, form.timezone.data)
        )
        if done:
            logout_user()
            login_user(user)
            flash("Welcome to Followthrough. Your password is set.", "success")
            return redirect(url_for("main.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/accept.html", form=form, invitation=invitation), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change your own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        done, _ = commit_or_report(
            form,
            lambda: accounts.change_password(
                current_user, form.current_password.data, form.new_password.data
            ),
        )
        if done:
            flash("Your password is changed.", "success")
            return redirect(url_for("main.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status
