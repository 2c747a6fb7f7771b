"""Forms for correcting history: editing an interview round, confirming a deletion."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, ValidationError
from wtforms.validators import AnyOf

from coach_app.client.forms import InterviewForm
from coach_app.forms import timezone_field


class EditInterviewForm(InterviewForm):
    """The interview form without the parts an edit does not touch, plus the round's zone.

    Contacts and referrals have their own steps (the Contacts task, "Add a referral").
    """

    opportunity_id = None
    contacts = None
    referrals = None
    timezone = timezone_field("Time zone", required=True)

    def allow_zone(self, tz_name: str) -> None:
        """Keep the round's stored zone selectable even when the list leaves it out."""
        self.timezone.keep(tz_name)

    def validate_company(self, field):
        """An opportunity always has a company."""
        if not field.data:
            raise ValidationError("Enter the company.")

    def validate_role(self, field):
        """An opportunity always has a role."""
        if not field.data:
            raise ValidationError("Enter the role.")


class ConfirmDeleteForm(FlaskForm):
    """The confirmation button of a deletion (an empty post deletes nothing)."""

    # No default: a post without the page's button (data "delete") must not validate.
    confirm = HiddenField(validators=[AnyOf(["delete"], "Confirm the deletion.")])
