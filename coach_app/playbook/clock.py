"""Time-zone arithmetic for the playbook: local days, their first and last second, UTC out."""

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = UTC

_START_OF_DAY = time(0, 0, 0)
_END_OF_DAY = time(23, 59, 59)
_SECOND = timedelta(seconds=1)
_SEARCH_SPAN = timedelta(hours=26)


class PlaybookError(ValueError):
    """Bad input to the playbook; the message is written to be shown to a person."""


def zone(tz_name: str) -> ZoneInfo:
    """Return the IANA zone for tz_name, or raise PlaybookError for unknown or blank names."""
    if isinstance(tz_name, ZoneInfo):
        return tz_name
    name = tz_name.strip() if isinstance(tz_name, str) else ""
    if not name:
        raise PlaybookError("Unknown time zone: (blank)")
    try:
        return ZoneInfo(name)
    # ZoneInfo raises different errors for missing keys, malformed keys and directory names.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PlaybookError(f"Unknown time zone: {name}") from None


def as_zone(tz: str | tzinfo) -> tzinfo:
    """Accept a zone name or a tzinfo object and return a tzinfo."""
    if isinstance(tz, tzinfo):
        return tz
    return zone(tz)


def require_aware(value: datetime, name: str = "time") -> datetime:
    """Return value converted to UTC, or raise PlaybookError if it is not an aware datetime."""
    if not isinstance(value, datetime):
        raise PlaybookError(f"The {name} must be a date and time, not {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise PlaybookError(f"The {name} has no time zone; pass an aware UTC date and time.")
    return value.astimezone(UTC)


def _require_date(value: date, name: str) -> date:
    # datetime is a subclass of date; silently dropping its time would hide a caller bug.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise PlaybookError(f"The {name} must be a calendar date.")
    return value


def _resolve(d: date, wall: time, tz: tzinfo, *, latest: bool) -> datetime:
    """Map a local wall-clock time on date d to UTC without letting DST move it off d."""
    candidates = []
    for fold in (0, 1):
        local = datetime.combine(d, wall, tzinfo=tz).replace(fold=fold)
        candidates.append(local.astimezone(UTC))
    same_day = [c for c in candidates if c.astimezone(tz).date() == d]
    if not same_day:
        # The whole date was skipped (Pacific/Apia, 2011-12-30): the day shrinks to the
        # transition, so the end is the last second before it and the start is the transition.
        return min(candidates) if latest else max(candidates)
    # Ambiguous wall time (clocks went back): both instants are on d; the end of the day is
    # the later one, the start of the day the earlier one. In a gap only one stays on d.
    chosen = max(same_day) if latest else min(same_day)
    return _edge_of_day(chosen, d, tz, latest=latest)


def _edge_of_day(instant: datetime, d: date, tz: tzinfo, *, latest: bool) -> datetime:
    """Move instant to the real first (or last whole) second of d when a gap hides midnight."""
    step = _SECOND if latest else -_SECOND
    if (instant + step).astimezone(tz).date() != d:
        return instant
    # Rare: a gap straddled midnight (America/Toronto, 1919-03-30 23:30 -> 00:30), so the wall
    # time we asked for does not exist and the day really ends (or starts) at the jump.
    # Bisect on whole seconds between a point inside d and one a day beyond it.
    inside, outside = instant, instant + (_SEARCH_SPAN if latest else -_SEARCH_SPAN)
    while abs(outside - inside) > _SECOND:
        middle = inside + (outside - inside) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).date() == d:
            inside = middle
        else:
            outside = middle
    return inside


def end_of_local_day(d: date, tz: str | tzinfo) -> datetime:
    """Return 23:59:59 local on date d as a UTC datetime."""
    return _resolve(_require_date(d, "date"), _END_OF_DAY, as_zone(tz), latest=True)


def start_of_local_day(d: date, tz: str | tzinfo) -> datetime:
    """Return 00:00:00 local on date d (or the first instant of d) as a UTC datetime."""
    return _resolve(_require_date(d, "date"), _START_OF_DAY, as_zone(tz), latest=False)


def local_date(moment_utc: datetime, tz: str | tzinfo) -> date:
    """Return the calendar date that moment_utc falls on in the given zone."""
    return require_aware(moment_utc, "moment").astimezone(as_zone(tz)).date()
