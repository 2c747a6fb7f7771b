from flask import flash, render_template, request
from flask_login import current_user
from sqlalchemy import select

from coach_app.access import get_visible_or_404, roles_required, scoped
from coach_app.coach import bp
from coach_app.coach.forms import InviteClientForm
from coach_app.extensions import db
from coach_app.forms import apply_service_error
from coach_app.models import ClientProfile, Opportunity, Role, User
from coach_app.services import ServiceError
from coach_app.services.accounts import invitation_link, invite_client
from coach_app.services.outbox import dispatch_due_now


@bp.get("/")
@roles_required(Role.COACH, Role.ADMIN)
def pipeline():
    """The coach's clients at a glance."""
    clients = db.session.scalars(
        scoped(ClientProfile)
        .join(User, User.id == ClientProfile.user_id)
        .where(ClientProfile.archived_at.is_(None))
        .order_by(User.name)
    ).all()
    return render_template("coach/pipeline.html", clients=clients)


@bp.route("/invite", methods=["GET", "POST"])
@roles_required(Role.COACH)
def invite():
    """Invite a new client by email; the link is shown too, to pass on by hand if needed."""
    form = InviteClientForm()
    if form.validate_on_submit():
        try:
            profile, token = invite_client(
                coach=current_user,
                email=form.email.data,
                name=form.name.data,
                timezone=form.timezone.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            dispatch_due_now()
            flash(f"Invitation sent to {profile.user.email}.", "success")
            return render_template(
                "coach/invited.html", profile=profile, link=invitation_link(token)
            )
    status = 400 if request.method == "POST" else 200
    return render_template("coach/invite.html", form=form), status


@bp.get("/clients/<int:client_id>")
@roles_required(Role.COACH, Role.ADMIN)
def client_detail(client_id: int):
    """One client's opportunities and follow-up."""
    client = get_visible_or_404(ClientProfile, client_id)
    opportunities = db.session.scalars(
        select(Opportunity)
        .where(Opportunity.client_id == client.id)
        .order_by(Opportunity.created_at.desc())
    ).all()
    return render_template("coach/client.html", client=client, opportunities=opportunities)
