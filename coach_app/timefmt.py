"""Formatting for pages: UTC datetimes in a person's local time, countdowns, rates."""

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_login import current_user
from markupsafe import Markup, escape

from coach_app.playbook import Rate

DEFAULT_FORMAT = "%a %d %b %Y, %H:%M %Z"
# C-locale names, as strftime gives them: pages read the same whatever the server's locale.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=1024)
def _zone(tz_name: str | None) -> ZoneInfo:
    # Cached here too, so an unknown stored name is not looked up on disk at every call.
    try:
        return ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_datetime(value: datetime | None, tz_name: str | None = None, fmt: str | None = None):
    """Format an aware UTC datetime in `tz_name` (default: the current user's zone)."""
    if value is None:
        return "—"
    if tz_name is None and getattr(current_user, "is_authenticated", False):
        tz_name = current_user.effective_timezone
    local = value.astimezone(_zone(tz_name))
    if fmt is None or fmt == DEFAULT_FORMAT:
        # The default format by hand: strftime cost 5 µs a call, and tables show hundreds.
        return (
            f"{_DAYS[local.weekday()]} {local.day:02d} {_MONTHS[local.month - 1]} "
            f"{local.year}, {local.hour:02d}:{local.minute:02d} {local.tzname()}"
        )
    return local.strftime(fmt)


def relative_due(value: datetime | None, now: datetime | None = None) -> str:
    """'in 3 h', '2 days ago': a countdown to (or past) a deadline."""
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (value - now).total_seconds()
    past = seconds < 0
    seconds = abs(seconds)
    if seconds < 3600:
        text = f"{max(1, int(seconds // 60))} min"
    elif seconds < 48 * 3600:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86400)} days"
    return f"{text} ago" if past else f"in {text}"


def rate_html(rate, label: str = "") -> Markup:
    """A Rate as "67 %" with its counts ("(2/3)") and a tooltip; "—" when nothing counted.

    A filter rather than a macro: the pipeline shows two per row, and a Jinja macro call
    costs several times more than this.
    """
    return _rate_markup(int(rate.numerator), int(rate.denominator), str(label))


@lru_cache(maxsize=4096)
def _rate_markup(n: int, d: int, label: str) -> Markup:
    # Few distinct (n, d) pairs fill a page, so each is built once per process.
    # Counts are ints and display() is "67 %" or "—": only the label needs escaping.
    shown = f'<span title="{escape(label)}{n} of {d}">{escape(Rate(n, d).display())}</span>'
    if d:
        shown += f' <span class="text-muted small">({n}/{d})</span>'
    return Markup(shown)
