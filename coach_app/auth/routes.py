from datetime import timedelta
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coach_app.auth import bp, limits, sessions, two_factor
from coach_app.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ConfirmPasswordForm,
    LoginForm,
)
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import audit
from coach_app.services import ServiceError, accounts, credentials
from coach_app.services.outbox import dispatch_due_now


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect would hand sessions to a phishing page.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _wait_message(wait: timedelta) -> str:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    later = f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
    return (
        f"Too many failed attempts for this account. Try again in {later}, "
        "or reset your password with “Forgot password?”."
    )


@bp.route("/login", methods=["GET", "POST"])
@limits.sign_in_per_address
def login():
    """Sign in with email and password; repeated failures on one account slow it down."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        result = credentials.authenticate(
            form.email.data,
            form.password.data,
            request.remote_addr,
            known_user_ids=sessions.known_device_user_ids(),
        )
        db.session.commit()
        if result.user is not None:
            next_url = _safe_next(request.args.get("next"))
            # The second factor, when on, comes before the session (coach_app/auth/two_factor.py).
            if two_factor.challenge_needed(result.user):
                return two_factor.start_challenge(result.user, next_url)
            sessions.sign_in(result.user, method="password")
            return redirect(next_url or url_for("main.index"))
        if result.wait is not None:
            form.form_errors.append(_wait_message(result.wait))
            status = 429
            headers["Retry-After"] = str(max(1, int(result.wait.total_seconds() + 0.999)))
        else:
            form.form_errors.append("That email and password do not match an account.")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    """Sign out: this browser's session ends on the server too."""
    sessions.sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limits.token_link_per_address
@limits.token_link_per_token
def accept_invitation(token: str):
    """Set a password from a single-use invitation link."""
    try:
        invitation = accounts.find_invitation(token)
    except ServiceError as error:
        return render_template("auth/invitation_invalid.html", message=error.message), 410
    form = AcceptInvitationForm()
    form.timezone.keep(invitation.user.timezone)
    if request.method == "GET" and invitation.user.timezone:
        form.timezone.data = invitation.user.timezone
    if form.validate_on_submit():
        done, user = commit_or_report(
            form, lambda: accounts.accept_invitation(token, form.password.data, form.timezone.data)
        )
        if done:
            if current_user.is_authenticated:
                sessions.sign_out()
            sessions.sign_in(user, method="invitation")
            flash("Welcome to Followthrough. Your password is set.", "success")
            return redirect(url_for("main.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/accept.html", form=form, invitation=invitation), status


@bp.route("/password", methods=["GET", "POST"])
@sessions.fresh_login_required
@limits.password_check_per_account
@limits.password_check_per_address
def change_password():
    """Change your own password; your other sessions end, this one stays."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        current = sessions.current_session()

        def change():
            ended = credentials.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep_session_id=current.id if current is not None else None,
            )
            sessions.mark_fresh()
            return ended

        done, ended = commit_or_report(form, change)
        if done:
            sessions.rotate_session()
            dispatch_due_now()
            others = f" You were signed out on {ended} other session(s)." if ended else ""
            flash("Your password is changed." + others, "success")
            return redirect(url_for("main.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
@limits.password_check_per_account
@limits.password_check_per_address
def confirm_password():
    """Enter your password again before a sensitive action, then go back to it."""
    form = ConfirmPasswordForm()
    status = 200
    if form.validate_on_submit():
        if credentials.verify_password(current_user, form.password.data):
            sessions.mark_fresh()
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
        audit.record(
            organization_id=current_user.organization_id,
            actor_id=current_user.id,
            action="auth.password_check_failed",
            obj=current_user._get_current_object(),
            details={"ip": request.remote_addr},
        )
        db.session.commit()
        form.password.errors.append("That password is not right.")
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("auth/confirm.html", form=form), status
