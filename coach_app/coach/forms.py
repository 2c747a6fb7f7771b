from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from coach_app.forms import timezone_field
from coach_app.services.roster import MAX_NOTE_LENGTH


def _strip(value):
    # NUL bytes are refused by PostgreSQL text columns; drop them with surrounding blanks.
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class InviteClientForm(FlaskForm):
    name = StringField("Client's name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Client's email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    timezone = timezone_field("Client's time zone")


class CoachingNoteForm(FlaskForm):
    """A private note about the client (never shown to them or to organizers)."""

    body = TextAreaField(
        "Private coaching note",
        validators=[DataRequired("Write something in the note."), Length(max=MAX_NOTE_LENGTH)],
        filters=[_strip],
        description="Only you and your organisation's administrators can read this.",
    )


class MoveClientForm(FlaskForm):
    """Admins hand a client to another coach of the organisation."""

    coach = SelectField(
        "New coach",
        coerce=int,
        choices=[],
        validate_choice=True,
        validators=[DataRequired("Choose a coach.")],
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: confirms an action such as archiving."""


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (works without JavaScript, one label per box)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CohortRequestAnswerForm(FlaskForm):
    """A coach answers an organizer's request: tick the clients who join, or decline."""

    clients = CheckboxesField("Clients who join the cohort", coerce=int, choices=[])
    decision = SelectField(
        "Answer",
        choices=[
            SelectChoice("approve", "Add the ticked clients"),
            SelectChoice("decline", "Decline"),
        ],
        default="approve",
        validate_choice=True,
    )
