"""Read a one-off meeting start ("next Tuesday 2pm Central") and a length ("1h30") typed by a person.

Pure functions (no database, scheduler or I/O). `parse_start` returns an aware UTC datetime:
- ISO text ("2027-03-14 10:00", "2027-03-14T10:00+01:00") is read by `datetime.fromisoformat`; anything
  else by dateparser, relative to `now` as seen in the meeting's zone, preferring future dates.
- The zone is an IANA name in the text ("Europe/London"), a US word or abbreviation ("Central", "CT",
  "CDT", "Eastern", "PT" ...), or else `default_tz`. A US abbreviation names the region, not the offset:
  "10:00 EST" in July is 10:00 New York time (EDT). A numeric offset ("+01:00", "Z") or another
  abbreviation dateparser knows ("CET") is taken as the fixed offset it names.
- The wall-clock time is placed in the zone with zoneinfo, so DST is right for that date. A time that
  does not exist (in the spring-forward gap) is refused with the time to use instead; a time that occurs
  twice (in the autumn fold, e.g. 01:30 on the November change in New York) is read as the FIRST
  occurrence (fold=0, still on summer time).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import dateparser
from dateutil.relativedelta import relativedelta

from bot import zones
from scheduling.time.cadence import ZONE_ALIASES

MAX_TEXT = 100
HORIZON = relativedelta(years=3)
MIN_DURATION, MAX_DURATION = timedelta(minutes=5), timedelta(hours=12)
DURATION_EXAMPLE = '"90 minutes", "1h30" or "45m"'
ZONE_WORDS: dict[str, str] = ZONE_ALIASES | {
    "alaska": "America/Anchorage",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "hst": "Pacific/Honolulu",
    "arizona": "America/Phoenix",
}

_IANA_RE = re.compile(r"(?<![\w/])([A-Za-z][A-Za-z_\-]*(?:/[A-Za-z0-9_+\-]+)+)(?![\w/])")
_WORD_RE = re.compile(
    r"(?<![\w/])("
    + "|".join(sorted(map(re.escape, ZONE_WORDS), key=len, reverse=True))
    + r")(?![\w/]|\s*[+-]\d)",
    re.I,
)
_ISO_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.I
)
_HAS_TIME_RE = re.compile(
    r"\d:\d{2}|\d\s*[ap]\.?m\b|\b(?:noon|midday|midnight|hours?|hrs?|minutes?|mins?)\b", re.I
)
_DURATION_RE = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*(?:hours|hour|hrs|hr|h)\s*(?:and\s*)?)?"
    r"(?:(?P<m>\d+)\s*(?P<unit>minutes|minute|mins|min|m)?)?"
)
_SETTINGS = {"PREFER_DATES_FROM": "future"}


class WhenError(ValueError):
    """A start time or duration that cannot be read or used; the message names the problem and an example."""

    def __init__(self, problem: str, example: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; try {example}")


def zone_named(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA name (case-insensitive), or WhenError."""
    if (canonical := zones.canonical(name)) is None:
        raise WhenError(
            f"unknown time zone {name!r}", 'an IANA zone such as "Europe/London" or "America/Chicago"'
        )
    return ZoneInfo(canonical)


def _examples(now: datetime, zone: tzinfo) -> str:
    """Two example inputs; the dated one is a week after `now`, so it is always valid."""
    return f'"{(now.astimezone(zone) + timedelta(days=7)):%Y-%m-%d} 10:00" or "next Tuesday 2pm"'


def take_zone(text: str) -> tuple[str, ZoneInfo | None]:
    """Remove the zone named in `text` (IANA name or a US word); return (rest, zone or None)."""
    names = [m.group(1) for m in _IANA_RE.finditer(text)] + [
        ZONE_WORDS[m.group(1).lower()] for m in _WORD_RE.finditer(text)
    ]
    named = {zone_named(n).key for n in names}
    if len(named) > 1:
        raise WhenError(
            f"more than one time zone given ({', '.join(sorted(named))})",
            'one zone, as in "March 14 10:00 Europe/London" or "next Tuesday 2pm Central"',
        )
    rest = " ".join(_WORD_RE.sub(" ", _IANA_RE.sub(" ", text)).split()).strip(" ,;")
    return rest, ZoneInfo(named.pop()) if named else None


def _read(text: str, base: datetime) -> datetime | None:
    """The datetime written in `text` (naive unless an offset was given), or None."""
    if _ISO_RE.fullmatch(text):
        try:
            return datetime.fromisoformat(re.sub(r"\s+(?=[Zz+-])", "", text).upper())
        except ValueError:
            pass
    return dateparser.parse(text, languages=["en"], settings=_SETTINGS | {"RELATIVE_BASE": base})


def _localize(naive: datetime, zone: ZoneInfo, examples: str) -> datetime:
    """Wall-clock time in `zone` -> aware; refuse a time in a DST gap, take fold=0 in a fold."""
    local = naive.replace(tzinfo=zone, fold=0)
    shifted = local.astimezone(UTC).astimezone(zone)
    if shifted.replace(tzinfo=None) != naive:
        raise WhenError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks go forward then)",
            f'"{shifted:%Y-%m-%d %H:%M}" instead, or another time such as {examples}',
        )
    return local


_YMD_RE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def date_problem(text: str) -> str | None:
    """What is wrong with a year-month-day date written in `text`, in plain words; None when there is
    none (or no such date). Python's own words ("day is out of range for month") are not for members."""
    for m in _YMD_RE.finditer(text):
        year, month, day = (int(g) for g in m.groups())
        if not 1 <= month <= 12:
            return f"{m.group(0)} has no month {month}: months run from 01 to 12"
        days = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days:
            name = calendar.month_name[month]
            if month == 2 and day == 29:
                return f"February {year} has no 29th (it is not a leap year)"
            return f"{name} has no {_ordinal(day)}" if day else f"{m.group(0)} has no day 0"
    return None


def read_date(raw: str, example: str) -> date:
    """A date typed as YYYY-MM-DD; ValueError in plain words when it is not one (the command's own example
    follows it in the message a member sees)."""
    text = raw.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"{raw!r} is not a date like {example}")
    problem = date_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return date.fromisoformat(text)


def parse_start(text: str, default_tz: str, now: datetime) -> datetime:
    """Read a meeting start typed by a person as aware UTC; WhenError (with an example) if unusable.

    `now` (aware) is the base for relative phrases and the check that the start is ahead, at most three
    years. See the module docstring for zones, DST gaps and folds.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    default_zone = zone_named(default_tz)
    if len(text) > MAX_TEXT:
        raise WhenError(
            f"the start time is too long ({len(text)} characters, at most {MAX_TEXT})",
            _examples(now, default_zone),
        )
    rest, named = take_zone(text.strip())
    zone = named or default_zone
    examples = _examples(now, zone)
    if not rest:
        raise WhenError(f"no date and time in {text!r}", examples)
    if not _HAS_TIME_RE.search(rest):
        raise WhenError(f"no time of day in {text!r} (say when the meeting starts)", examples)
    if (problem := date_problem(rest)) is not None:
        raise WhenError(problem, examples)
    found = _read(rest, now.astimezone(zone).replace(tzinfo=None))
    if found is None:
        raise WhenError(f"could not read {text!r} as a date and time", examples)
    if found.tzinfo is not None and named is not None:
        raise WhenError(f"{text!r} gives both a UTC offset and a time zone", f"one of them, e.g. {examples}")
    start = (found if found.tzinfo is not None else _localize(found, zone, examples)).astimezone(UTC)
    if start < now:
        raise WhenError(
            f"{start.astimezone(zone):%Y-%m-%d %H:%M %Z} is in the past", f"a future time such as {examples}"
        )
    if start > now + HORIZON:
        raise WhenError(
            f"{start.astimezone(zone):%Y-%m-%d %H:%M %Z} is more than 3 years ahead",
            f"a nearer time such as {examples}",
        )
    return start


def parse_duration(text: str) -> timedelta:
    """Read a meeting length ("90 minutes", "1h30", "2 hours", "45m", "1.5 hours"); 5 minutes to 12 hours."""
    low = " ".join(text.lower().split())
    low = low.replace("half an hour", "30 minutes").replace("an hour", "1 hour")
    match = _DURATION_RE.fullmatch(low) if len(text) <= MAX_TEXT else None
    if not match or not (match["h"] or match["m"]) or (match["m"] and not match["unit"] and not match["h"]):
        raise WhenError(f"could not read {text[:MAX_TEXT]!r} as a length of time", DURATION_EXAMPLE)
    length = timedelta(minutes=round(float(match["h"] or 0) * 60) + int(match["m"] or 0))
    if not MIN_DURATION <= length <= MAX_DURATION:
        raise WhenError(f"a meeting lasts 5 minutes to 12 hours, not {text.strip()!r}", DURATION_EXAMPLE)
    return length
