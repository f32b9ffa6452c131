"""scheduling.time.cadence: parsing, expansion across DST, storage round trip, descriptions, holidays, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import MONTHLY, SU, TU, YEARLY, rrule

from scheduling.time.cadence import (
    EXAMPLE,
    Cadence,
    CadenceError,
    Occurrence,
    format_local,
    holiday_conflicts,
    parse_cadence,
)

NY, DENVER, LA, LONDON = (
    ZoneInfo(z) for z in ("America/New_York", "America/Denver", "America/Los_Angeles", "Europe/London")
)
UTC = UTC
JAN_2026 = datetime(2026, 1, 1, tzinfo=UTC)


def local(occ: Occurrence, zone: ZoneInfo) -> datetime:
    return occ.start.astimezone(zone)


# --- recurrence agrees with dateutil ---------------------------------------------------------------------


def test_first_tuesday_matches_dateutil_for_ten_years() -> None:
    cadence = parse_cadence("first Tuesday of every month, 12:00 to 13:00, America/New_York", "UTC")
    expected = [
        d.date()
        for d in rrule(MONTHLY, byweekday=TU(+1), dtstart=datetime(2026, 1, 1), until=datetime(2035, 12, 31))
    ]
    assert len(expected) == 120
    between = cadence.between(datetime(2026, 1, 1, tzinfo=NY), datetime(2036, 1, 1, tzinfo=NY))
    following = cadence.occurrences(JAN_2026, 120)
    for found in (between, following):
        assert [local(o, NY).date() for o in found] == expected
        assert {local(o, NY).time() for o in found} == {time(12, 0)}
        assert all(o.end - o.start == timedelta(hours=1) and o.start.tzinfo == UTC for o in found)


def test_rrule_is_canonical() -> None:
    cadence = parse_cadence("first Tuesday of every month, 12:00 to 13:00, America/New_York", "UTC")
    assert (cadence.rrule, cadence.start, cadence.duration, cadence.tz) == (
        "FREQ=MONTHLY;BYDAY=+1TU",
        time(12),
        timedelta(minutes=60),
        "America/New_York",
    )


# --- DST: wall clock stays put, UTC moves -----------------------------------------------------------------


def _changes(year: int, spring: SU, fall: SU, fall_month: int) -> tuple[date, date]:
    """The DST change dates, computed by dateutil rather than by zoneinfo."""
    start = rrule(YEARLY, bymonth=3, byweekday=spring, dtstart=datetime(year, 1, 1), count=1)[0].date()
    end = rrule(YEARLY, bymonth=fall_month, byweekday=fall, dtstart=datetime(year, 1, 1), count=1)[0].date()
    return start, end


@pytest.mark.parametrize(
    "text", ["every Sunday at 12:00", "RRULE:FREQ=DAILY at 12:00", "weekdays 12:00-13:00"]
)
@pytest.mark.parametrize("year", [2026, 2027])
def test_new_york_meetings_stay_at_noon_across_dst(text: str, year: int) -> None:
    cadence = parse_cadence(f"{text} America/New_York", "UTC")
    spring, fall = _changes(year, SU(+2), SU(+1), 11)
    assert spring in (date(2026, 3, 8), date(2027, 3, 14)) and fall in (date(2026, 11, 1), date(2027, 11, 7))
    for change in (spring, fall):
        window = cadence.between(
            datetime.combine(change - timedelta(days=21), time(), UTC),
            datetime.combine(change + timedelta(days=21), time(), UTC),
        )
        assert len(window) >= 6
        for occ in window:
            assert local(occ, NY).time() == time(12, 0)
            summer = spring <= local(occ, NY).date() < fall
            assert occ.start.hour == (16 if summer else 17)


@pytest.mark.parametrize(
    "text", ["every Sunday at 12:00", "RRULE:FREQ=DAILY at 12:00", "every Wednesday at noon"]
)
@pytest.mark.parametrize("year", [2026, 2027])
def test_london_meetings_stay_at_noon_across_dst(text: str, year: int) -> None:
    cadence = parse_cadence(f"{text} Europe/London", "UTC")
    spring, fall = _changes(year, SU(-1), SU(-1), 10)
    assert spring in (date(2026, 3, 29), date(2027, 3, 28))
    assert fall in (date(2026, 10, 25), date(2027, 10, 31))
    for change in (spring, fall):
        after = datetime.combine(change - timedelta(days=21), time(), UTC)
        window = [o for o in cadence.occurrences(after, 60) if o.start.date() < change + timedelta(days=21)]
        assert len(window) >= 6
        for occ in window:
            assert local(occ, LONDON).time() == time(12, 0)
            assert occ.start.hour == (11 if spring <= local(occ, LONDON).date() < fall else 12)


@pytest.mark.parametrize(
    ("text", "day", "offset_hours"),
    [
        (
            "first Tuesday of every month, 12:00 to 13:00, America/New_York",
            date(2026, 3, 3),
            -5,
        ),  # before 8 Mar
        ("first Tuesday of every month, 12:00 to 13:00, America/New_York", date(2026, 4, 7), -4),
        ("every Tuesday at 12:00 America/New_York", date(2026, 3, 10), -4),  # two days after the change
        ("every Tuesday at 12:00 America/New_York", date(2026, 10, 27), -4),
        (
            "first Tuesday of every month, 12:00 to 13:00, America/New_York",
            date(2026, 11, 3),
            -5,
        ),  # after 1 Nov
        ("every Tuesday at 12:00 Europe/London", date(2027, 3, 23), 0),
        ("every Tuesday at 12:00 Europe/London", date(2027, 3, 30), 1),  # BST from 28 March 2027
        ("every Tuesday at 12:00 Europe/London", date(2026, 10, 20), 1),
        ("every Tuesday at 12:00 Europe/London", date(2026, 10, 27), 0),  # GMT from 25 October 2026
        ("every Sunday at 12:00 America/New_York", date(2026, 3, 8), -4),  # the day of the change itself
        ("every Sunday at 12:00 Europe/London", date(2026, 10, 25), 0),
    ],
)
def test_an_occurrence_has_the_utc_offset_of_its_own_date(text: str, day: date, offset_hours: int) -> None:
    cadence = parse_cadence(text, "UTC")
    midnight = datetime.combine(day, time(), UTC)
    [occ] = cadence.between(midnight, midnight + timedelta(days=1))
    shown = occ.start.astimezone(ZoneInfo(cadence.tz))
    assert (shown.date(), shown.time()) == (day, time(12, 0))
    assert shown.utcoffset() == timedelta(hours=offset_hours)
    assert occ.start == datetime.combine(day, time(12), UTC) - timedelta(hours=offset_hours)
    assert occ.end - occ.start == timedelta(hours=1)


# --- phrases ----------------------------------------------------------------------------------------------


def test_last_friday() -> None:
    cadence = parse_cadence("last Friday of the month 3pm-4:30pm Pacific", "UTC")
    assert (cadence.rrule, cadence.start, cadence.duration, cadence.tz) == (
        "FREQ=MONTHLY;BYDAY=-1FR",
        time(15),
        timedelta(minutes=90),
        "America/Los_Angeles",
    )
    for occ in cadence.occurrences(JAN_2026, 24):
        day = local(occ, LA).date()
        assert day.weekday() == 4 and (day + timedelta(days=7)).month != day.month


def test_every_other_thursday() -> None:
    cadence = parse_cadence("every other Thursday at 9:30am for 45 minutes Europe/London", "UTC")
    assert cadence.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
    days = [local(o, LONDON).date() for o in cadence.occurrences(JAN_2026, 30)]
    assert all(d.weekday() == 3 for d in days)
    assert {(b - a).days for a, b in zip(days, days[1:])} == {14}
    assert cadence.duration == timedelta(minutes=45)


def test_anchor_sets_the_phase_of_every_other_week() -> None:
    from_anchor = parse_cadence("every other Thursday at noon", "UTC", anchor=date(2026, 1, 8))
    from_text = parse_cadence("every other Thursday at noon starting 2026-01-15", "UTC")
    assert [o.start.date() for o in from_anchor.occurrences(JAN_2026, 2)] == [
        date(2026, 1, 8),
        date(2026, 1, 22),
    ]
    assert [o.start.date() for o in from_text.occurrences(JAN_2026, 2)] == [
        date(2026, 1, 15),
        date(2026, 1, 29),
    ]


def test_twice_a_year_in_march_and_september() -> None:
    text = "first Tuesday, twice a year in March and September, 12:00 to 13:00"
    cadence = parse_cadence(text, "America/New_York")
    assert cadence.rrule == "FREQ=YEARLY;BYMONTH=3,9;BYDAY=+1TU"
    assert [local(o, NY).date() for o in cadence.occurrences(JAN_2026, 4)] == [
        date(2026, 3, 3),
        date(2026, 9, 1),
        date(2027, 3, 2),
        date(2027, 9, 7),
    ]
    same = parse_cadence("first Tuesday in March and September at noon", "America/New_York")
    assert same.rrule == cadence.rrule


@pytest.mark.parametrize(
    ("text", "rrule_body"),
    [
        ("1st tuesday of the month at noon", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("Second Wednesday monthly at 2pm", "FREQ=MONTHLY;BYDAY=+2WE"),
        ("3rd thursday, every 3 months, at 14:00", "FREQ=MONTHLY;INTERVAL=3;BYDAY=+3TH"),
        ("4th Monday of every other month at 10am", "FREQ=MONTHLY;INTERVAL=2;BYDAY=+4MO"),
        ("first and third Tuesday of the month at noon", "FREQ=MONTHLY;BYDAY=+1TU,+3TU"),
        ("every Wednesday at noon", "FREQ=WEEKLY;BYDAY=WE"),
        ("weekdays at 8am for 15 minutes", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("every Tuesday and Thursday at 8:00", "FREQ=WEEKLY;BYDAY=TU,TH"),
        ("every 3 weeks on Friday at 16:00", "FREQ=WEEKLY;INTERVAL=3;BYDAY=FR"),
        ("the 15th of every month at 10am", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("last day of the month at 16:00", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("FIRST TUESDAY OF EVERY MONTH AT NOON", "FREQ=MONTHLY;BYDAY=+1TU"),
    ],
)
def test_phrases(text: str, rrule_body: str) -> None:
    assert parse_cadence(text, "UTC").rrule == rrule_body


def test_fifth_tuesday_is_allowed_and_skips_short_months() -> None:
    cadence = parse_cadence("fifth Tuesday of every month at noon", "UTC")
    assert [o.start.date() for o in cadence.between(JAN_2026, datetime(2027, 1, 1, tzinfo=UTC))] == [
        date(2026, 3, 31),
        date(2026, 6, 30),
        date(2026, 9, 29),
        date(2026, 12, 29),
    ]


@pytest.mark.parametrize(
    ("text", "start", "minutes"),
    [
        ("first Tuesday 12:00 to 13:00", time(12), 60),
        ("first Tuesday 12:00-13:00", time(12), 60),
        ("first Tuesday 9:30am–10:15am", time(9, 30), 45),
        ("first Tuesday 12-1pm", time(12), 60),
        ("first Tuesday 11-1pm", time(11), 120),
        ("first Tuesday at noon", time(12), 60),
        ("first Tuesday at 2pm", time(14), 60),
        ("first Tuesday at 2 p.m.", time(14), 60),
        ("first Tuesday 2:30pm for 90 minutes", time(14, 30), 90),
        ("first Tuesday at 12:00 for 1 hour", time(12), 60),
        ("first Tuesday at 12:00 for 1.5 hours", time(12), 90),
        ("first Tuesday at 12:00 for half an hour", time(12), 30),
        ("first Tuesday at 12 for 2 hours", time(12), 120),
    ],
)
def test_times(text: str, start: time, minutes: int) -> None:
    cadence = parse_cadence(text, "UTC")
    assert (cadence.start, cadence.duration) == (start, timedelta(minutes=minutes))


# --- zones ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "zone"),
    [
        ("Eastern", "America/New_York"),
        ("ET", "America/New_York"),
        ("Central", "America/Chicago"),
        ("CT", "America/Chicago"),
        ("Mountain", "America/Denver"),
        ("MT", "America/Denver"),
        ("Pacific", "America/Los_Angeles"),
        ("PT", "America/Los_Angeles"),
        ("UK", "Europe/London"),
        ("Europe/London", "Europe/London"),
        ("america/new_york", "America/New_York"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_zone_names_and_abbreviations(word: str, zone: str) -> None:
    assert parse_cadence(f"first Tuesday at noon {word}", "UTC").tz == zone
    assert parse_cadence(f"first Tuesday of every month, {word}, 12:00 to 13:00", "UTC").tz == zone


def test_default_zone_is_used_when_none_is_given() -> None:
    cadence = parse_cadence("first Tuesday of every month at noon", "America/Denver")
    assert cadence.tz == "America/Denver"
    assert local(cadence.occurrences(JAN_2026, 1)[0], DENVER).time() == time(12)


# --- raw RRULE --------------------------------------------------------------------------------------------


def test_raw_rrule_with_time_and_zone() -> None:
    cadence = parse_cadence("RRULE:FREQ=MONTHLY;BYDAY=1TU at 12:00 for 60 minutes America/New_York", "UTC")
    assert cadence == parse_cadence(EXAMPLE, "UTC")
    assert parse_cadence("rrule:freq=monthly;byday=1tu at noon", "America/New_York") == cadence


def test_raw_rrule_count_and_until() -> None:
    counted = parse_cadence("RRULE:FREQ=MONTHLY;BYDAY=1TU;COUNT=3 at noon", "UTC", anchor=date(2026, 1, 1))
    assert [o.start.date() for o in counted.occurrences(JAN_2026, 10)] == [
        date(2026, 1, 6),
        date(2026, 2, 3),
        date(2026, 3, 3),
    ]
    until = parse_cadence("RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260119T000000Z at 9am", "UTC")
    assert until.rrule == "FREQ=WEEKLY;UNTIL=20260119T235959;BYDAY=MO"  # UNTIL is an inclusive local date
    assert [o.start.date() for o in until.occurrences(JAN_2026, 10)] == [
        date(2026, 1, 5),
        date(2026, 1, 12),
        date(2026, 1, 19),
    ]


def test_storage_text_is_accepted_by_parse_cadence() -> None:
    cadence = parse_cadence(EXAMPLE, "UTC")
    assert parse_cadence(cadence.to_text(), "Europe/London") == cadence


# --- storage and description ------------------------------------------------------------------------------

ROUND_TRIP = [
    EXAMPLE,
    "last Friday of the month 3pm-4:30pm Pacific",
    "every other Thursday at 9:30am for 45 minutes UK",
    "first Tuesday, twice a year in March and September, 12:00 to 13:00",
    "weekdays at 8am for 15 minutes",
    "third Thursday every 3 months at 14:00 Central",
    "every Tuesday at 20:00 for 6 hours",
    "the 15th of every month at 10am",
    "March 15 at noon",
    "every other Thursday at noon starting 2026-01-15",
    "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1 at 17:00",
    "RRULE:FREQ=MONTHLY;BYDAY=1TU;COUNT=6 at 10am",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_to_text_from_text_round_trip(text: str) -> None:
    cadence = parse_cadence(text, "America/New_York")
    stored = cadence.to_text()
    assert Cadence.from_text(stored) == cadence
    assert Cadence.from_text(stored).occurrences(JAN_2026, 5) == cadence.occurrences(JAN_2026, 5)


def test_to_text_format() -> None:
    assert parse_cadence(EXAMPLE, "UTC").to_text() == (
        "RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=America/New_York;START=12:00;DURATION=60;ANCHOR=2024-01-01"
    )
    assert Cadence.from_text("RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=America/New_York;START=12:00;DURATION=60") == (
        parse_cadence(EXAMPLE, "UTC")
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "RRULE:FREQ=MONTHLY;BYDAY=+1TU",
        "RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=UTC;START=25:00;DURATION=60",
        "RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=UTC;START=12:00;DURATION=x",
        "RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=Mars/Olympus;START=12:00;DURATION=60",
    ],
)
def test_from_text_rejects_damaged_storage(bad: str) -> None:
    with pytest.raises(CadenceError):
        Cadence.from_text(bad)


@pytest.mark.parametrize(
    ("text", "described"),
    [
        (EXAMPLE, "first Tuesday of every month, 12:00–13:00 America/New_York"),
        (
            "last Friday of the month 3pm-4:30pm Pacific",
            "last Friday of every month, 15:00–16:30 America/Los_Angeles",
        ),
        (
            "every other Thursday at 9:30am for 45 minutes UK",
            "every other Thursday, 09:30–10:15 Europe/London",
        ),
        (
            "first Tuesday twice a year in March and September at noon ET",
            "first Tuesday of March and September, 12:00–13:00 America/New_York",
        ),
        ("weekdays at 8am for 15 minutes", "every weekday, 08:00–08:15 UTC"),
        (
            "first and third Tuesday of every other month at noon",
            "first and third Tuesday of every other month, 12:00–13:00 UTC",
        ),
        ("every 3 weeks on Friday at 16:00", "every 3 weeks on Friday, 16:00–17:00 UTC"),
        ("every Tuesday at 20:00 for 6 hours", "every Tuesday, 20:00 for 360 minutes UTC"),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1 at 17:00",
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1, 17:00–18:00 UTC",
        ),
    ],
)
def test_describe(text: str, described: str) -> None:
    assert parse_cadence(text, "UTC").describe() == described


@pytest.mark.parametrize("text", [t for t in ROUND_TRIP if "COUNT" not in t])
def test_describe_reads_back_as_the_same_cadence(text: str) -> None:
    cadence = parse_cadence(text, "America/New_York")
    assert parse_cadence(cadence.describe(), "UTC", anchor=cadence.anchor) == cadence


def test_cadence_built_directly_is_canonicalised_and_checked() -> None:
    cadence = Cadence("RRULE:FREQ=MONTHLY;BYDAY=1TU", time(12), timedelta(hours=1), "america/new_york")
    assert (cadence.rrule, cadence.tz) == ("FREQ=MONTHLY;BYDAY=+1TU", "America/New_York")
    with pytest.raises(CadenceError):
        Cadence("FREQ=MONTHLY;BYDAY=1TU", time(12), timedelta(hours=13), "UTC")


# --- occurrences and between edges -----------------------------------------------------------------------


def test_occurrences_are_strictly_after_and_between_is_half_open() -> None:
    cadence = parse_cadence(EXAMPLE, "UTC")
    first = cadence.occurrences(JAN_2026, 1)[0]
    assert first.start == datetime(2026, 1, 6, 17, tzinfo=UTC)
    assert cadence.occurrences(first.start, 1)[0].start == datetime(2026, 2, 3, 17, tzinfo=UTC)
    assert cadence.occurrences(first.start - timedelta(seconds=1), 1) == [first]
    assert cadence.between(first.start, first.start + timedelta(seconds=1)) == [first]
    assert cadence.between(first.start - timedelta(hours=1), first.start) == []
    assert cadence.occurrences(JAN_2026, 0) == [] and cadence.between(JAN_2026, JAN_2026) == []


def test_naive_datetimes_are_refused() -> None:
    cadence = parse_cadence(EXAMPLE, "UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        cadence.occurrences(datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        format_local(datetime(2026, 1, 1), "UTC")


# --- errors -----------------------------------------------------------------------------------------------

ERRORS = [
    ("fist tuesday of every month at noon", "'fist'"),
    ("thirty-second Monday of every month at noon", "thirty-second"),
    ("32nd Monday of the month at noon", "no 32nd Monday"),
    ("February 30 at noon", "never occurs in February"),
    ("RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 at noon", "never occurs in February"),
    ("RRULE:FREQ=MONTHLY;BYDAY=+6TU at noon", "no 6th Tuesday"),
    ("first Tuesday at noon Mars/Olympus", "'Mars/Olympus'"),
    ("first Tuesday 13:00 to 12:00", "not after the start"),
    ("first Tuesday 12:00 to 12:00", "not after the start"),
    ("first Tuesday at noon for 0 minutes", "12 hours"),
    ("first Tuesday at 8am for 13 hours", "12 hours"),
    ("first Tuesday of every month at noon " + "and " * 70, "too long"),
    ("first Tuesday of every month", "no start time"),
    ("first Tuesday at 25:00", "not a valid time"),
    ("first Tuesday at 13pm", "not a valid time"),
    ("first Tuesday at noon at 2pm", "more than one start time"),
    ("first Tuesday 12:00 to 13:00 for 30 minutes", "one time range"),
    ("first Tuesday at noon America/New_York Europe/London", "more than one time zone"),
    ("every month at noon", "say which day"),
    ("first Tuesday twice a year at noon", "number of times"),
    ("every other Thursday of the year at noon", "do not fit"),
    ("", "empty"),
    ("RRULE:FREQ=HOURLY at noon", "too frequent"),
    ("RRULE:FREQ=MINUTELY;INTERVAL=30 at noon", "too frequent"),
    ("RRULE:FREQ=SECONDLY at noon", "too frequent"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1XX at noon", "BYDAY"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1TU;FOO=1 at noon", "FOO"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9 at noon", "BYHOUR"),
    ("RRULE:FREQ=MONTHLY;INTERVAL=0;BYDAY=1TU at noon", "INTERVAL"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1TU;COUNT=3;UNTIL=20300101 at noon", "COUNT or UNTIL"),
    ("RRULE:FREQ=WEEKLY;BYDAY=1TU at noon", "MONTHLY or YEARLY"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1TU at noon sharp", "'sharp'"),
    ("RRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=+5MO at noon", "five years"),  # next in 2044
    ("RRULE:FREQ=MONTHLY;BYDAY=1TU;UNTIL=20231231 at noon", "five years"),
]


@pytest.mark.parametrize(("text", "fragment"), ERRORS)
def test_errors_name_the_problem_and_show_an_example(text: str, fragment: str) -> None:
    with pytest.raises(CadenceError) as caught:
        parse_cadence(text, "America/New_York")
    message = str(caught.value)
    assert fragment in message
    assert EXAMPLE in message and "RRULE:FREQ=MONTHLY;BYDAY=1TU" in message
    assert isinstance(caught.value, ValueError)


def test_text_longer_than_300_characters_is_refused() -> None:
    assert len(parse_cadence("first Tuesday at noon" + " " * 278, "UTC").rrule) > 0  # 299 characters
    with pytest.raises(CadenceError, match="too long"):
        parse_cadence("first Tuesday at noon" + " " * 280, "UTC")


def test_unknown_default_zone_and_five_year_window_from_anchor() -> None:
    with pytest.raises(CadenceError, match="Mars/Olympus") as caught:
        parse_cadence("first Tuesday at noon", "Mars/Olympus")
    assert EXAMPLE in str(caught.value)
    with pytest.raises(CadenceError, match="five years from 2030-01-01"):
        parse_cadence("RRULE:FREQ=MONTHLY;BYDAY=1TU;UNTIL=20291231 at noon", "UTC", anchor=date(2030, 1, 1))


# --- holidays ---------------------------------------------------------------------------------------------


def test_first_monday_of_september_hits_labor_day() -> None:
    cadence = parse_cadence("first Monday of every month at noon Eastern", "UTC")
    hits = holiday_conflicts(cadence, JAN_2026, 12)
    assert [(local(o, NY).date(), name) for o, name in hits] == [(date(2026, 9, 7), "Labor Day")]


def test_second_monday_of_october_hits_columbus_day() -> None:
    cadence = parse_cadence("second Monday of the month at 10am ET", "UTC")
    hits = holiday_conflicts(cadence, JAN_2026, 12, country="US")
    [(occ, name)] = hits
    assert local(occ, NY).date() == date(2026, 10, 12)
    assert "Columbus" in name or "Indigenous" in name


def test_gb_last_monday_of_may_hits_spring_bank_holiday() -> None:
    cadence = parse_cadence("last Monday of the month at 12:00 UK", "UTC")
    hits = holiday_conflicts(cadence, JAN_2026, 12, country="GB")
    assert [(local(o, LONDON).date(), name) for o, name in hits] == [
        (date(2026, 5, 25), "Spring Bank Holiday"),
        (date(2026, 12, 28), "Boxing Day (observed)"),
    ]
    in_england = holiday_conflicts(cadence, JAN_2026, 12, country="gb", subdiv="ENG")
    assert [name for _, name in in_england] == [
        "Spring Bank Holiday",
        "Late Summer Bank Holiday",
        "Boxing Day (observed)",
    ]


def test_holiday_uses_the_local_date_and_subdivisions() -> None:
    christmas_evening = parse_cadence("December 25 at 20:00 Pacific", "UTC")  # 04:00 UTC on the 26th
    [(occ, name)] = holiday_conflicts(christmas_evening, JAN_2026, 1)
    assert occ.start.date() == date(2026, 12, 26) and name == "Christmas Day"
    boxing_day = parse_cadence("December 26 at 10:00", "Europe/London")
    assert holiday_conflicts(boxing_day, JAN_2026, 1, country="GB", subdiv="ENG")[0][1] == "Boxing Day"
    assert holiday_conflicts(parse_cadence(EXAMPLE, "UTC"), JAN_2026, 12) == []


@pytest.mark.parametrize(("country", "subdiv"), [("XX", None), ("Narnia", None), ("US", "ZZ")])
def test_unknown_country_or_subdivision(country: str, subdiv: str | None) -> None:
    with pytest.raises(CadenceError, match='"US", "GB" or "CA"'):
        holiday_conflicts(parse_cadence(EXAMPLE, "UTC"), JAN_2026, 3, country=country, subdiv=subdiv)


# --- format_local -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "zone", "shown"),
    [
        (datetime(2026, 3, 3, 17, 0, tzinfo=UTC), "America/New_York", "Tue 3 Mar 2026, 12:00 EST"),
        (datetime(2026, 7, 7, 16, 0, tzinfo=UTC), "America/New_York", "Tue 7 Jul 2026, 12:00 EDT"),
        (datetime(2026, 1, 6, 12, 0, tzinfo=UTC), "Europe/London", "Tue 6 Jan 2026, 12:00 GMT"),
        (datetime(2026, 7, 7, 11, 0, tzinfo=UTC), "Europe/London", "Tue 7 Jul 2026, 12:00 BST"),
        (datetime(2026, 3, 3, 17, 0, tzinfo=UTC), "america/los_angeles", "Tue 3 Mar 2026, 09:00 PST"),
    ],
)
def test_format_local(utc: datetime, zone: str, shown: str) -> None:
    assert format_local(utc, zone) == shown


def test_format_local_shows_each_member_their_own_zone() -> None:
    occ = parse_cadence(EXAMPLE, "UTC").occurrences(JAN_2026, 1)[0]
    assert [format_local(occ.start, z) for z in ("America/New_York", "America/Chicago", "Europe/London")] == [
        "Tue 6 Jan 2026, 12:00 EST",
        "Tue 6 Jan 2026, 11:00 CST",
        "Tue 6 Jan 2026, 17:00 GMT",
    ]
    with pytest.raises(CadenceError, match="Mars/Olympus"):
        format_local(occ.start, "Mars/Olympus")
