"""iCalendar (.ics) files for convenings: one event to download, or a feed to subscribe to.

Pure functions (no database or I/O) built on the icalendar library, which escapes text, folds lines and
writes the VTIMEZONE components (`Calendar.add_missing_timezones`, which uses `Timezone.from_tzid` and
the zoneinfo database: no DST rules are written by hand here). DTSTART/DTEND carry the organiser's zone
as TZID, so a calendar shows "10:00 America/Chicago" and moves it correctly for readers elsewhere.

An update to an event keeps its UID and raises SEQUENCE; a cancellation is the same UID with a higher
SEQUENCE, STATUS:CANCELLED and, as a single file, METHOD:CANCEL (RFC 5546). ORGANIZER is a calendar
address, which we do not have for members: when an organiser's name is given it is written as
ORGANIZER;CN=<name>:mailto:noreply@<the UID's domain>.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vDuration

from bot import zones

PRODID = "-//copbot//convenings//EN"
STATUSES = ("CONFIRMED", "CANCELLED")
REFRESH = timedelta(hours=1)  # how often a subscribed client should re-read a feed (a hint)
_KIND_RE = re.compile(r"[a-z][a-z0-9_-]*")
_DOMAIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _aware(dt: datetime, what: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {dt!r}")


@dataclass(frozen=True, kw_only=True)
class CalendarEvent:
    """One convening as a calendar entry; instants are aware (stored in UTC), `tz` is the organiser's zone."""

    uid: str
    sequence: int
    title: str
    description: str
    start: datetime
    end: datetime
    tz: str
    location: str
    updated: datetime
    url: str | None = None
    status: str = "CONFIRMED"
    organizer_name: str | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end", "updated"):
            _aware(getattr(self, name), name)
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.sequence < 0:
            raise ValueError(f"sequence must be 0 or more, not {self.sequence}")
        if not self.uid or any(c.isspace() for c in self.uid):
            raise ValueError(f"uid must be non-empty without spaces, e.g. {stable_uid('convening', 12)!r}")
        if zones.canonical(self.tz) != self.tz:
            raise ValueError(f"tz must be an IANA zone name such as 'America/Chicago', not {self.tz!r}")

    @property
    def cancelled(self) -> bool:
        """True when the event has been called off."""
        return self.status == "CANCELLED"


def stable_uid(kind: str, object_id: int, domain: str = "copbot.local") -> str:
    """A UID that stays the same across edits of one object, e.g. 'convening-12@copbot.local'."""
    if not _KIND_RE.fullmatch(kind) or object_id < 0 or not _DOMAIN_RE.fullmatch(domain):
        raise ValueError(
            f"expected a lowercase kind, an id >= 0 and a domain, as in "
            f"stable_uid('convening', 12, 'copbot.local'); "
            f"got {kind!r}, {object_id}, {domain!r}"
        )
    return f"{kind}-{object_id}@{domain}"


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    """`instant` on the zone's wall clock (written with TZID), or in UTC when that wall-clock time is the
    second of the two in a DST fold: RFC 5545 reads an ambiguous local time as the first occurrence."""
    local = instant.astimezone(zone)
    ambiguous_second = local.replace(fold=0).utcoffset() != local.utcoffset()
    return instant.astimezone(UTC) if ambiguous_second else local


def _calendar(method: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    return cal


def _vevent(event: CalendarEvent) -> Event:
    zone, updated = ZoneInfo(event.tz), event.updated.astimezone(UTC)
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", updated)
    vevent.add("last-modified", updated)
    vevent.add("dtstart", _local(event.start, zone))
    vevent.add("dtend", _local(event.end, zone))
    vevent.add("summary", event.title)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    if event.url:
        vevent.add("url", event.url)
    if event.organizer_name:
        organizer = vCalAddress(f"mailto:noreply@{event.uid.rpartition('@')[2] or 'copbot.local'}")
        organizer.params["CN"] = event.organizer_name
        vevent.add("organizer", organizer)
    vevent.add("status", event.status)
    vevent.add("transp", "TRANSPARENT" if event.cancelled else "OPAQUE")
    return vevent


def _finish(cal: Calendar, events: Iterable[CalendarEvent]) -> bytes:
    """Add each event and one VTIMEZONE per zone used, covering the whole years the events fall in."""
    events = list(events)
    for event in events:
        cal.add_component(_vevent(event))
    if events:
        first = min(e.start.astimezone(ZoneInfo(e.tz)).year for e in events)
        last = max(e.end.astimezone(ZoneInfo(e.tz)).year for e in events)
        cal.add_missing_timezones(first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1))
    return cal.to_ical()


def event_ics(event: CalendarEvent) -> bytes:
    """A complete .ics for one event: METHOD:PUBLISH, or METHOD:CANCEL when the event is cancelled."""
    return _finish(_calendar("CANCEL" if event.cancelled else "PUBLISH"), [event])


def feed_ics(name: str, events: list[CalendarEvent]) -> bytes:
    """A subscribable calendar named `name` with every event (cancelled ones as STATUS:CANCELLED)."""
    if not name.strip():
        raise ValueError("a feed needs a name, e.g. 'Chief Data Officers network convenings'")
    if len(uids := [e.uid for e in events]) != len(set(uids)):
        dupes = sorted({u for u in uids if uids.count(u) > 1})
        raise ValueError(f"a feed holds one version of each event; repeated UID {dupes[0]!r}")
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    return _finish(cal, sorted(events, key=lambda e: (e.start, e.uid)))
