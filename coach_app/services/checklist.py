"""What the client pages need: logging from a form, a task's row and status, evidence, warnings.

The playbook decides deadlines, statuses and warnings; `services.followup` changes tasks,
interviews and outcomes. This module only turns form input into their arguments and describes
tasks for lists (`task_row`); what the home and checklist pages read is `client_reads`.
Nothing here commits: the caller commits, or rolls back on ServiceError.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from coach_app import playbook
from coach_app.access import scoped
from coach_app.extensions import db
from coach_app.models import (
    ClientProfile,
    FollowUpTask,
    Interview,
    InterviewContact,
    Opportunity,
    User,
    audit,
)
from coach_app.models.opportunities import INTERVIEW_FORMATS
from coach_app.playbook import Outcome, Rule
from coach_app.services import ServiceError, followup

# Evidence vocabularies: stored values on task.evidence and the words shown for them.
FORMAT_LABELS = {
    "in_person": "In person",
    "video": "Video call",
    "phone": "Phone",
    "panel": "Panel",
    "other": "Other",
}
assert set(FORMAT_LABELS) == set(INTERVIEW_FORMATS)
THANKS_CHANNELS = {
    "email": "Email",
    "handwritten": "Handwritten note",
    "typed_letter": "Typed letter",
    "linkedin": "LinkedIn message",
    "other": "Other",
}
CONTACT_CHANNELS = {
    "phone": "Phone call",
    "email": "Email",
    "meeting": "In person",
    "letter": "Letter",
    "linkedin": "LinkedIn message",
    "other": "Other",
}
GIFT_KINDS = {
    "article": "An article",
    "book": "A book title",
    "website": "A web site",
    "magazine": "A magazine",
    "association": "An association",
    "other": "Something else informational",
}
CHECK_IN_RESULTS = {
    "no_decision": "No decision yet",
    "left_message": "Left a message / no answer yet",
    "decision": "They told me their decision",
}
OUTCOME_LABELS = {
    Outcome.OFFER.value: "Offer",
    Outcome.REJECTED.value: "Rejected",
    Outcome.WITHDRAWN.value: "I withdrew",
    Outcome.NO_RESPONSE.value: "No response",
}
RULES_WITH_WINDOW = (Rule.CHECK_IN, Rule.CALLBACK)
STATUS_LABELS = {
    playbook.Status.PENDING.value: "To do",
    playbook.Status.MISSED.value: "Overdue",
    playbook.Status.ON_TIME.value: "Done on time",
    playbook.Status.LATE.value: "Done late",
    playbook.Status.WAIVED.value: "Waived",
}

# Which completed tasks count as "employer contacts" for the 5-day spacing advice.
# Chasing the decision (check-in, call-back) is checked against every earlier contact; a
# thank-you only against the chasing ones, because the playbook itself schedules the email and
# the note of one round a few hours apart and warning about that would contradict the rules.
CHASING_RULES = frozenset({Rule.CHECK_IN.value, Rule.CALLBACK.value})
THANKS_RULES = frozenset({Rule.THANK_YOU_EMAIL.value, Rule.THANK_YOU_NOTE.value})
EMPLOYER_CONTACT_RULES = CHASING_RULES | THANKS_RULES | {Rule.REJECTION_THANKS.value}

MAX_REFERRALS = 20
_INTEREST_SPLIT = re.compile(r"[,;\n]+")


# ----------------------------------------------------------------------------- time input


def local_to_utc(day: date, at: time, tz_name: str, field: str = "start_time") -> datetime:
    """Interpret a local date + wall-clock time in `tz_name`; refuse times the clocks skip.

    An ambiguous time (clocks going back) means its first occurrence.
    """
    tz = playbook.zone(tz_name)
    naive = datetime.combine(day, at.replace(tzinfo=None, second=0, microsecond=0))
    local = naive.replace(tzinfo=tz, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        raise ServiceError(
            f"{naive:%H:%M} on {naive:%d %b %Y} does not exist in {tz_name}: the clocks "
            "jump forward then. Enter the time shown on the clock after the change.",
            field,
        )
    return instant


# ----------------------------------------------------------------------------- logging


@dataclass
class OpportunityChoice:
    """An open opportunity the client can log another round for."""

    id: int
    company: str
    role: str
    rounds: int

    @property
    def label(self) -> str:
        return f"{self.company} — {self.role} (round {self.rounds + 1} next)"


def open_opportunity_choices(client: ClientProfile, actor: User) -> list[OpportunityChoice]:
    """The client's open opportunities with their round counts, for the 'log an interview' form."""
    rows = db.session.execute(
        scoped(Opportunity, actor)
        .with_only_columns(
            Opportunity.id, Opportunity.company, Opportunity.role, func.count(Interview.id)
        )
        .outerjoin(Interview, Interview.opportunity_id == Opportunity.id)
        .where(Opportunity.client_id == client.id, Opportunity.outcome == Outcome.OPEN.value)
        .group_by(Opportunity.id, Opportunity.company, Opportunity.role)
        .order_by(Opportunity.company, Opportunity.role, Opportunity.id)
    ).all()
    return [OpportunityChoice(*row) for row in rows]


def _clean(text: str | None) -> str | None:
    text = (text or "").replace("\x00", "").strip()
    return text or None


def referral_lines(text: str | None) -> list[str]:
    """Referral names from a textarea, one per line, blanks and duplicates dropped."""
    seen: dict[str, str] = {}
    for line in (text or "").replace("\x00", "").splitlines():
        name = line.strip(" \t-*•")
        if name:
            seen.setdefault(name.lower(), name)
    names = list(seen.values())
    if len(names) > MAX_REFERRALS:
        raise ServiceError(f"Enter at most {MAX_REFERRALS} referrals.", "referrals")
    for name in names:
        if len(name) > 200:
            raise ServiceError("Keep each referral to 200 characters or fewer.", "referrals")
    return names


def contact_inputs(rows) -> list[followup.ContactInput]:
    """ContactInput for every filled contact row (rows are dicts or ContactForm data)."""
    contacts = []
    for row in rows:
        name = _clean(row.get("name"))
        if not name:
            continue
        contacts.append(
            followup.ContactInput(
                name=name,
                title=_clean(row.get("title")),
                email=_clean(row.get("email")),
                phone=_clean(row.get("phone")),
                card_collected=bool(row.get("card_collected")),
                interests=_clean(row.get("interests")),
            )
        )
    return contacts


# Where a followup/playbook error about the interview belongs on the interview form.
_INTERVIEW_FIELDS = {"start_at": "start_time", "timezone": None}


def log_interview_from_form(form, client: ClientProfile, actor: User, now=None) -> Interview:
    """Log an interview from a validated InterviewForm: opportunity, round, contacts, tasks.

    Opens a new opportunity unless the form picks an open one. Raises ServiceError (with the
    form field at fault) and leaves the rollback and commit to the caller.
    """
    opportunity = None
    chosen = (form.opportunity_id.data or "").strip()
    if chosen:
        opportunity = db.session.scalar(
            scoped(Opportunity, actor).where(
                Opportunity.id == _int_or_none(chosen), Opportunity.client_id == client.id
            )
        )
        if opportunity is None:
            raise ServiceError("Choose one of your open opportunities.", "opportunity_id")
    start_at = local_to_utc(form.start_date.data, form.start_time.data, client.timezone)
    data = followup.InterviewInput(
        start_at=start_at,
        duration_minutes=form.duration_minutes.data,
        format=form.format.data,
        timezone=client.timezone,
        next_step=_clean(form.next_step.data),
        stated_decision_date=form.stated_decision_date.data,
        contacts=contact_inputs(form.contacts.data),
        referrals=referral_lines(form.referrals.data),
    )
    try:
        if opportunity is None:
            opportunity = followup.open_opportunity(
                client=client,
                company=form.company.data,
                role=form.role.data,
                industry=form.industry.data,
                actor=actor,
            )
        return followup.log_interview(opportunity=opportunity, data=data, actor=actor, now=now)
    except ServiceError as error:
        field = _INTERVIEW_FIELDS.get(error.field, error.field)
        raise ServiceError(error.message, field) from None


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def add_contacts(*, interview: Interview, rows, actor: User) -> int:
    """Add the filled contact rows to an interview (the contacts task lets people add late)."""
    contacts = contact_inputs(rows)
    for contact in contacts:
        db.session.add(InterviewContact(interview_id=interview.id, **contact.__dict__))
    if contacts:
        db.session.flush()
        audit.record(
            organization_id=interview.opportunity.organization_id,
            actor_id=actor.id,
            action="interview.contacts_added",
            obj=interview,
            details={"count": len(contacts)},
        )
    return len(contacts)


# ----------------------------------------------------------------------------- reads


@dataclass
class TaskRow:
    """A task with what a list shows about it, computed once."""

    task: FollowUpTask
    spec: playbook.RuleSpec
    status: str
    window_open: bool

    @property
    def overdue(self) -> bool:
        return self.status == playbook.Status.MISSED

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def task_row(task: FollowUpTask, now: datetime) -> TaskRow:
    """Status and rule text for one task at `now`."""
    status = playbook.task_status(
        due_at=task.due_at,
        completed_at=task.completed_at,
        waived=task.waived_reason is not None,
        now=now,
    )
    window_open = task.window_opens_at is None or task.window_opens_at <= now
    return TaskRow(task, playbook.RULES[Rule(task.rule)], status.value, window_open)


def split_interests(text: str | None) -> list[str]:
    """The separate interests in a contact's 'interests' text (comma, semicolon or line)."""
    seen: dict[str, str] = {}
    for part in _INTEREST_SPLIT.split(text or ""):
        item = part.strip()[:200]
        if item:
            seen.setdefault(item.lower(), item)
    return list(seen.values())


def interests_of(contacts) -> list[str]:
    """Every distinct interest noted for these contacts, in the order they were noted."""
    seen: dict[str, str] = {}
    for contact in contacts:
        for item in split_interests(contact.interests):
            seen.setdefault(item.lower(), item)
    return list(seen.values())


# ----------------------------------------------------------------------------- evidence


def evidence_from_form(task: FollowUpTask, form, contacts) -> tuple[dict, date | None]:
    """The evidence dict (and call-back date, if any) a validated completion form records."""
    rule = Rule(task.rule)
    names = {c.id: c.name for c in contacts}
    evidence: dict = {"rule": rule.value}
    callback_date = None
    if rule is Rule.NOTES:
        evidence["notes"] = _clean(form.notes.data)
    elif rule is Rule.CONTACTS:
        evidence["confirmed"] = bool(form.confirm_recorded.data)
        evidence["note"] = _clean(form.note.data)
    elif rule is Rule.NEXT_STEP:
        evidence["next_step"] = _clean(form.next_step.data)
    elif rule in (Rule.THANK_YOU_EMAIL, Rule.THANK_YOU_NOTE):
        evidence["thanked"] = [
            {"id": cid, "name": names[cid]} for cid in form.contact_ids.data or [] if cid in names
        ]
        evidence["also_thanked"] = _clean(form.other_recipient.data)
        evidence["channel"] = form.channel.data
        evidence["text"] = _clean(form.text.data)
    elif rule is Rule.INFO_GIFT:
        evidence["gift_kind"] = form.gift_kind.data
        evidence["gift"] = _clean(form.gift.data)
        evidence["interest"] = _clean(form.interest_other.data) or _clean(form.interest.data)
        evidence["note"] = _clean(form.note.data)
    elif rule is Rule.REFERRAL:
        evidence["contacted"] = _clean(form.contacted.data)
        evidence["channel"] = form.channel.data
        evidence["note"] = _clean(form.note.data)
    elif rule in RULES_WITH_WINDOW:
        evidence["called"] = [
            {"id": cid, "name": names[cid]} for cid in form.contact_ids.data or [] if cid in names
        ]
        evidence["also_called"] = _clean(form.other_person.data)
        evidence["channel"] = form.channel.data
        evidence["result"] = form.result.data
        evidence["note"] = _clean(form.note.data)
        if form.result.data == "no_decision" and form.callback_date.data:
            callback_date = form.callback_date.data
            evidence["callback_date"] = callback_date.isoformat()
    else:
        evidence["note"] = _clean(form.note.data)
    return {k: v for k, v in evidence.items() if v not in (None, [], "")}, callback_date


def previous_contact_times(task: FollowUpTask) -> list[datetime]:
    """When the opportunity's other employer contacts happened, as this task's rule counts them."""
    if task.rule in CHASING_RULES:
        rules = EMPLOYER_CONTACT_RULES
    elif task.rule in THANKS_RULES:
        rules = CHASING_RULES
    else:
        return []
    query = select(FollowUpTask.completed_at).where(
        FollowUpTask.opportunity_id == task.opportunity_id,
        FollowUpTask.rule.in_(rules),
        FollowUpTask.completed_at.is_not(None),
        FollowUpTask.id != task.id,
    )
    if task.parent_task_id is not None:
        # A call-back is the contact the employer asked for at the check-in: never "too soon".
        query = query.where(FollowUpTask.id != task.parent_task_id)
    return list(db.session.scalars(query))


def completion_warnings(task: FollowUpTask, evidence: dict, now: datetime) -> list[str]:
    """The playbook's (never blocking) advice about this piece of recorded work."""
    warnings: list[str] = []
    if task.rule == Rule.INFO_GIFT:
        gift_text = " ".join(filter(None, (evidence.get("gift"), evidence.get("note"))))
        warnings += playbook.tangible_gift_warnings(gift_text)
    if task.rule == Rule.THANK_YOU_NOTE:
        warnings += playbook.skills_pitch_warnings(evidence.get("text") or "")
    if task.rule in CHASING_RULES | THANKS_RULES:
        warnings += playbook.contact_spacing_warnings(previous_contact_times(task), now)
    return warnings


def warnings_for_form(task: FollowUpTask, form, contacts, now: datetime) -> list[str]:
    """The advice a validated completion form would get if saved at `now` (nothing written)."""
    evidence, _ = evidence_from_form(task, form, contacts)
    return completion_warnings(task, evidence, now)


def complete_from_form(task: FollowUpTask, form, actor: User, contacts, now=None):
    """Complete a task from its validated completion form; returns (call-back task, warnings).

    Warnings are stored with the evidence so a coach sees what was advised when it was saved.
    """
    now = now or datetime.now(UTC)
    completed_at = None
    done_at = getattr(form, "done_at", None)  # only on a coach's form for the client
    if done_at is not None and done_at.data is not None:
        local = done_at.data
        completed_at = local_to_utc(local.date(), local.time(), task_zone_name(task), "done_at")
    evidence, callback_date = evidence_from_form(task, form, contacts)
    warnings = completion_warnings(task, evidence, now)
    if warnings:
        evidence["warnings"] = warnings
    if task.rule == Rule.CONTACTS and task.interview is not None:
        added = add_contacts(interview=task.interview, rows=form.new_contacts.data, actor=actor)
        if added:
            evidence["contacts_added"] = added
    callback = followup.complete_task(
        task=task,
        actor=actor,
        evidence=evidence,
        completed_at=completed_at,
        callback_date=callback_date,
        now=now,
    )
    return callback, warnings


def task_zone_name(task: FollowUpTask) -> str:
    """The zone a task's deadlines and times are shown and entered in: its client's."""
    return task.opportunity.client.timezone


_EVIDENCE_LABELS = {
    "notes": "Notes",
    "confirmed": "Contacts recorded",
    "contacts_added": "Contacts added",
    "next_step": "Next step and timeframe",
    "thanked": "Thanked",
    "also_thanked": "Also thanked",
    "called": "Spoke to",
    "also_called": "Also spoke to",
    "contacted": "Contacted",
    "channel": "How",
    "gift_kind": "Kind of gift",
    "gift": "Gift",
    "interest": "Answers the interest",
    "result": "Result",
    "callback_date": "Call back on",
    "text": "Text",
    "note": "Note",
}
_VALUE_LABELS = {
    "channel": {**THANKS_CHANNELS, **CONTACT_CHANNELS},
    "gift_kind": GIFT_KINDS,
    "result": CHECK_IN_RESULTS,
}


def evidence_rows(evidence: dict | None) -> list[tuple[str, str]]:
    """(label, text) pairs to show a task's stored evidence; unknown keys are shown as-is."""
    rows = []
    for key, value in (evidence or {}).items():
        if key in ("rule", "warnings"):
            continue
        if isinstance(value, list):
            value = ", ".join(
                str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value
            )
        elif isinstance(value, bool):
            value = "Yes" if value else "No"
        else:
            value = _VALUE_LABELS.get(key, {}).get(value, value)
        rows.append((_EVIDENCE_LABELS.get(key, key.replace("_", " ").capitalize()), str(value)))
    return rows


def latest_interview_id(opportunity: Opportunity) -> int | None:
    """The id of the opportunity's latest round (for redirects after an outcome)."""
    return db.session.scalar(
        select(Interview.id)
        .where(Interview.opportunity_id == opportunity.id)
        .order_by(Interview.start_at.desc(), Interview.id.desc())
        .limit(1)
    )
