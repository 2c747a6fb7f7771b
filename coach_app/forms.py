"""Form helpers shared by the blueprints."""

from wtforms import SelectField

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
