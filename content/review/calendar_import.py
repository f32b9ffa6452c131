"""Election dates from a calendar file (.ics) on the web: each event's start day is an election day."""

from __future__ import annotations

from datetime import date, datetime

import aiohttp
from icalendar import Calendar

from bot.errors import CommandError

MAX_BYTES = 1_000_000
TIMEOUT = aiohttp.ClientTimeout(total=20)


def parse_elections(data: bytes, jurisdiction: str) -> list[tuple[str, date, str]]:
    """(jurisdiction, day, note) for each event: the jurisdiction given, else the event's LOCATION."""
    try:
        cal = Calendar.from_ical(data)
    except ValueError as e:
        raise CommandError(f"That file is not a calendar (.ics) copbot can read: {str(e)[:120]}") from None
    found: list[tuple[str, date, str]] = []
    for event in cal.walk("VEVENT"):
        start = event.get("DTSTART")
        if start is None:
            continue
        day = start.dt.date() if isinstance(start.dt, datetime) else start.dt
        where = jurisdiction.strip() or str(event.get("LOCATION", "")).strip()
        if not where:
            raise CommandError(
                f"The event on {day} names no place: give the jurisdiction, e.g. --jurisdiction Ohio"
            )
        found.append((where[:200], day, str(event.get("SUMMARY", ""))[:200]))
    if not found:
        raise CommandError("That calendar has no events with a date; nothing was imported.")
    return sorted(set(found))


async def fetch_elections(url: str, jurisdiction: str) -> list[tuple[str, date, str]]:
    if not url.startswith(("https://", "http://")):
        raise CommandError(
            f"{url[:80]!r} is not a web address. Example: review election import "
            "https://elections.example.gov/2027.ics --jurisdiction Ohio"
        )
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as response:
            if response.status != 200:
                raise CommandError(
                    f"The calendar could not be fetched: the server answered {response.status}."
                )
            data = await response.content.read(MAX_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as e:
        raise CommandError(f"The calendar could not be fetched ({type(e).__name__}).") from None
    if len(data) > MAX_BYTES:
        raise CommandError("That calendar file is larger than 1 MB; nothing was imported.")
    return parse_elections(data, jurisdiction)
