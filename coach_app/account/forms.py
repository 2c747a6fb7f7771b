from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from coach_app.forms import timezone_field


def _strip(value):
    # NUL bytes are refused by PostgreSQL text columns; drop them with surrounding blanks.
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class ProfileForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[DataRequired("Enter your name."), Length(max=200)],
        filters=[_strip],
    )
    timezone = timezone_field("Your time zone", guess=True)


class EmailChangeForm(FlaskForm):
    email = EmailField(
        "New email address",
        validators=[
            DataRequired("Enter the new address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=254),
        ],
        filters=[_strip],
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a button that confirms what the page shows."""
