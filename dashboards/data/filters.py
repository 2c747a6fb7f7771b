"""Filter values from the controls or a query string, cleaned: Filters and parse_filters."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

ROUND_CHOICES = {"1": "1 round", "2": "2 rounds", "3+": "3 rounds or more"}
# The rules the headline measures read; the by-rule view reads all of them.
MAX_IDS = 2**31


class FilterError(ValueError):
    """A filter value that can't be understood (shown to the person, answered with 400)."""


@dataclass(frozen=True)
class Filters:
    """What the person asked for: interview date range, cohorts, coaches, rounds, industries."""

    start: date | None = None
    end: date | None = None
    cohorts: tuple[int, ...] = ()
    coaches: tuple[int, ...] = ()
    rounds: str | None = None
    industries: tuple[str, ...] = field(default_factory=tuple)


MAX_VALUES = 200  # more choices than any scope has: a longer list is not from the controls
MAX_TEXT = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _listify(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        if len(value) > MAX_VALUES:
            raise FilterError("Too many values in one filter.")
        return [v for v in value if v is not None and v != ""]
    return [value]


def _ids(values, name: str) -> tuple[int, ...]:
    ids = []
    for value in _listify(values):
        # Ids come as numbers from the dropdowns and as digits from a query string; anything
        # else (a bool, a float, an object, a huge string) is not an id.
        text = value if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif text is not None and text.isascii() and text.isdigit() and len(text) <= 12:
            number = int(text)
        else:
            raise FilterError(f"The {name} filter needs ids.") from None
        if not 0 < number < MAX_IDS:
            raise FilterError(f"The {name} filter has an id out of range.")
        ids.append(number)
    return tuple(sorted(set(ids)))


def _date(value, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise FilterError(f"The {name} date must look like 2026-05-31.")
    try:
        # Dash's date picker sends "YYYY-MM-DD" (sometimes with a time part).
        return date.fromisoformat(value[:10])
    except ValueError:
        raise FilterError(f"The {name} date must look like 2026-05-31.") from None


def _texts(values, name: str) -> tuple[str, ...]:
    names = set()
    for value in _listify(values):
        if not isinstance(value, str) or len(value) > MAX_TEXT or _CONTROL.search(value):
            raise FilterError(f"The {name} filter needs names from its list.")
        if value.strip():
            names.add(value.strip())
    return tuple(sorted(names))


def parse_filters(
    *, start=None, end=None, cohorts=None, coaches=None, rounds=None, industries=None
) -> Filters:
    """Clean filter values from a Dash callback or a query string; FilterError if malformed."""
    start_day, end_day = _date(start, "start"), _date(end, "end")
    if start_day and end_day and start_day > end_day:
        raise FilterError("The start date is after the end date.")
    if rounds is None or rounds == "":
        rounds = None
    elif isinstance(rounds, bool) or str(rounds) not in ROUND_CHOICES:
        raise FilterError("Choose 1, 2 or 3+ interview rounds.")
    return Filters(
        start=start_day,
        end=end_day,
        cohorts=_ids(cohorts, "cohort"),
        coaches=_ids(coaches, "coach"),
        rounds=None if rounds is None else str(rounds),
        industries=_texts(industries, "industry"),
    )
