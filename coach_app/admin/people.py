"""Admin pages for people: clients list, one person, deactivation, roles, invitations.

Thin views: the rules live in coach_app/services/people.py; every person and invitation is
loaded through coach_app/access.py, so another organisation's ids answer 404.
"""

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from coach_app.access import get_visible_or_404, roles_required
from coach_app.admin import bp
from coach_app.admin.forms import ConfirmForm, RoleForm
from coach_app.extensions import db
from coach_app.forms import commit_or_report
from coach_app.models import Invitation, Role, User
from coach_app.services import ServiceError, people, people_lists
from coach_app.services.outbox import dispatch_due_now

# Where a button may send the admin back to (a fixed list: never a URL taken from the request).
_BACK = {
    "users": lambda person: url_for("admin.users"),
    "clients": lambda person: url_for("admin.clients"),
    "invitations": lambda person: url_for("admin.invitations"),
    "person": lambda person: url_for("admin.person", user_id=person.id),
}


def page_arg(args) -> int:
    """The `page` query argument as a page number (1 when missing or malformed)."""
    raw = args.get("page", "")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 6 and int(raw) > 0 else 1


def _back(person) -> str:
    return _BACK.get(request.form.get("back"), _BACK["person"])(person)


def _person_page(person: User, role_form=None, status: int = 200):
    profile = people_lists.profile_of(person)
    expiry = people_lists.live_link_expiry(person)
    return render_template(
        "admin/person.html",
        person=person,
        profile=profile,
        state=people.person_status(person, profile),
        role_labels=people.ROLE_LABELS,
        active_clients=people.active_client_count(person.id) if person.role == Role.COACH else 0,
        link_expires_at=expiry,
        link_expired=expiry is not None and expiry <= datetime.now(UTC),
        role_form=role_form or RoleForm(formdata=None, role=person.role),
        confirm_form=ConfirmForm(formdata=None),
    ), status


@bp.get("/clients")
@roles_required(Role.ADMIN)
def clients():
    """The organisation's clients, searched by name or email and paged in SQL."""
    q = (request.args.get("q") or "").strip()[:200]
    status = request.args.get("status", "all")
    if status not in people_lists.CLIENT_STATUSES:
        status = "all"
    page = people_lists.client_page(
        current_user.organization_id, q=q, status=status, page=page_arg(request.args)
    )
    kept = {key: value for key, value in {"q": q, "status": status}.items() if value}
    return render_template(
        "admin/clients.html",
        page=page,
        q=q,
        status=status,
        statuses=people_lists.CLIENT_STATUSES,
        url_with=lambda **changes: url_for("admin.clients", **{**kept, **changes}),
        confirm_form=ConfirmForm(formdata=None),
    )


@bp.get("/people/<int:user_id>")
@roles_required(Role.ADMIN)
def person(user_id: int):
    """One person: status, role, sign-in, invitation, and the buttons that change them."""
    return _person_page(get_visible_or_404(User, user_id))


@bp.post("/people/<int:user_id>/role")
@roles_required(Role.ADMIN)
def change_role(user_id: int):
    """Give a coach, organizer or admin another of these roles."""
    person_ = get_visible_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _person_page(person_, role_form=form, status=400)
    previous = person_.role
    done, changed = commit_or_report(
        form, lambda: people.change_role(person=person_, actor=current_user, role=form.role.data)
    )
    if not done:
        return _person_page(person_, role_form=form, status=400)
    if changed:
        flash(
            f"{person_.name} is now {people.ROLE_LABELS[person_.role].lower()} "
            f"(was {people.ROLE_LABELS[previous].lower()}).",
            "success",
        )
    else:
        flash(f"{person_.name} already has that role.", "info")
    return redirect(url_for("admin.person", user_id=person_.id))


def _confirm(person_: User, action: str, *, error: str | None = None, status: int = 200):
    profile = people_lists.profile_of(person_)
    return render_template(
        "admin/confirm_person.html",
        person=person_,
        profile=profile,
        action=action,
        state=people.person_status(person_, profile),
        active_clients=people.active_client_count(person_.id) if person_.role == Role.COACH else 0,
        error=error,
        form=ConfirmForm(),
    ), status


@bp.route("/people/<int:user_id>/deactivate", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def deactivate(user_id: int):
    """Confirm (GET), then turn the account off (POST)."""
    person_ = get_visible_or_404(User, user_id)
    if request.method == "GET":
        return _confirm(person_, "deactivate")
    if not ConfirmForm().validate_on_submit():
        return _confirm(person_, "deactivate", status=400)
    try:
        changed = people.deactivate(person=person_, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        return _confirm(person_, "deactivate", error=error.message, status=400)
    db.session.commit()
    if changed:
        flash(f"{person_.name} is deactivated: they can no longer sign in.", "success")
    else:
        flash(f"{person_.name} was already deactivated.", "info")
    return redirect(url_for("admin.person", user_id=person_.id))


@bp.route("/people/<int:user_id>/reactivate", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def reactivate(user_id: int):
    """Confirm (GET), then turn the account back on (POST)."""
    person_ = get_visible_or_404(User, user_id)
    if request.method == "GET":
        return _confirm(person_, "reactivate")
    if not ConfirmForm().validate_on_submit():
        return _confirm(person_, "reactivate", status=400)
    try:
        result = people.reactivate(person=person_, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        return _confirm(person_, "reactivate", error=error.message, status=400)
    db.session.commit()
    if not result.changed:
        flash(f"{person_.name} is not deactivated.", "info")
    elif result.still_archived:
        flash(
            f"{person_.name} is reactivated but still archived: sign-in comes back when their "
            "coach restores them.",
            "warning",
        )
    elif result.needs_invitation:
        flash(
            f"{person_.name} is reactivated. They never set a password: send them a fresh "
            "invitation.",
            "warning",
        )
    else:
        flash(f"{person_.name} is reactivated and can sign in again.", "success")
    return redirect(url_for("admin.person", user_id=person_.id))


@bp.post("/people/<int:user_id>/invitation")
@roles_required(Role.ADMIN)
def resend_invitation(user_id: int):
    """Send a fresh invitation link; any earlier link stops working."""
    person_ = get_visible_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Try again.", "error")
        return redirect(_back(person_))
    try:
        invitation, _token = people.resend_invitation(person=person_, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_back(person_))
    db.session.commit()
    dispatch_due_now()
    flash(
        f"A fresh invitation is on its way to {person_.email}; earlier links no longer work.",
        "success",
    )
    return redirect(_back(person_))


@bp.get("/invitations")
@roles_required(Role.ADMIN)
def invitations():
    """Invitations not yet used or revoked, newest first, with their expiry."""
    page = people_lists.pending_invitations(
        current_user.organization_id, page=page_arg(request.args)
    )
    return render_template(
        "admin/invitations.html",
        page=page,
        role_labels=people.ROLE_LABELS,
        url_with=lambda **changes: url_for("admin.invitations", **changes),
        confirm_form=ConfirmForm(formdata=None),
        now=datetime.now(UTC),
    )


@bp.post("/invitations/<int:invitation_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_invitation(invitation_id: int):
    """Make an unused invitation link stop working."""
    invitation = get_visible_or_404(Invitation, invitation_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired. Try again.", "error")
    elif people.revoke_invitation(invitation=invitation, actor=current_user):
        db.session.commit()
        flash(f"The invitation for {invitation.user.email} no longer works.", "success")
    else:
        db.session.rollback()
        flash("That invitation was already used or revoked.", "info")
    return redirect(_back(invitation.user))
