"""Local days in IANA zones: first and last second, DST, far east and far west."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coach_app.playbook import (
    PlaybookError,
    end_of_local_day,
    local_date,
    start_of_local_day,
    zone,
)

UTC = UTC


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


@pytest.mark.parametrize("name", ["Nowhere/City", "America", "../etc/passwd", "", "   ", None])
def test_zone_rejects_unknown_and_blank_names(name):
    with pytest.raises(PlaybookError, match="Unknown time zone"):
        zone(name)


def test_zone_error_names_the_zone():
    with pytest.raises(PlaybookError, match="^Unknown time zone: Mars/Olympus$"):
        zone("Mars/Olympus")


def test_zone_accepts_names_and_strips_spaces():
    assert zone(" Europe/Berlin ") == ZoneInfo("Europe/Berlin")
    assert zone(ZoneInfo("Asia/Tokyo")) == ZoneInfo("Asia/Tokyo")


def test_playbook_error_is_a_value_error():
    assert issubclass(PlaybookError, ValueError)


@pytest.mark.parametrize(
    ("tz", "day", "expected_end_utc"),
    [
        # New York on the day DST starts (EDT by midnight) and ends (EST by midnight).
        ("America/New_York", date(2024, 3, 10), utc(2024, 3, 11, 3, 59, 59)),
        ("America/New_York", date(2024, 11, 3), utc(2024, 11, 4, 4, 59, 59)),
        ("Europe/Berlin", date(2024, 3, 31), utc(2024, 3, 31, 21, 59, 59)),
        ("Europe/Berlin", date(2024, 10, 27), utc(2024, 10, 27, 22, 59, 59)),
        ("Pacific/Kiritimati", date(2024, 6, 10), utc(2024, 6, 10, 9, 59, 59)),
        ("Asia/Tokyo", date(2024, 6, 10), utc(2024, 6, 10, 14, 59, 59)),
        ("Pacific/Pago_Pago", date(2024, 6, 10), utc(2024, 6, 11, 10, 59, 59)),
        ("Pacific/Honolulu", date(2024, 6, 10), utc(2024, 6, 11, 9, 59, 59)),
    ],
)
def test_end_of_local_day_is_235959_local(tz, day, expected_end_utc):
    end = end_of_local_day(day, tz)
    assert end == expected_end_utc
    assert end.tzinfo == UTC
    assert local(end, tz).date() == day
    assert local(end, tz).time().isoformat() == "23:59:59"


@pytest.mark.parametrize(
    ("tz", "day", "expected_start_utc"),
    [
        ("America/New_York", date(2024, 3, 10), utc(2024, 3, 10, 5)),
        ("America/New_York", date(2024, 11, 3), utc(2024, 11, 3, 4)),
        ("Europe/Berlin", date(2024, 3, 31), utc(2024, 3, 30, 23)),
        ("Europe/Berlin", date(2024, 10, 27), utc(2024, 10, 26, 22)),
        ("Pacific/Kiritimati", date(2024, 6, 10), utc(2024, 6, 9, 10)),
        ("Pacific/Pago_Pago", date(2024, 6, 10), utc(2024, 6, 10, 11)),
    ],
)
def test_start_of_local_day_is_midnight_local(tz, day, expected_start_utc):
    start = start_of_local_day(day, tz)
    assert start == expected_start_utc
    assert local(start, tz).time().isoformat() == "00:00:00"


def test_midnight_in_a_dst_gap_starts_the_day_at_the_jump():
    # Chile springs forward at 00:00 -> 01:00, so 2022-09-11 begins at 01:00 local.
    start = start_of_local_day(date(2022, 9, 11), "America/Santiago")
    assert local(start, "America/Santiago").isoformat() == "2022-09-11T01:00:00-03:00"
    assert local_date(start - timedelta(seconds=1), "America/Santiago") == date(2022, 9, 10)


def test_ambiguous_end_of_day_takes_the_later_instant():
    # Until 2019 Sao Paulo went back from 00:00 to 23:00, so 23:59:59 happened twice.
    end = end_of_local_day(date(2018, 2, 17), "America/Sao_Paulo")
    assert end == utc(2018, 2, 18, 2, 59, 59)
    assert local_date(end + timedelta(seconds=1), "America/Sao_Paulo") == date(2018, 2, 18)


def test_gap_across_midnight_ends_the_day_before_the_jump():
    # Toronto, 1919-03-30: clocks jumped from 23:30 to 00:30, so 23:59:59 never happened.
    end = end_of_local_day(date(1919, 3, 30), "America/Toronto")
    assert local(end, "America/Toronto").isoformat() == "1919-03-30T23:29:59-05:00"
    start = start_of_local_day(date(1919, 3, 31), "America/Toronto")
    assert start - end == timedelta(seconds=1)


def test_skipped_date_collapses_to_the_transition():
    # Samoa skipped 2011-12-30 entirely when it crossed the date line.
    end = end_of_local_day(date(2011, 12, 30), "Pacific/Apia")
    start = start_of_local_day(date(2011, 12, 30), "Pacific/Apia")
    assert end == end_of_local_day(date(2011, 12, 29), "Pacific/Apia")
    assert start == start_of_local_day(date(2011, 12, 31), "Pacific/Apia")


def test_local_date_uses_the_zone_not_utc():
    moment = utc(2024, 6, 11, 3, 0)
    assert local_date(moment, "Pacific/Pago_Pago") == date(2024, 6, 10)
    assert local_date(moment, "Asia/Tokyo") == date(2024, 6, 11)
    assert local_date(moment, ZoneInfo("Pacific/Kiritimati")) == date(2024, 6, 11)


def test_aware_non_utc_input_is_accepted():
    berlin = datetime(2024, 6, 10, 23, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert local_date(berlin, "Europe/Berlin") == date(2024, 6, 10)
    assert local_date(berlin, "UTC") == date(2024, 6, 10)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="no time zone"):
        local_date(datetime(2024, 6, 10, 12), "UTC")


def test_datetime_is_not_accepted_as_a_date():
    with pytest.raises(PlaybookError, match="calendar date"):
        end_of_local_day(utc(2024, 6, 10), "UTC")
