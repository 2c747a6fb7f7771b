from flask import render_template
from flask_login import current_user

from coach_app.access import roles_required, scoped
from coach_app.client import bp
from coach_app.extensions import db
from coach_app.models import ClientProfile, Opportunity, Role


@bp.get("/")
@roles_required(Role.CLIENT)
def home():
    """What is due next across the client's opportunities."""
    profile = db.session.scalar(scoped(ClientProfile))
    opportunities = db.session.scalars(
        scoped(Opportunity).order_by(Opportunity.created_at.desc())
    ).all()
    return render_template(
        "client/home.html", profile=profile, opportunities=opportunities, user=current_user
    )


@bp.get("/tasks/<int:task_id>")
@roles_required(Role.CLIENT, Role.COACH, Role.ADMIN)
def task(task_id: int):
    """One follow-up task with its deadline, status and evidence."""
    from datetime import UTC, datetime

    from coach_app.access import get_visible_or_404
    from coach_app.models import FollowUpTask
    from coach_app.playbook import RULES, Rule, task_status

    item = get_visible_or_404(FollowUpTask, task_id)
    status = task_status(
        due_at=item.due_at,
        completed_at=item.completed_at,
        waived=item.waived_reason is not None,
        now=datetime.now(UTC),
    )
    return render_template(
        "client/task.html", task=item, spec=RULES[Rule(item.rule)], status=status
    )
