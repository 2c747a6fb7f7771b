"""Advice shown where the client records work. Never blocking, so these functions never raise."""

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

MIN_CONTACT_SPACING = timedelta(days=5)

# Things with a cash value or a shop price. "card" alone is left out: a business card is fine.
_TANGIBLE = re.compile(
    r"\b(?:"
    r"gift[- ]?cards?|gift[- ]?certificates?|gift[- ]?vouchers?|vouchers?|coupons?"
    r"|(?:coffee|starbucks|amazon|itunes|prepaid|store|visa) cards?"
    r"|cand(?:y|ies)|chocolates?|sweets|cookies|pastr(?:y|ies)|fruit baskets?"
    r"|gift baskets?|hampers?|flowers|bouquets?"
    r"|money|cash|cheques?|banknotes?|tickets?"
    r"|wine|champagne|whisk(?:e)?y|liquor"
    r")\b"
    r"|[$€£]\s?\d+(?:[.,]\d+)*",
    re.IGNORECASE,
)

# Phrases that turn a thank-you note into a pitch about the client's own abilities.
_SKILLS = re.compile(
    r"\b(?:"
    r"my (?:\w+ )?skills?|skill ?sets?|skilled (?:in|at|with)"
    r"|proficien(?:t|cy) (?:in|with|at)|my (?:\w+ )?experience (?:with|in|as)"
    r"|years of experience|experienced (?:in|with)|expertise (?:in|with)|expert (?:in|at)"
    r"|I (?:can |would |will )?bring|my (?:key |main )?strengths?|my abilit(?:y|ies)"
    r"|my qualifications|(?:well|highly|uniquely) qualified|my background in"
    r"|my track record|certified in"
    r")\b",
    re.IGNORECASE,
)
_BULLET_LINE = re.compile(r"^\s*(?:[-*•‣◦–]|\d{1,2}[.)])\s+\S", re.MULTILINE)
_MIN_BULLETS = 3


def _found(pattern: re.Pattern[str], text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    seen: dict[str, str] = {}
    for match in pattern.finditer(text):
        # Report each phrase once, as the client wrote it the first time.
        seen.setdefault(match.group(0).lower(), match.group(0).strip())
    return list(seen.values())


def _quoted(phrases: list[str]) -> str:
    return ", ".join(f'"{phrase}"' for phrase in phrases)


def tangible_gift_warnings(text: str) -> list[str]:
    """Warn when a gift description looks tangible rather than informational."""
    found = _found(_TANGIBLE, text)
    if not found:
        return []
    return [
        f"{_quoted(found)} sounds like a tangible gift. Something with a price can look like an "
        "attempt to buy the job (a bribe), even when it is meant kindly. Send an informational "
        "gift instead: an article, a book title, a web site, a magazine or an association "
        "linked to an interest from your notes."
    ]


def skills_pitch_warnings(text: str) -> list[str]:
    """Warn when a thank-you note lists the client's skills."""
    messages = []
    found = _found(_SKILLS, text)
    if found:
        messages.append(
            f"This note talks about your abilities ({_quoted(found)}). A thank-you note is the "
            "wrong place to sell your skills: keep it short, thank them, mention something "
            "from the conversation and say you are still interested."
        )
    if isinstance(text, str) and len(_BULLET_LINE.findall(text)) >= _MIN_BULLETS:
        messages.append(
            "This note contains a list. Lists in a thank-you note usually read as a summary of "
            "your skills; a few plain sentences of thanks work better."
        )
    return messages


def _utc_or_none(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    # Advice must never fail; a naive time is taken as UTC, which is how the app stores times.
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _days_phrase(gap: timedelta) -> str:
    days = gap.days
    if days == 0:
        return "less than a day"
    return "1 day" if days == 1 else f"{days} days"


def contact_spacing_warnings(
    previous_contacts: Iterable[datetime], new_contact_at: datetime
) -> list[str]:
    """Warn when another contact with the same employer is less than 5 days from this one."""
    new = _utc_or_none(new_contact_at)
    if new is None or previous_contacts is None:
        return []
    others = [t for t in map(_utc_or_none, previous_contacts) if t is not None]
    close = [t for t in others if abs(new - t) < MIN_CONTACT_SPACING]
    if not close:
        return []
    nearest = min(close, key=lambda t: abs(new - t))
    gap = abs(new - nearest)
    if nearest == new:
        where = "at the same time as"
    else:
        # Earlier contacts make this one come "after"; a planned later one makes it "before".
        where = f"{_days_phrase(gap)} {'after' if nearest < new else 'before'}"
    return [
        f"This contact comes {where} another contact with this employer about the same "
        "opportunity. Leave at least 5 days between contacts: keep following up, but give "
        "them room, so you come across as persistent rather than pushy."
    ]
