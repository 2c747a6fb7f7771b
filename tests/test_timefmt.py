"""Page formatting helpers: local times, countdowns and rates."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.playbook import Rate
from coach_app.timefmt import DEFAULT_FORMAT, local_datetime, rate_html, relative_due

ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_the_default_format_reads_as_strftime_does_across_a_year(zone):
    # Every 7 h 13 min for a year: each weekday, month, hour and both sides of DST changes.
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(1200):
        expected = moment.astimezone(ZoneInfo(zone)).strftime(DEFAULT_FORMAT)
        assert local_datetime(moment, zone) == expected
        moment += timedelta(hours=7, minutes=13)


def test_an_unknown_zone_falls_back_to_utc():
    moment = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert local_datetime(moment, "Mars/Olympus_Mons") == "Sun 08 Mar 2026, 06:30 UTC"


def test_a_custom_format_is_kept():
    moment = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert local_datetime(moment, "Europe/London", "%d %b %Y") == "08 Mar 2026"
    assert local_datetime(None, "UTC") == "—"


def test_relative_due_counts_down_and_up():
    now = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert relative_due(now + timedelta(minutes=20), now) == "in 20 min"
    assert relative_due(now + timedelta(hours=5), now) == "in 5 h"
    assert relative_due(now - timedelta(days=3), now) == "3 days ago"


def test_rate_html_shows_counts_and_escapes_the_label():
    shown = str(rate_html(Rate(2, 3), "<b>"))
    assert shown == (
        '<span title="&lt;b&gt;2 of 3">67 %</span> <span class="text-muted small">(2/3)</span>'
    )
    # Nothing counted: a dash, no counts; the same pair twice gives the same markup.
    assert str(rate_html(Rate(0, 0))) == '<span title="0 of 0">—</span>'
    assert rate_html(Rate(1, 2)) == rate_html(Rate(1, 2))
