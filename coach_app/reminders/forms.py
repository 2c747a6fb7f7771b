"""Forms for reminder preferences."""

from flask_wtf import FlaskForm
from wtforms import BooleanField

from coach_app.playbook import reminders as policy


def field_name(kind: str, channel: str) -> str:
    """The form field for one kind on one channel."""
    return f"{kind}__{channel}"


def preferences_form(kinds, channels, wanted: dict[str, frozenset[str]], formdata) -> FlaskForm:
    """A checkbox per (kind, channel) the organisation allows, preset to the person's choice.

    `formdata` is passed explicitly: a POST with every box unticked is an empty form, which
    Flask-WTF would otherwise treat as "not submitted" and fill with the defaults.
    """

    class PreferencesForm(FlaskForm):
        pass

    for kind in kinds:
        for channel in channels:
            setattr(
                PreferencesForm,
                field_name(kind, channel),
                BooleanField(
                    f"{policy.KIND_LABELS[kind]}: {policy.CHANNEL_LABELS[channel]}",
                    default=channel in wanted.get(kind, ()),
                ),
            )
    return PreferencesForm(formdata=formdata)


class ConfirmForm(FlaskForm):
    """An empty form: the button that confirms an action."""
