"""Form helpers shared by the blueprints."""

from wtforms import SelectField

from coach_app.extensions import db
from coach_app.services import ServiceError
from coach_app.services.accounts import timezone_choices


def timezone_field(label: str = "Time zone", required: bool = False) -> SelectField:
    """A select of IANA zones; blank means 'use the organisation's zone'."""
    choices = [] if required else [("", "Organisation default")]
    return SelectField(
        label,
        choices=choices + [(z, z) for z in timezone_choices()],
        default="",
        validate_choice=True,
    )


def apply_service_error(form, error) -> None:
    """Show a ServiceError next to the field it concerns (or at the form's top)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def commit_or_report(form, action):
    """Run one service action as this request's transaction: (True, result) once committed.

    A ServiceError rolls everything back and is shown next to its field; the view then
    re-renders the form with `(False, None)`. Views keep only what differs: what to call and
    where to go next.
    """
    try:
        result = action()
    except ServiceError as error:
        db.session.rollback()
        apply_service_error(form, error)
        return False, None
    db.session.commit()
    return True, result
