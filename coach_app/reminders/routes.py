from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coach_app.access import get_visible_or_404, parse_id, roles_required
from coach_app.extensions import csrf, db
from coach_app.models import FollowUpTask, Role, User
from coach_app.playbook import RULES, Rule
from coach_app.playbook import reminders as policy
from coach_app.reminders import bp
from coach_app.reminders.forms import field_name, preferences_form
from coach_app.services import ServiceError
from coach_app.services import reminders as service
from coach_app.timefmt import local_datetime


def _safe_next(target: str | None) -> str | None:
    # Same-site paths only: an open redirect would hand the session to a phishing page.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/settings/reminders", methods=["GET", "POST"])
@login_required
def settings():
    """Choose how you are reminded, per kind and channel, within the organisation's policy."""
    org_policy = service.policy_for(current_user.organization_id)
    role_kinds = service.kinds_for_role(current_user.role)
    kinds = [k for k in role_kinds if k in org_policy.kinds]
    turned_off = [k for k in role_kinds if k not in org_policy.kinds]
    channels = [c for c in policy.CHANNELS if c in org_policy.channels]
    form = preferences_form(
        kinds,
        channels,
        service.wanted_channels(current_user),
        formdata=request.form if request.method == "POST" else None,
    )
    if form.validate_on_submit():
        choices = {
            kind: {c for c in channels if getattr(form, field_name(kind, c)).data} for kind in kinds
        }
        # Channels the organisation does not allow keep the person's earlier choice.
        wanted = service.wanted_channels(current_user)
        for kind in kinds:
            choices[kind] |= {c for c in wanted.get(kind, ()) if c not in channels}
        service.save_preferences(current_user, choices)
        db.session.commit()
        flash("Your reminder settings are saved.", "success")
        return redirect(url_for("reminders.settings"))
    upcoming = []
    if current_user.role == Role.CLIENT:
        upcoming = [
            (task, RULES[Rule(task.rule)], next_at)
            for task, next_at in service.upcoming_for(current_user)
        ]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "reminders/settings.html",
        form=form,
        kinds=kinds,
        turned_off=turned_off,
        channels=channels,
        field_name=field_name,
        labels=policy.KIND_LABELS,
        channel_labels=policy.CHANNEL_LABELS,
        upcoming=upcoming,
        now=datetime.now(UTC),
    ), status


@bp.post("/tasks/<int:task_id>/snooze")
@roles_required(Role.CLIENT)
def snooze_task(task_id: int):
    """Pause one task's reminders for a day."""
    task = get_visible_or_404(FollowUpTask, task_id)
    back = _safe_next(request.form.get("next")) or url_for("reminders.settings")
    try:
        until = service.snooze_task(task=task, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    flash(f"Reminders for this task are paused until {local_datetime(until)}.", "success")
    return redirect(back)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; RFC 8058 clients POST without a form
def unsubscribe(token: str):
    """One-click unsubscribe from a reminder email: GET asks to confirm, POST turns it off.

    The page never names the account (no email address): anyone the email was forwarded to
    can open the link. Links older than a year answer 410 and point to the settings page.
    """
    status, parsed = service.check_unsubscribe_token(token)
    if status == service.UNSUBSCRIBE_EXPIRED:
        settings_url = url_for("reminders.settings")
        return render_template("reminders/unsubscribe_expired.html", settings_url=settings_url), 410
    user = db.session.get(User, parsed[0]) if parsed and parse_id(parsed[0]) else None
    if user is None:
        abort(404, description="This unsubscribe link is not valid.")
    labels = [policy.KIND_LABELS[k] for k in parsed[1]]
    if request.method == "POST":
        service.unsubscribe(user, parsed[1])
        db.session.commit()
        return render_template("reminders/unsubscribed.html", labels=labels)
    return render_template("reminders/unsubscribe.html", labels=labels)
