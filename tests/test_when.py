"""Reading a one-off meeting start and a meeting length typed by a person."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from scheduling.time.when import WhenError, parse_duration, parse_start

UTC = UTC
NOW = datetime(2027, 3, 3, 15, 15, tzinfo=UTC)  # Wednesday 3 March 2027, 09:15 in Chicago
CHICAGO, LONDON, NEW_YORK = "America/Chicago", "Europe/London", "America/New_York"


def _error(text: str, tz: str = CHICAGO, now: datetime = NOW) -> str:
    with pytest.raises(WhenError) as info:
        parse_start(text, tz, now)
    message = str(info.value)
    assert re.search(r'; try [^"]*"[^"]+"', message), f"no example in {message!r}"
    return message


def test_central_follows_the_march_2027_dst_change() -> None:
    # US clocks go forward at 02:00 on Sunday 14 March 2027:
    # 10:00 is CDT (UTC-5) that day, CST (UTC-6) a week before.
    assert parse_start("March 14 2027 10:00 Central", CHICAGO, NOW) == datetime(2027, 3, 14, 15, tzinfo=UTC)
    assert parse_start("March 7 2027 10:00 Central", CHICAGO, NOW) == datetime(2027, 3, 7, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    "word", ["Central", "central", "CT", "CST", "CDT", "America/Chicago", "america/chicago"]
)
def test_a_zone_in_the_text_overrides_the_default(word: str) -> None:
    assert parse_start(f"March 14 2027 10:00 {word}", LONDON, NOW) == datetime(2027, 3, 14, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "hour"),
    [
        ("Eastern", 14),
        ("ET", 14),
        ("EST", 14),
        ("Mountain", 16),
        ("MT", 16),
        ("Pacific", 17),
        ("PT", 17),
        ("PDT", 17),
    ],
)
def test_us_words_name_the_region_not_a_fixed_offset(word: str, hour: int) -> None:
    # 14 March 2027 is already summer time, so "EST" still means New York's wall clock (EDT, UTC-4).
    assert parse_start(f"2027-03-14 10:00 {word}", CHICAGO, NOW) == datetime(2027, 3, 14, hour, tzinfo=UTC)


def test_relative_phrases_count_from_now_in_the_meeting_zone() -> None:
    assert parse_start("next Tuesday 2pm", CHICAGO, NOW) == datetime(2027, 3, 9, 20, tzinfo=UTC)  # 14:00 CST
    assert parse_start("next Tuesday 2pm", LONDON, NOW) == datetime(2027, 3, 9, 14, tzinfo=UTC)
    assert parse_start("in 2 hours", CHICAGO, NOW) == NOW + timedelta(hours=2)
    late_evening = datetime(2027, 3, 4, 3, 0, tzinfo=UTC)  # already 4 March in UTC, still 3 March in Chicago
    assert parse_start("tomorrow at noon", CHICAGO, late_evening) == datetime(2027, 3, 4, 18, tzinfo=UTC)
    assert parse_start("tomorrow at noon", LONDON, late_evening) == datetime(2027, 3, 5, 12, tzinfo=UTC)


def test_natural_dates_without_a_year_prefer_the_future() -> None:
    assert parse_start("March 14 10:00", CHICAGO, NOW) == datetime(2027, 3, 14, 15, tzinfo=UTC)
    assert parse_start("March 2 10:00", CHICAGO, NOW) == datetime(2028, 3, 2, 16, tzinfo=UTC)


def test_iso_with_and_without_an_offset() -> None:
    assert parse_start("2027-03-14T10:00+01:00", CHICAGO, NOW) == datetime(2027, 3, 14, 9, tzinfo=UTC)
    assert parse_start("2027-03-14 10:00 -05:00", LONDON, NOW) == datetime(2027, 3, 14, 15, tzinfo=UTC)
    assert parse_start("2027-03-14T10:00Z", CHICAGO, NOW) == datetime(2027, 3, 14, 10, tzinfo=UTC)
    assert parse_start("2027-03-14T10:00", CHICAGO, NOW) == datetime(2027, 3, 14, 15, tzinfo=UTC)
    assert parse_start("2027-03-14 10:00", LONDON, NOW) == datetime(2027, 3, 14, 10, tzinfo=UTC)
    assert parse_start("2027-03-14 10:00", LONDON, NOW).tzinfo is UTC


def test_london_across_the_28_march_2027_change() -> None:
    assert parse_start("2027-03-27 10:00", LONDON, NOW) == datetime(2027, 3, 27, 10, tzinfo=UTC)  # GMT
    assert parse_start("2027-03-28 10:00", LONDON, NOW) == datetime(2027, 3, 28, 9, tzinfo=UTC)  # BST
    assert parse_start("March 29 2027 10:00 Europe/London", CHICAGO, NOW) == datetime(
        2027, 3, 29, 9, tzinfo=UTC
    )


def test_a_time_in_the_dst_gap_is_refused_with_the_time_to_use() -> None:
    message = _error("2027-03-14 02:30", NEW_YORK)
    assert "2027-03-14 02:30 does not exist in America/New_York" in message
    assert '"2027-03-14 03:30"' in message
    # London's clocks jump from 01:00 to 02:00.
    assert 'try "2027-03-28 02:30" instead' in _error("2027-03-28 01:30 Europe/London")


def test_a_time_in_the_fold_is_the_first_occurrence() -> None:
    # 01:30 happens twice in New York on 7 November 2027: first at EDT (05:30 UTC), then at EST (06:30 UTC).
    assert parse_start("2027-11-07 01:30", NEW_YORK, NOW) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    assert parse_start("November 7 2027 1:30am Central", NEW_YORK, NOW) == datetime(
        2027, 11, 7, 6, 30, tzinfo=UTC
    )
    assert parse_start("2027-10-31 01:30", LONDON, NOW) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_unreadable_text() -> None:
    message = _error("blursday 3pm")
    assert message.startswith("could not read 'blursday 3pm' as a date and time; try")
    assert '"2027-03-10 10:00" or "next Tuesday 2pm"' in message  # the dated example is a week after now
    assert "could not read" in _error("February 30 2027 10:00")
    assert "no date and time" in _error("   ")


def test_a_date_without_a_time_of_day_is_refused() -> None:
    assert "no time of day in 'next Tuesday'" in _error("next Tuesday")
    assert "no time of day" in _error("2027-03-14")


def test_a_time_in_the_past_is_refused() -> None:
    assert "is in the past" in _error("2027-03-03 09:00")  # 15:00 UTC, a quarter of an hour before NOW
    assert "is in the past" in _error("yesterday 3pm")
    assert "2027-03-01 10:00 GMT is in the past; try a future time" in _error("2027-03-01 10:00", LONDON)


def test_more_than_three_years_ahead_is_refused() -> None:
    assert parse_start("2030-03-02 10:00", LONDON, NOW) == datetime(2030, 3, 2, 10, tzinfo=UTC)
    assert "more than 3 years ahead" in _error("2030-03-04 10:00", LONDON)
    assert "more than 3 years ahead" in _error("2031-01-01 10:00")


def test_text_over_100_characters_is_refused() -> None:
    text = "2027-03-14 10:00 " + "x" * 84
    assert len(text) == 101
    assert "too long (101 characters, at most 100)" in _error(text)


def test_zone_errors() -> None:
    assert "unknown time zone 'Mars/Olympus'" in _error("2027-03-14 10:00 Mars/Olympus")
    assert "unknown time zone 'Nowhere'" in _error("2027-03-14 10:00", "Nowhere")
    assert "more than one time zone" in _error("2027-03-14 10:00 Central Pacific")
    assert "both a UTC offset and a time zone" in _error("2027-03-14 10:00+01:00 Central")


def test_errors_are_value_errors_and_now_must_be_aware() -> None:
    assert issubclass(WhenError, ValueError)
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_start("2027-03-14 10:00", CHICAGO, datetime(2027, 3, 3, 9))


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90 minutes", 90),
        ("1h30", 90),
        ("2 hours", 120),
        ("45m", 45),
        ("1.5 hours", 90),
        ("1 hour 30 minutes", 90),
        ("1h 30m", 90),
        ("1 hour and 15 minutes", 75),
        ("an hour", 60),
        ("half an hour", 30),
        ("5 min", 5),
        ("12h", 720),
        (" 2 HOURS ", 120),
    ],
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("90", "could not read '90'"),
        ("soon", "could not read 'soon'"),
        ("", "could not read ''"),
        ("4 minutes", "5 minutes to 12 hours, not '4 minutes'"),
        ("12h1", "5 minutes to 12 hours"),
        ("13 hours", "5 minutes to 12 hours"),
        ("0h", "5 minutes to 12 hours"),
        ("1" * 101 + "m", "could not read"),
    ],
)
def test_bad_durations(text: str, problem: str) -> None:
    with pytest.raises(WhenError) as info:
        parse_duration(text)
    assert problem in str(info.value)
    assert str(info.value).endswith('; try "90 minutes", "1h30" or "45m"')
