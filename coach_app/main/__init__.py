"""Home redirect by role, health checks, notifications."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import update

from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import Notification, Role, utcnow

bp = Blueprint("main", __name__)


class ConfirmForm(FlaskForm):
    """An empty form: the CSRF-protected button that confirms an action."""


HOME_BY_ROLE = {
    Role.ADMIN: "admin.users",
    Role.COACH: "coach.pipeline",
    Role.CLIENT: "client.home",
    Role.ORGANIZER: "cohorts.index",
}


@bp.get("/")
def index():
    """Send each person to their role's main page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.get("/favicon.ico")
def favicon():
    """The site icon where browsers look for it by default (pages link the same SVG)."""
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to serve: the database and Redis both answer (503 with details otherwise)."""
    from sqlalchemy import text

    from workers.queues import redis_connection

    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any driver error means not ready
        db.session.rollback()
        checks["database"] = f"error: {type(error).__name__}"
    try:
        redis_connection(current_app).ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = f"error: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


@bp.get("/notifications")
@login_required
def notifications():
    """The current user's notifications, newest first (reading the page changes nothing)."""
    items = db.session.scalars(
        scoped(Notification).order_by(Notification.created_at.desc()).limit(100)
    ).all()
    return render_template("main/notifications.html", items=items, form=ConfirmForm())


@bp.post("/notifications/read")
@login_required
def mark_notifications_read():
    """Mark all of the current user's notifications read (the page's button)."""
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired. Reload the page and try again.")
    marked = db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
    db.session.commit()
    if marked:
        flash("All notifications are marked as read.", "success")
    return redirect(url_for("main.notifications"))
