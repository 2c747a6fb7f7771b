"""The signed-in person's own sessions: list them, end one, end all the others."""

import re
from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from coach_app.access import get_visible_or_404, scoped
from coach_app.auth import bp, sessions
from coach_app.extensions import db
from coach_app.models import UserSession
from coach_app.services import user_sessions
from coach_app.timefmt import relative_due

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = [
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("ChromeOS", r"CrOS"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux"),
]


def describe_device(user_agent: str | None) -> str:
    """A short name for a browser's User-Agent ("Firefox on Windows"), or "Unknown device"."""
    ua = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, ua)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def last_active(moment: datetime) -> str:
    """'just now' within a minute (activity is written once a minute), else '5 min ago'."""
    if datetime.now(UTC) - moment < user_sessions.TOUCH_EVERY:
        return "just now"
    return relative_due(moment)


@bp.get("/sessions", endpoint="sessions")
@login_required
def list_sessions():
    """Where you are signed in: device, address, last activity; end any of them."""
    rows = db.session.scalars(
        scoped(UserSession)
        .where(user_sessions.live())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    current = sessions.current_session()
    current_id = current.id if current is not None else None
    rows = sorted(rows, key=lambda row: row.id != current_id)  # this device first
    return render_template(
        "auth/sessions.html",
        rows=rows,
        current_id=current_id,
        describe_device=describe_device,
        last_active=last_active,
    )


@bp.post("/sessions/<int:session_id>/revoke")
@login_required
def revoke_session(session_id: int):
    """End one of your sessions (ending this browser's own signs you out)."""
    row = get_visible_or_404(UserSession, session_id)
    current = sessions.current_session()
    if current is not None and row.id == current.id:
        sessions.sign_out()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    user_sessions.revoke(
        current_user, only_id=row.id, actor=current_user, reason="ended from the sessions page"
    )
    db.session.commit()
    flash(f"Signed out {describe_device(row.user_agent)}.", "success")
    return redirect(url_for("auth.sessions"))


@bp.post("/sessions/others/revoke")
@login_required
def revoke_other_sessions():
    """Sign out everywhere except this browser."""
    ended = sessions.end_all_sessions(current_user, except_current=True)
    db.session.commit()
    if ended:
        flash(f"Signed out {ended} other session(s).", "success")
    else:
        flash("You were not signed in anywhere else.", "info")
    return redirect(url_for("auth.sessions"))
