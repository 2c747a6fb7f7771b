from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from coach_app.forms import timezone_field
from coach_app.services.roster import MAX_REQUEST_NOTE_LENGTH


def _strip(value):
    # NUL bytes are refused by PostgreSQL text columns; drop them with surrounding blanks.
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class CohortForm(FlaskForm):
    name = StringField(
        "Cohort name", validators=[DataRequired(), Length(max=200)], filters=[_strip]
    )
    starts_on = DateField("Starts on", validators=[Optional()])
    ends_on = DateField("Ends on", validators=[Optional()])

    def validate_ends_on(self, field):
        """The cohort cannot end before it starts."""
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The end date is before the start date.")


def _coach_field() -> SelectField:
    return SelectField(
        "Coach",
        coerce=int,
        choices=[],
        validate_choice=True,
        validators=[DataRequired("Choose a coach.")],
    )


class CohortInviteForm(FlaskForm):
    """Invite a new client into the cohort, under a coach of the organisation."""

    name = StringField(
        "Client's name",
        validators=[DataRequired("Enter the client's name."), Length(max=200)],
        filters=[_strip],
    )
    email = EmailField(
        "Client's email",
        validators=[
            DataRequired("Enter the client's email."),
            Email(check_deliverability=False),
            Length(max=254),
        ],
        filters=[_strip],
    )
    coach = _coach_field()
    timezone = timezone_field("Client's time zone")


class CohortRequestForm(FlaskForm):
    """Ask a coach to add clients from their roster (the coach chooses who, or declines)."""

    coach = _coach_field()
    note = TextAreaField(
        "Note to the coach (optional)",
        validators=[Optional(), Length(max=MAX_REQUEST_NOTE_LENGTH)],
        filters=[_strip],
        description="For example the workshop dates and who it suits.",
    )
