"""Admin pages for reminders: operations (queues, failed rows, retry) and the org's policy."""

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError

from coach_app.access import get_visible_or_404, roles_required, scoped
from coach_app.admin import bp
from coach_app.admin.forms import ReminderPolicyForm
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import OutboxMessage, Role
from coach_app.playbook import reminders as reminder_policy
from coach_app.services import outbox, outbox_lists
from coach_app.services import reminders as reminder_service

log = logging.getLogger(__name__)


def _queue_overview():
    """RQ's view of the queue, or the reason it cannot be had (never raises)."""
    from workers.queues import overview

    try:
        return overview(current_app._get_current_object()), None
    except (RedisError, OSError) as error:
        log.warning("ops page: Redis unreachable: %s", error)
        return None, "Redis unreachable"


def _page(name: str) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 6 and int(raw) > 0 else 1


@bp.get("/ops")
@roles_required(Role.ADMIN)
def operations():
    """Delivery at a glance: queue, each status explained, what goes out next, what went out."""
    queue, redis_error = _queue_overview()
    org_id = current_user.organization_id
    counts = outbox.status_counts(org_id)
    failed = db.session.scalars(
        scoped(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.due_at.desc())
        .limit(50)
    ).all()
    upcoming = outbox_lists.upcoming(current_user, total=counts["pending"], page=_page("up"))
    sent = outbox_lists.recently_sent(current_user, total=counts["sent"], page=_page("sent"))
    return render_template(
        "admin/ops.html",
        queue=queue,
        redis_error=redis_error,
        counts=counts,
        status_help=outbox_lists.STATUS_HELP,
        reasons=outbox_lists.cancelled_reasons(current_user) if counts["cancelled"] else [],
        kind_label=outbox_lists.kind_label,
        reason_text=outbox_lists.reason_text,
        oldest_due=outbox.oldest_due_pending(org_id),
        failed=failed,
        upcoming=upcoming,
        sent=sent,
        upcoming_url=lambda page: (
            url_for("admin.operations", up=page, sent=sent.page) + "#upcoming"
        ),
        sent_url=lambda page: url_for("admin.operations", up=upcoming.page, sent=page) + "#sent",
    )


@bp.post("/outbox/<int:message_id>/retry")
@roles_required(Role.ADMIN)
def retry_outbox(message_id: int):
    """Send a failed message again (its attempts start over)."""
    message = get_visible_or_404(OutboxMessage, message_id)
    if outbox.retry_failed(message, actor=current_user):
        db.session.commit()
        outbox.dispatch_due_now()
        flash(f"Message {message.id} is queued again.", "success")
    else:
        db.session.rollback()
        flash(f"Message {message.id} has not failed, so there is nothing to retry.", "info")
    return redirect(url_for("admin.operations"))


@bp.route("/reminders", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def reminder_policy_page():
    """The organisation's reminder policy: kinds, channels and local times."""
    row = reminder_service.policy_row(current_user.organization_id)
    form = ReminderPolicyForm(obj=row)
    if form.validate_on_submit():
        done, _ = commit_or_report(
            form,
            lambda: reminder_service.save_policy(
                admin=current_user,
                kinds=form.kinds.data or [],
                channels=form.channels.data or [],
                nudge_after_minutes=form.nudge_after_minutes.data,
                due_soon_minutes=form.due_soon_minutes.data,
                morning_at=form.morning_at.data,
                quiet_start=form.quiet_start.data,
                quiet_end=form.quiet_end.data,
                digest_at=form.digest_at.data,
            ),
        )
        if done:
            flash("Reminder policy saved. Reminders planned from now on follow it.", "success")
            return redirect(url_for("admin.reminder_policy_page"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/reminders.html",
        form=form,
        defaults=reminder_policy.DEFAULT_POLICY,
        updated=row.updated_at,
    ), status
