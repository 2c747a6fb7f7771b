from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from coach_app.forms import timezone_field
from coach_app.playbook import reminders as reminder_policy


class InviteStaffForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("coach", "Coach"),
            SelectChoice("organizer", "Workshop organizer"),
            SelectChoice("admin", "Admin"),
        ],
    )
    timezone = timezone_field()


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (several choices) instead of a multi-select box."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReminderPolicyForm(FlaskForm):
    kinds = MultiCheckboxField(
        "Reminders this organisation sends",
        choices=[SelectChoice(k, reminder_policy.KIND_LABELS[k]) for k in reminder_policy.KINDS],
        validate_choice=True,
    )
    channels = MultiCheckboxField(
        "Channels people may choose",
        choices=[
            SelectChoice(c, reminder_policy.CHANNEL_LABELS[c]) for c in reminder_policy.CHANNELS
        ],
        validate_choice=True,
    )
    nudge_after_minutes = IntegerField(
        "Nudge, minutes after the interview ends",
        validators=[InputRequired(), NumberRange(min=1, max=1440)],
    )
    due_soon_minutes = IntegerField(
        "Due-soon reminder, minutes before the deadline",
        validators=[InputRequired(), NumberRange(min=1, max=1440)],
    )
    morning_at = TimeField("Morning reminders at", validators=[InputRequired()])
    quiet_start = TimeField("Quiet hours start", validators=[InputRequired()])
    quiet_end = TimeField("Quiet hours end", validators=[InputRequired()])
    digest_at = TimeField("Coach digest at", validators=[InputRequired()])


class ConfirmForm(FlaskForm):
    """An empty form: its CSRF token is what a confirmation button posts."""


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("coach", "Coach"),
            SelectChoice("organizer", "Workshop organizer"),
            SelectChoice("admin", "Admin"),
        ],
        validate_choice=True,
    )
