"""Forms for logging interviews and recording follow-up work (also used by the coach pages)."""

from datetime import date, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from coach_app.playbook import MAX_REASON_LENGTH, Rule
from coach_app.playbook.schedule import DEFAULT_DURATION_MINUTES, MAX_DURATION_MINUTES
from coach_app.services.checklist import (
    CHECK_IN_RESULTS,
    CONTACT_CHANNELS,
    FORMAT_LABELS,
    GIFT_KINDS,
    OUTCOME_LABELS,
    THANKS_CHANNELS,
)

MAX_TEXT = 5000
CONTACT_ROWS = 3


def _strip(value):
    # NUL bytes are refused by PostgreSQL text columns; drop them with surrounding blanks.
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    return value


class DateWithin:
    """Refuse dates far from today: they are typos, and extreme years overflow datetimes."""

    def __init__(self, past_days: int, future_days: int):
        self.past, self.future = timedelta(days=past_days), timedelta(days=future_days)

    def __call__(self, form, field):
        if field.data is None:
            return
        today = date.today()
        earliest, latest = today - self.past, today + self.future
        if not earliest <= field.data <= latest:
            raise ValidationError(
                f"Enter a date between {earliest:%d %b %Y} and {latest:%d %b %Y}."
            )


INTERVIEW_DATES = DateWithin(past_days=3 * 366, future_days=366)
LATER_DATES = DateWithin(past_days=3 * 366, future_days=3 * 366)
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def _choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(value, label) for value, label in mapping.items()]


def _text(label, *validators, max_length=MAX_TEXT, area=False, **kwargs):
    # Fields with an inline `validate_<name>` check get no Optional(): it would stop the
    # validation chain on blank input before the check runs.
    field_class = TextAreaField if area else StringField
    return field_class(
        label,
        validators=[*validators, Length(max=max_length)],
        filters=[_strip],
        **kwargs,
    )


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (works without JavaScript, one label per box)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ContactForm(Form):
    """One interviewer row; a row with no name is ignored unless other fields are filled."""

    name = _text("Name", max_length=200)
    title = _text("Title", Optional(), max_length=200)
    email = EmailField(
        "Email",
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
        filters=[_strip],
    )
    phone = _text("Phone", Optional(), max_length=50)
    card_collected = BooleanField("Business card collected")
    interests = _text(
        "Interests noticed",
        Optional(),
        max_length=2000,
        description="Comma-separated: topics, hobbies, projects, pet peeves.",
    )

    def validate_name(self, field):
        """A filled row needs a name; a fully blank row is skipped."""
        others = (self.title.data, self.email.data, self.phone.data, self.interests.data)
        if not field.data and (any(others) or self.card_collected.data):
            raise ValidationError("Enter the person's name (or clear this row).")


class InterviewForm(FlaskForm):
    """Log an interview round: pick an open opportunity or name a new one, then the details.

    Call `set_opportunity_choices(checklist.open_opportunity_choices(client, user))` before
    validating, then `checklist.log_interview_from_form(form, client, user)`.
    """

    opportunity_id = SelectField("Opportunity", choices=[], validate_choice=True, default="")
    company = _text("Company", max_length=200)
    role = _text("Role", max_length=200)
    industry = _text("Industry (optional)", Optional(), max_length=100)
    start_date = DateField(
        "Date", validators=[InputRequired("Enter the interview date."), INTERVIEW_DATES]
    )
    start_time = TimeField(
        "Start time", format=TIME_FORMATS, validators=[InputRequired("Enter the start time.")]
    )
    duration_minutes = IntegerField(
        "Duration (minutes)",
        default=DEFAULT_DURATION_MINUTES,
        validators=[
            InputRequired("Enter the duration in minutes."),
            NumberRange(
                min=1,
                max=MAX_DURATION_MINUTES,
                message=f"Enter a duration between 1 and {MAX_DURATION_MINUTES} minutes.",
            ),
        ],
    )
    format = SelectField(
        "Format", choices=_choices(FORMAT_LABELS), default="in_person", validate_choice=True
    )
    contacts = FieldList(FormField(ContactForm), min_entries=CONTACT_ROWS, max_entries=10)
    referrals = _text(
        "Referrals given (one per line)",
        Optional(),
        area=True,
        description="People or organisations the interviewer suggested you contact.",
    )
    next_step = _text("Next step", Optional(), max_length=2000, area=True)
    stated_decision_date = DateField(
        "Decision expected by (optional)", validators=[Optional(), LATER_DATES]
    )

    def set_opportunity_choices(self, choices) -> None:
        """Offer these open opportunities (OpportunityChoice list) plus 'a new one'."""
        self.opportunity_id.choices = [SelectChoice("", "A new opportunity (enter it below)")] + [
            SelectChoice(str(c.id), c.label) for c in choices
        ]

    def validate_company(self, field):
        """A new opportunity needs a company and a role."""
        if not self.opportunity_id.data and not field.data:
            raise ValidationError("Enter the company, or choose an opportunity above.")

    def validate_role(self, field):
        """See validate_company."""
        if not self.opportunity_id.data and not field.data:
            raise ValidationError("Enter the role, or choose an opportunity above.")


# ------------------------------------------------------------------ completing a task


class CompleteTaskForm(FlaskForm):
    """Base of the per-rule completion forms: `confirm` saves despite warnings.

    `done_at` is for a coach recording work after the fact (removed from clients' forms, whose
    completions are stamped with the moment they record them).
    """

    confirm = HiddenField(default="")
    done_at = DateTimeLocalField(
        "When was it done? (the client's local time)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description="Leave empty for now.",
    )


class NotesForm(CompleteTaskForm):
    notes = _text(
        "Your notes",
        DataRequired("Write your notes before marking this done."),
        area=True,
        description="Topics they cared about, interests, projects, events, open questions.",
    )


class ContactsTaskForm(CompleteTaskForm):
    new_contacts = FieldList(FormField(ContactForm), min_entries=2, max_entries=10)
    confirm_recorded = BooleanField(
        "Every interviewer and helpful person is recorded, names spelled correctly",
        validators=[DataRequired("Tick this once everyone is recorded.")],
    )
    note = _text("Note (optional)", Optional(), area=True, max_length=2000)


class NextStepForm(CompleteTaskForm):
    next_step = _text(
        "Next step and decision timeframe",
        DataRequired("Write down the next step and when they expect to decide."),
        area=True,
        max_length=2000,
    )


class ThankYouForm(CompleteTaskForm):
    contact_ids = CheckboxesField("Whom did you thank?", coerce=int, choices=[])
    other_recipient = _text("Someone else (name)", max_length=200)
    channel = SelectField("How", choices=_choices(THANKS_CHANNELS), validate_choice=True)
    text = _text("What you wrote (optional)", Optional(), area=True)

    def validate_other_recipient(self, field):
        """At least one person must have been thanked."""
        if not field.data and not self.contact_ids.data:
            raise ValidationError("Tick at least one person, or name who you thanked.")


class InfoGiftForm(CompleteTaskForm):
    gift_kind = SelectField("Kind of gift", choices=_choices(GIFT_KINDS), validate_choice=True)
    gift = _text(
        "The gift (title, link or name)",
        DataRequired("Describe the gift you sent."),
        max_length=500,
    )
    interest = SelectField("Which interest it answers", choices=[], validate_choice=True)
    interest_other = _text("…or another interest", max_length=200)
    note = _text("Note (optional)", Optional(), area=True, max_length=2000)

    def validate_interest_other(self, field):
        """The gift must be tied to an interest from the notes."""
        if not field.data and not self.interest.data:
            raise ValidationError("Choose the interest this gift answers, or type it.")


class ReferralForm(CompleteTaskForm):
    contacted = _text(
        "Who did you contact?", DataRequired("Enter who you contacted."), max_length=200
    )
    channel = SelectField("How", choices=_choices(CONTACT_CHANNELS), validate_choice=True)
    note = _text("What happened (optional)", Optional(), area=True, max_length=2000)


class CheckInForm(CompleteTaskForm):
    contact_ids = CheckboxesField("Who did you speak to?", coerce=int, choices=[])
    other_person = _text("Someone else (name)", max_length=200)
    channel = SelectField("How", choices=_choices(CONTACT_CHANNELS), validate_choice=True)
    result = SelectField("Result", choices=_choices(CHECK_IN_RESULTS), validate_choice=True)
    callback_date = DateField("No decision yet: call back on", validators=[Optional(), LATER_DATES])
    note = _text("Note (optional)", Optional(), area=True, max_length=2000)

    def validate_other_person(self, field):
        """Say who was called."""
        if not field.data and not self.contact_ids.data:
            raise ValidationError("Tick who you spoke to, or type their name.")

    def validate_callback_date(self, field):
        """A call-back date only makes sense when there is no decision yet."""
        if field.data and self.result.data != "no_decision":
            raise ValidationError("A call-back date goes with the result 'No decision yet'.")


class NoteForm(CompleteTaskForm):
    note = _text(
        "What did you do?", DataRequired("Write a short note."), area=True, max_length=2000
    )


FORM_FOR_RULE = {
    Rule.NOTES: NotesForm,
    Rule.CONTACTS: ContactsTaskForm,
    Rule.NEXT_STEP: NextStepForm,
    Rule.THANK_YOU_EMAIL: ThankYouForm,
    Rule.THANK_YOU_NOTE: ThankYouForm,
    Rule.INFO_GIFT: InfoGiftForm,
    Rule.REFERRAL: ReferralForm,
    Rule.CHECK_IN: CheckInForm,
    Rule.CALLBACK: CheckInForm,
}


def completion_form(task, contacts, interests, formdata=None, *, on_behalf=False):
    """The completion form for this task's rule, with its contact and interest choices.

    `on_behalf`: a coach or admin records it for the client, and may say when it was done.
    """
    rule = Rule(task.rule)
    form_class = FORM_FOR_RULE.get(rule, NoteForm)
    kwargs = {} if formdata is None else {"formdata": formdata}
    form = form_class(**kwargs)
    if not on_behalf:
        del form.done_at
    if hasattr(form, "contact_ids"):
        form.contact_ids.choices = [SelectChoice(c.id, c.name) for c in contacts]
    if isinstance(form, ThankYouForm) and formdata is None:
        form.channel.data = "email" if rule is Rule.THANK_YOU_EMAIL else "handwritten"
    if isinstance(form, InfoGiftForm):
        form.interest.choices = [SelectChoice("", "— choose —")] + [
            SelectChoice(i, i) for i in interests
        ]
    if isinstance(form, ReferralForm) and formdata is None and task.referral is not None:
        form.contacted.data = task.referral.name
    if isinstance(form, NextStepForm) and formdata is None and task.interview is not None:
        form.next_step.data = task.interview.next_step
    return form


class WaiveForm(FlaskForm):
    reason = _text(
        "Reason",
        DataRequired("Give a reason for waiving this task."),
        max_length=MAX_REASON_LENGTH,
        description='For example "no referrals were given".',
    )


class UnwaiveForm(FlaskForm):
    """Only the CSRF token."""


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "Outcome",
        choices=_choices(OUTCOME_LABELS, blank="— choose —"),
        validators=[DataRequired("Choose an outcome.")],
        validate_choice=True,
    )


class ReferralAddForm(FlaskForm):
    name = _text("Referred to", DataRequired("Enter who you were referred to."), max_length=200)
    note = _text("Note (optional)", Optional(), max_length=2000)
