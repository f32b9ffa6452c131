"""The .ics files we hand out, read back with icalendar itself."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar, Event

from scheduling.time.calendar_files import CalendarEvent, event_ics, feed_ics, stable_uid

UTC = UTC
CHICAGO, LONDON = "America/Chicago", "Europe/London"
TRICKY = (
    "Agenda: data, AI; budgets\nBring: one example; two questions, at most.\n"
    "Backslash \\ and ünïcode " + "x" * 80
)


def _event(object_id: int, start: datetime, tz: str, **changes: object) -> CalendarEvent:
    base = CalendarEvent(
        uid=stable_uid("convening", object_id),
        sequence=0,
        title="Data leaders: monthly convening",
        description="Open discussion.",
        start=start,
        end=start + timedelta(minutes=90),
        tz=tz,
        location="https://meet.example.org/cdo",
        updated=datetime(2027, 3, 1, 12, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _read(ics: bytes) -> tuple[Calendar, list[Event]]:
    cal = Calendar.from_ical(ics)
    return cal, list(cal.walk("VEVENT"))


def _utc(event: Event, name: str) -> datetime:
    return event.decoded(name).astimezone(UTC)


def _by_vtimezone(cal: Calendar, event: Event, name: str) -> datetime:
    """The instant as computed from the file's own VTIMEZONE, not the reader's zone database."""
    prop = event[name]
    (vtz,) = [tz for tz in cal.walk("VTIMEZONE") if tz.tz_name == prop.params["TZID"]]
    return prop.dt.replace(tzinfo=None).replace(tzinfo=vtz.to_tz(lookup_tzid=False)).astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "tz", "local"),
    [
        (datetime(2027, 3, 7, 16, tzinfo=UTC), CHICAGO, "20270307T100000"),  # CST, before the change
        (datetime(2027, 3, 14, 15, tzinfo=UTC), CHICAGO, "20270314T100000"),  # CDT, the day of the change
        (datetime(2027, 11, 7, 6, 30, tzinfo=UTC), CHICAGO, "20271107T013000"),  # the first 01:30 (CDT)
        (datetime(2027, 3, 27, 10, tzinfo=UTC), LONDON, "20270327T100000"),  # GMT
        (datetime(2027, 3, 28, 9, tzinfo=UTC), LONDON, "20270328T100000"),  # BST
    ],
)
def test_start_and_end_round_trip_to_the_stored_instants(start: datetime, tz: str, local: str) -> None:
    event = _event(12, start, tz)
    ics = event_ics(event)
    assert f"DTSTART;TZID={tz}:{local}".encode() in ics
    cal, (vevent,) = _read(ics)
    assert _utc(vevent, "DTSTART") == event.start and _utc(vevent, "DTEND") == event.end
    assert _by_vtimezone(cal, vevent, "DTSTART") == event.start
    assert _by_vtimezone(cal, vevent, "DTEND") == event.end


def test_the_second_time_in_a_fold_is_written_in_utc() -> None:
    # 01:30 CST on 7 November 2027 (07:30 UTC) would read back as the first 01:30 (CDT) if written with TZID.
    event = _event(12, datetime(2027, 11, 7, 7, 30, tzinfo=UTC), CHICAGO)
    ics = event_ics(event)
    assert b"DTSTART:20271107T073000Z" in ics and b"DTEND;TZID=America/Chicago:20271107T030000" in ics
    cal, (vevent,) = _read(ics)
    assert _utc(vevent, "DTSTART") == event.start and _utc(vevent, "DTEND") == event.end
    assert [tz.tz_name for tz in cal.walk("VTIMEZONE")] == [CHICAGO]


def test_a_single_event_file_is_a_complete_calendar() -> None:
    event = _event(
        12,
        datetime(2027, 3, 14, 15, tzinfo=UTC),
        CHICAGO,
        url="https://copbot.example/c/12",
        organizer_name="Dana Díaz, CDO",
    )
    ics = event_ics(event)
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and ics.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))  # folded as RFC 5545 asks
    cal, (vevent,) = _read(ics)
    assert (str(cal["PRODID"]), str(cal["VERSION"]), str(cal["CALSCALE"]), str(cal["METHOD"])) == (
        "-//copbot//convenings//EN",
        "2.0",
        "GREGORIAN",
        "PUBLISH",
    )
    assert [tz.tz_name for tz in cal.walk("VTIMEZONE")] == [CHICAGO]
    assert ics.index(b"BEGIN:VTIMEZONE") < ics.index(b"BEGIN:VEVENT")
    assert str(vevent["UID"]) == "convening-12@copbot.local" and vevent.decoded("SEQUENCE") == 0
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["LOCATION"]) == "https://meet.example.org/cdo" and str(vevent["URL"]) == event.url
    assert vevent["ORGANIZER"].params["CN"] == "Dana Díaz, CDO"
    assert _utc(vevent, "DTSTAMP") == _utc(vevent, "LAST-MODIFIED") == event.updated
    assert b"DTSTAMP:20270301T120000Z" in ics


def test_a_change_keeps_the_uid_and_raises_the_sequence() -> None:
    first = _event(12, datetime(2027, 3, 14, 15, tzinfo=UTC), CHICAGO)
    moved = replace(
        first,
        sequence=1,
        start=first.start + timedelta(days=1),
        end=first.end + timedelta(days=1),
        updated=datetime(2027, 3, 5, 9, tzinfo=UTC),
    )
    (_, (a,)), (_, (b,)) = _read(event_ics(first)), _read(event_ics(moved))
    assert str(a["UID"]) == str(b["UID"]) == stable_uid("convening", 12)
    assert b.decoded("SEQUENCE") > a.decoded("SEQUENCE")
    assert _utc(b, "DTSTART") == datetime(2027, 3, 15, 15, tzinfo=UTC)
    assert _utc(b, "DTSTAMP") > _utc(a, "DTSTAMP")


def test_a_cancellation_is_method_cancel_with_the_same_uid_and_a_higher_sequence() -> None:
    event = _event(12, datetime(2027, 3, 14, 15, tzinfo=UTC), CHICAGO, sequence=2)
    cancelled = replace(event, sequence=3, status="CANCELLED", updated=datetime(2027, 3, 10, tzinfo=UTC))
    ics = event_ics(cancelled)
    assert b"METHOD:CANCEL\r\n" in ics and b"STATUS:CANCELLED\r\n" in ics
    cal, (vevent,) = _read(ics)
    (_, (original,)) = _read(event_ics(event))
    assert str(cal["METHOD"]) == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
    assert str(vevent["UID"]) == str(original["UID"])
    assert vevent.decoded("SEQUENCE") == 3 > original.decoded("SEQUENCE")
    assert _utc(vevent, "DTSTART") == event.start


def test_a_feed_has_every_event_and_each_vtimezone_once() -> None:
    events = [
        _event(1, datetime(2027, 3, 7, 16, tzinfo=UTC), CHICAGO),
        _event(2, datetime(2027, 3, 14, 15, tzinfo=UTC), CHICAGO, status="CANCELLED", sequence=1),
        _event(3, datetime(2027, 3, 28, 9, tzinfo=UTC), LONDON),
    ]
    ics = feed_ics("Chief Data Officers, convenings", list(reversed(events)))
    cal, vevents = _read(ics)
    assert str(cal["X-WR-CALNAME"]) == "Chief Data Officers, convenings" and str(cal["METHOD"]) == "PUBLISH"
    assert Counter(tz.tz_name for tz in cal.walk("VTIMEZONE")) == {CHICAGO: 1, LONDON: 1}
    assert ics.count(b"BEGIN:VTIMEZONE") == 2
    assert [str(v["UID"]) for v in vevents] == [e.uid for e in events]  # in start order
    assert [str(v["STATUS"]) for v in vevents] == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    for vevent, event in zip(vevents, events):
        assert _utc(vevent, "DTSTART") == event.start and _utc(vevent, "DTEND") == event.end
        assert _by_vtimezone(cal, vevent, "DTSTART") == event.start


def test_a_feed_across_years_covers_each_year_and_an_empty_feed_is_valid() -> None:
    events = [
        _event(1, datetime(2027, 12, 14, 16, tzinfo=UTC), CHICAGO),
        _event(2, datetime(2029, 7, 10, 15, tzinfo=UTC), CHICAGO),
    ]
    cal, vevents = _read(feed_ics("Network", events))
    assert all(_by_vtimezone(cal, v, "DTSTART") == e.start for v, e in zip(vevents, events))
    empty, none = _read(feed_ics("Network", []))
    assert none == [] and not empty.walk("VTIMEZONE") and str(empty["X-WR-CALNAME"]) == "Network"


def test_text_with_commas_semicolons_and_newlines_round_trips() -> None:
    event = _event(
        7,
        datetime(2027, 3, 14, 15, tzinfo=UTC),
        CHICAGO,
        description=TRICKY,
        title="Budgets; data, and AI",
        location="Room 4, Level 2; City Hall",
    )
    for ics in (event_ics(event), feed_ics("Network", [event])):
        _, (vevent,) = _read(ics)
        assert str(vevent["DESCRIPTION"]) == TRICKY
        assert str(vevent["SUMMARY"]) == "Budgets; data, and AI"
        assert str(vevent["LOCATION"]) == "Room 4, Level 2; City Hall"
    assert b"Budgets\\; data\\, and AI" in event_ics(event)


def test_stable_uid() -> None:
    assert stable_uid("convening", 12) == "convening-12@copbot.local"
    assert stable_uid("forum", 3, "cop.example.org") == "forum-3@cop.example.org"
    assert stable_uid("convening", 12) == stable_uid("convening", 12)
    for bad in (("", 1), ("has space", 1), ("convening", -1)):
        with pytest.raises(ValueError, match="stable_uid"):
            stable_uid(*bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        stable_uid("convening", 1, "bad domain")


def test_events_are_checked_when_made() -> None:
    start = datetime(2027, 3, 14, 15, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        _event(1, datetime(2027, 3, 14, 15), CHICAGO)
    with pytest.raises(ValueError, match="not after start"):
        _event(1, start, CHICAGO, end=start)
    with pytest.raises(ValueError, match="status"):
        _event(1, start, CHICAGO, status="TENTATIVE")
    with pytest.raises(ValueError, match="IANA"):
        _event(1, start, "Central")
    with pytest.raises(ValueError, match="repeated UID"):
        feed_ics("Network", [_event(1, start, CHICAGO), _event(1, start, CHICAGO, sequence=1)])
