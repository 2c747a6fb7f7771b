from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from coach_app.forms import timezone_field

# Autocomplete hints let password managers fill and save the right fields (ASVS 2.1.11).
CURRENT = {"autocomplete": "current-password"}
NEW = {"autocomplete": "new-password"}


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=200)], render_kw=CURRENT
    )


class AcceptInvitationForm(FlaskForm):
    password = PasswordField(
        "Choose a password", validators=[DataRequired(), Length(max=200)], render_kw=NEW
    )
    confirm = PasswordField(
        "Repeat it",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
        render_kw=NEW,
    )
    timezone = timezone_field("Your time zone", guess=True)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)], render_kw=CURRENT
    )
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=200)], render_kw=NEW
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")],
        render_kw=NEW,
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        "Your password", validators=[DataRequired(), Length(max=200)], render_kw=CURRENT
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "email"}
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=200)], render_kw=NEW
    )
    confirm = PasswordField(
        "Repeat it",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
        render_kw=NEW,
    )
