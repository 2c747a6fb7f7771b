"""The follow-up rules from PLAYBOOK.md, as data the portal, workers and docs all read."""

from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    """Identifier of one follow-up rule; the value is stored on every task."""

    NOTES = "notes"
    CONTACTS = "contacts"
    NEXT_STEP = "next_step"
    THANK_YOU_EMAIL = "thank_you_email"
    THANK_YOU_NOTE = "thank_you_note"
    INFO_GIFT = "info_gift"
    SECOND_INTERVIEW = "second_interview"
    REFERRAL = "referral"
    CHECK_IN = "check_in"
    CALLBACK = "callback"
    REJECTION_THANKS = "rejection_thanks"


@dataclass(frozen=True)
class RuleSpec:
    """What one rule asks of the client, when its task is created and when it is due."""

    id: Rule
    title: str
    does: str
    created_when: str
    due: str
    seeds: tuple[str, ...]
    # True when every interview round gets this task (referral: one per referral recorded).
    per_interview: bool
    # What a person reads: the step in plain words, addressed to the client.
    todo: str = ""


_EACH_ROUND = "every interview round"
_DAY_0 = "end of the interview's local day (day 0)"
_DAY_1 = "end of day 1 (the next local day)"

RULES: dict[Rule, RuleSpec] = {
    spec.id: spec
    for spec in (
        RuleSpec(
            Rule.NOTES,
            "Interview notes",
            "writes down what the interviewer cared about: topics, interests, hobbies, pet "
            "peeves, current projects, organisations and events they mentioned, questions "
            "still open",
            _EACH_ROUND,
            _DAY_0,
            ("001", "002", "004"),
            True,
            todo=(
                "Write down what the interviewer cared about while it is fresh: the topics, "
                "their interests and hobbies, pet peeves, current projects, the organisations "
                "and events they mentioned, and any questions still open."
            ),
        ),
        RuleSpec(
            Rule.CONTACTS,
            "Contacts",
            "records each interviewer and anyone who helped: name with its spelling checked, "
            "job title, email or phone, and keeps their business card",
            _EACH_ROUND,
            _DAY_0,
            ("002", "003"),
            True,
            todo=(
                "Record everyone who interviewed you or helped: their name (check the "
                "spelling), job title, and email or phone. Keep their business card if you got "
                "one."
            ),
        ),
        RuleSpec(
            Rule.NEXT_STEP,
            "Next step",
            "records the next step in the process and the decision timeframe they asked about",
            _EACH_ROUND,
            _DAY_0,
            ("003",),
            True,
            todo=("Note the next step in the process and when they expect to decide."),
        ),
        RuleSpec(
            Rule.THANK_YOU_EMAIL,
            "Thank-you email",
            "emails thanks that mention specific points from the conversation and answer "
            "anything left open",
            _EACH_ROUND,
            "interview end + 24 h",
            ("004",),
            True,
            todo=(
                "Send a thank-you email that mentions specific points from your conversation "
                "and answers anything left open."
            ),
        ),
        RuleSpec(
            Rule.THANK_YOU_NOTE,
            "Thank-you note",
            "posts a short handwritten note with a professional closing that reaffirms "
            "interest and leaves skills out",
            _EACH_ROUND,
            _DAY_1,
            ("000", "003", "004"),
            True,
            todo=(
                "Post a short handwritten note: thank them, say you are still interested, and "
                "close professionally. Leave your skills out of it."
            ),
        ),
        RuleSpec(
            Rule.INFO_GIFT,
            "Informational gift",
            "encloses an informational gift (an article, a book title, a web site, a magazine "
            "or an association) linked to an interest from the notes; never a tangible gift",
            _EACH_ROUND,
            _DAY_1,
            ("000", "001", "002"),
            True,
            todo=(
                "Send something useful linked to an interest they mentioned: an article, a book "
                "title, a website, a magazine or an association. Never a physical gift."
            ),
        ),
        RuleSpec(
            Rule.SECOND_INTERVIEW,
            "Offer a second interview",
            "offers to come back and answer further questions",
            _EACH_ROUND,
            _DAY_1,
            ("000",),
            True,
            todo=("Offer to come back and answer any further questions."),
        ),
        RuleSpec(
            Rule.REFERRAL,
            "Referral follow-up",
            "gets in touch with one person or organisation the interviewer pointed them to",
            "every interview round, one per referral recorded in the notes",
            "interview end + 72 h",
            ("004",),
            True,
            todo=("Get in touch with the person or organisation the interviewer pointed you to."),
        ),
        RuleSpec(
            Rule.CHECK_IN,
            "Check-in",
            "phones or writes to ask where the decision stands and to reaffirm interest",
            "the opportunity's latest round, while no decision is known",
            "window opens at the start of day 7, due at the end of day 10; when the stated "
            "decision date is before day 7, the window opens at the start of the day after "
            "that date and the task is due at the end of that day",
            ("002", "003"),
            False,
            todo=(
                "Call or write to ask where the decision stands, and say you are still interested."
            ),
        ),
        RuleSpec(
            Rule.CALLBACK,
            "Call back",
            "calls back on the date the employer suggested",
            "a check-in records no decision yet, with a date to call back",
            "end of the call-back date",
            ("003",),
            False,
            todo=("Call back on the date they suggested."),
        ),
        RuleSpec(
            Rule.REJECTION_THANKS,
            "Thanks after a rejection",
            "thanks the employer for considering them and asks to be remembered for other openings",
            "the outcome rejected is recorded",
            "end of the next local day after the rejection was recorded",
            ("003",),
            False,
            todo=("Thank them for considering you, and ask to be kept in mind for other openings."),
        ),
    )
}


def rules_markdown_table() -> str:
    """Return the rules as the markdown table published in docs/playbook.md."""
    lines = [
        "| id | the client does | created when | due | seeds |",
        "|---|---|---|---|---|",
    ]
    for spec in RULES.values():
        cells = (
            f"`{spec.id.value}`",
            spec.does,
            spec.created_when,
            spec.due,
            ", ".join(spec.seeds),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
