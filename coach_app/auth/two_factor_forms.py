"""Forms of the second factor: confirming a code, the sign-in challenge, turning it off."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


def code_field(label: str = "Code") -> StringField:
    """A six-digit code or a recovery code (autocomplete hints the phone's one-time code)."""
    return StringField(
        label,
        validators=[DataRequired("Enter a code."), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class ConfirmForm(FlaskForm):
    code = code_field("The 6-digit code your app shows now")


class ChallengeForm(FlaskForm):
    code = code_field("Code from your authenticator app, or a recovery code")
    trust_device = BooleanField("Trust this device for 30 days")


class PasswordAndCodeForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)])
    code = code_field("A code from your app, or a recovery code")
