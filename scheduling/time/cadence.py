"""Cadence rules for the open forum and peer-network meetings: parse, store, expand, describe.

Pure functions (no database, scheduler or I/O). A `Cadence` is an RFC 5545 RRULE body evaluated on LOCAL
wall-clock dates in an IANA zone, with a local start time and a duration, so 12:00 stays 12:00 local
across DST changes. Recurrence math is dateutil's; zones are zoneinfo's.

Storage (`Cadence.to_text` / `Cadence.from_text`) is one line: the canonical RRULE, then our own keys,
    RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=America/New_York;START=12:00;DURATION=60;ANCHOR=2024-01-01
DURATION is in minutes. ANCHOR is the first date the series may fall on (the RRULE's DTSTART): it fixes
the phase of INTERVAL>1 rules ("every other Thursday") and where COUNT starts counting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import rrule, rrulestr

from bot import zones
from bot.messenger import format_in_zone

EXAMPLE = "first Tuesday of every month, 12:00 to 13:00, America/New_York"
EXAMPLE_RRULE = "RRULE:FREQ=MONTHLY;BYDAY=1TU"
EPOCH = date(2024, 1, 1)  # default ANCHOR, a Monday
MAX_TEXT, MAX_DURATION, HORIZON = 300, timedelta(hours=12), timedelta(days=1827)  # horizon: five years

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
WEEKDAYS = "MO,TU,WE,TH,FR"
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
ORDINAL_NAMES = {v: k for k, v in ORDINALS.items()}
NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven".split())}
UNITS = {
    w: f
    for f, ws in {
        "WEEKLY": "week weeks weekly",
        "MONTHLY": "month months monthly",
        "YEARLY": "year years yearly annually",
    }.items()
    for w in ws.split()
}
FILLER = {"of", "the", "every", "each", "on", "in", "and", "&", "a", "an", "per", "at", "from", "time"}
ZONE_ALIASES = {
    w: z
    for z, ws in {
        "America/New_York": "eastern et est edt",
        "America/Chicago": "central ct cst cdt",
        "America/Denver": "mountain mt mst mdt",
        "America/Los_Angeles": "pacific pt pst pdt",
        "Europe/London": "uk bst",
        "UTC": "utc gmt",
    }.items()
    for w in ws.split()
}
_WEEKDAY_WORDS = {w: d for n, d in zip(DAY_NAMES, DAYS) for w in (n.lower(), n.lower() + "s", n[:3].lower())}
_WEEKDAY_WORDS |= {"tues": "TU", "weds": "WE", "thur": "TH", "thurs": "TH"}
_MONTH_WORDS = {w: i + 1 for i, n in enumerate(MONTH_NAMES) for w in (n.lower(), n[:3].lower())} | {"sept": 9}
RRULE_KEYS = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"]
EXTRA_KEYS = ["TZ", "START", "DURATION", "ANCHOR"]

_AMPM = r"(?:a\.?m\.?|p\.?m\.?)"
_T = rf"(?:12\s*noon|noon|midday|midnight|\d{{1,2}}(?::\d{{2}})?\s*{_AMPM}?)"
_RANGE_RE = re.compile(rf"(?<![\w:])(?:from\s+)?({_T})\s*(?:-|–|—|to|until|till)\s*({_T})(?![\w:])")
_SINGLE_RE = re.compile(
    rf"(?<![\w:])(?:at\s+)?(12\s*noon|noon|midday|midnight|\d{{1,2}}:\d{{2}}\s*{_AMPM}?"
    rf"|\d{{1,2}}\s*{_AMPM})(?![\w:])|(?<![\w:])at\s+(\d{{1,2}})(?![\w:])"
)
_DURATION_RE = re.compile(
    r"(?<![\w:])(?:for|lasting)\s+(\d+(?:\.\d+)?|an?|one|two|three|half\s+an?)\s*"
    r"(hours?|hrs?|h|minutes?|mins?|m)(?:\s*(?:and\s+)?(\d+)\s*(?:minutes?|mins?|m))?"
    r"(?!\w)"
)
_ZONE_RE = re.compile(r"(?<![\w/])([a-z][a-z_\-]*(?:/[a-z0-9_+\-]+)+)(?![\w/])")
_ANCHOR_RE = re.compile(r"\b(?:starting|from)\s+(?:on\s+)?(\d{4}-\d{2}-\d{2})\b")
_BYDAY_RE = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")


class CadenceError(ValueError):
    """A cadence that cannot be read or cannot happen; the message names the problem and shows a valid one."""

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        example = f'expected something like "{EXAMPLE}" or an RRULE such as "{EXAMPLE_RRULE}"'
        super().__init__(f"{problem}: {hint if hint.startswith('expected') else hint + example}")


def _unread(text: str, why: str) -> CadenceError:
    return CadenceError(f"could not read {text!r} ({why})")


@dataclass(frozen=True, order=True)
class Occurrence:
    """One meeting, as aware UTC datetimes."""

    start: datetime
    end: datetime


def _zone(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA name (case-insensitive), or CadenceError."""
    if (found := zones.canonical(name)) is None:
        raise CadenceError(f"unknown time zone {name!r}", 'use an IANA zone such as "Europe/London"; ')
    return ZoneInfo(found)


def _aware(dt: datetime, what: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {dt!r}")


def _ints(value: str, key: str, lo: int, hi: int, signed: bool = False) -> list[int]:
    try:
        nums = sorted({int(v) for v in value.split(",")})
    except ValueError:
        raise CadenceError(f"{key}={value} is not a list of numbers") from None
    if any(not lo <= abs(n) <= hi or (n < 0 and not signed) for n in nums):
        raise CadenceError(f"{key}={value} is out of range")
    return nums


def _split(body: str) -> dict[str, str]:
    """'RRULE:FREQ=...;BYDAY=...' -> {KEY: VALUE}, uppercased; duplicates rejected."""
    parts: dict[str, str] = {}
    for item in filter(None, body.strip().strip(",").upper().removeprefix("RRULE:").split(";")):
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not value or key in parts:
            raise CadenceError(f"could not read {item!r} in RRULE {body!r}")
        parts[key] = value
    return parts


def _byday(value: str) -> list[tuple[int | None, str]]:
    items = [_BYDAY_RE.fullmatch(item.strip()) for item in value.split(",")]
    if not all(items) or any(m.group(1) in ("0", "+0", "-0") for m in items if m):
        raise CadenceError(f"BYDAY={value} is not a list like 1TU, -1FR or WE")
    found = {(int(m.group(1)) if m.group(1) else None, m.group(2)) for m in items if m}
    return sorted(found, key=lambda i: (DAYS.index(i[1]), i[0] or 0))


def _canonical(parts: dict[str, str]) -> str:
    """Check RRULE parts and render them in canonical order and form (e.g. BYDAY=1TU -> BYDAY=+1TU)."""
    if unknown := sorted(set(parts) - set(RRULE_KEYS)):
        raise CadenceError(
            f"RRULE part {unknown[0]} is not supported (the time of day comes from the start "
            "time; use FREQ, INTERVAL, COUNT, UNTIL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS)"
        )
    if (freq := parts.get("FREQ", "")) in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise CadenceError(f"FREQ={freq} is too frequent for a meeting (use DAILY, WEEKLY, MONTHLY, YEARLY)")
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise CadenceError(f"an RRULE needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY, not {freq!r}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise CadenceError("an RRULE may have COUNT or UNTIL, not both")
    out = {"FREQ": freq, "INTERVAL": str(_ints(parts.get("INTERVAL", "1"), "INTERVAL", 1, 100)[0])}
    if "COUNT" in parts:
        out["COUNT"] = str(_ints(parts["COUNT"], "COUNT", 1, 10000)[0])
    try:  # UNTIL becomes an inclusive local date
        until = datetime.strptime(parts["UNTIL"][:8], "%Y%m%d") if "UNTIL" in parts else None
        out["UNTIL"] = f"{until:%Y%m%d}T235959" if until else ""
    except ValueError:
        raise CadenceError(f"UNTIL={parts['UNTIL']} is not a date like 20261231") from None
    months = _ints(parts["BYMONTH"], "BYMONTH", 1, 12) if "BYMONTH" in parts else []
    mdays = _ints(parts["BYMONTHDAY"], "BYMONTHDAY", 1, 31, signed=True) if "BYMONTHDAY" in parts else []
    days = _byday(parts["BYDAY"]) if "BYDAY" in parts else []
    if mdays and not any(abs(d) <= MONTH_DAYS[m - 1] for d in mdays for m in months or [1]):
        raise CadenceError(
            f"day {_join([str(abs(d)) for d in mdays])} never occurs in "
            f"{_join([MONTH_NAMES[m - 1] for m in months])}"
        )
    limit = 53 if freq == "YEARLY" and not months else 5
    for n, d in days:
        if n and freq in ("DAILY", "WEEKLY"):
            raise CadenceError(f"BYDAY={n:+d}{d} needs FREQ=MONTHLY or YEARLY")
        if n and abs(n) > limit:
            raise CadenceError(
                f"there is no {_nth(abs(n))} {DAY_NAMES[DAYS.index(d)]} in a "
                f"{'year' if limit == 53 else 'month'}"
            )
    if not days and not mdays and freq != "DAILY":
        raise CadenceError(f"FREQ={freq} needs BYDAY or BYMONTHDAY to say which day")
    out |= {
        "BYMONTH": ",".join(map(str, months)),
        "BYMONTHDAY": ",".join(map(str, mdays)),
        "BYDAY": ",".join(f"{n:+d}{d}" if n else d for n, d in days),
    }
    if "BYSETPOS" in parts:  # at most the days one period holds: BYDAY=MO..FR has 23 a month, +1TU one
        size = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}[freq]
        size = min(size, sum(1 if n else 5 for n, _ in days) or size) if freq == "MONTHLY" else size
        out["BYSETPOS"] = ",".join(map(str, _ints(parts["BYSETPOS"], "BYSETPOS", 1, size, signed=True)))
    if (wkst := parts.get("WKST", "MO")) not in DAYS:
        raise CadenceError(f"WKST={wkst} is not a weekday code like MO")
    out["WKST"] = "" if wkst == "MO" else wkst
    out["INTERVAL"] = "" if out["INTERVAL"] == "1" else out["INTERVAL"]
    return ";".join(f"{k}={out[k]}" for k in RRULE_KEYS if out.get(k))


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class Cadence:
    """A recurrence (canonical RRULE body) at a local start time, for a duration, in an IANA zone."""

    rrule: str
    start: time
    duration: timedelta
    tz: str
    anchor: date = EPOCH

    def __post_init__(self) -> None:
        object.__setattr__(self, "rrule", _canonical(_split(self.rrule)))
        object.__setattr__(self, "tz", _zone(self.tz).key)
        if self.start.tzinfo is not None or self.start.second or self.start.microsecond:
            raise CadenceError(f"start {self.start} must be a plain local time in whole minutes")
        if not timedelta(0) < self.duration <= MAX_DURATION or self.duration.total_seconds() % 60:
            raise CadenceError(
                f"a meeting lasts whole minutes, more than 0 and at most 12 hours, not {self.duration}"
            )
        first = self._rule().after(self._dtstart(), inc=True)
        if first is None or first > self._dtstart() + HORIZON:
            raise CadenceError(f"{self.describe()!r} has no date in the five years from {self.anchor}")

    def _dtstart(self) -> datetime:
        return datetime.combine(self.anchor, self.start)

    def _rule(self) -> rrule:
        return rrulestr(self.rrule, dtstart=self._dtstart())  # type: ignore[return-value]

    def _occurrence(self, local: datetime) -> Occurrence:
        start = local.replace(tzinfo=ZoneInfo(self.tz)).astimezone(UTC)
        return Occurrence(start, start + self.duration)

    def _local(self, dt: datetime, what: str) -> datetime:
        _aware(dt, what)
        return dt.astimezone(ZoneInfo(self.tz)).replace(tzinfo=None)

    def occurrences(self, after: datetime, count: int) -> list[Occurrence]:
        """The next `count` occurrences starting strictly after the aware datetime `after`."""
        found: list[Occurrence] = []
        probe = self._local(after, "after") - timedelta(days=1)
        for local in self._rule().xafter(probe) if count > 0 else ():
            if (occ := self._occurrence(local)).start > after:
                found.append(occ)
                if len(found) == count:
                    break
        return found

    def between(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences starting at or after `start` and before `end` (both aware)."""
        lo, hi = self._local(start, "start") - timedelta(days=1), self._local(end, "end") + timedelta(days=1)
        found = self._rule().between(lo, hi, inc=True) if end > start else []
        return [o for o in map(self._occurrence, found) if start <= o.start < end]

    def describe(self) -> str:
        """Human text, e.g. 'first Tuesday of every month, 12:00–13:00 America/New_York'."""
        end = datetime.combine(EPOCH, self.start) + self.duration
        when = (
            f"{self.start:%H:%M}–{end:%H:%M}"
            if end.date() == EPOCH
            else f"{self.start:%H:%M} for {self.duration.total_seconds() // 60:.0f} minutes"
        )
        return f"{_describe_rule(_split(self.rrule)) or 'RRULE:' + self.rrule}, {when} {self.tz}"

    def to_text(self) -> str:
        """One-line storage form; see the module docstring."""
        return (
            f"RRULE:{self.rrule};TZ={self.tz};START={self.start:%H:%M};"
            f"DURATION={self.duration.total_seconds() // 60:.0f};ANCHOR={self.anchor.isoformat()}"
        )

    @classmethod
    def from_text(cls, text: str) -> Cadence:
        """Inverse of `to_text`; ANCHOR may be absent (EPOCH)."""
        parts = _split(text)
        if missing := [k for k in EXTRA_KEYS[:3] if k not in parts]:
            raise CadenceError(
                f"stored cadence {text!r} lacks {', '.join(missing)}",
                "expected e.g. RRULE:FREQ=MONTHLY;BYDAY=+1TU;TZ=America/New_York;START=12:00;DURATION=60",
            )
        tz, start, duration, anchor = _extras(parts, text)
        body = ";".join(f"{k}={v}" for k, v in parts.items())
        return cls(body, start, duration, tz, anchor or EPOCH)  # type: ignore[arg-type]


def _extras(
    parts: dict[str, str], text: str
) -> tuple[str | None, time | None, timedelta | None, date | None]:
    """Pop the storage keys TZ, START, DURATION and ANCHOR from `parts`; each None when absent."""
    tz, start, minutes, anchor = (parts.pop(k, None) for k in EXTRA_KEYS)
    try:
        return (
            tz,
            datetime.strptime(start, "%H:%M").time() if start else None,
            timedelta(minutes=int(minutes)) if minutes else None,
            date.fromisoformat(anchor) if anchor else None,
        )
    except ValueError as exc:
        raise _unread(text, str(exc)) from None


def _describe_rule(p: dict[str, str]) -> str | None:
    """Words for the rule shapes parse_cadence produces (parse_cadence reads them back); None otherwise."""
    if set(p) - {"FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "COUNT", "UNTIL"} or (
        "BYMONTH" in p and p["FREQ"] != "YEARLY"
    ):
        return None
    freq, n, text = p["FREQ"], int(p.get("INTERVAL", "1")), None
    months = [MONTH_NAMES[int(m) - 1] for m in p["BYMONTH"].split(",")] if "BYMONTH" in p else []
    days, mdays = _byday(p.get("BYDAY", "MO")), [int(x) for x in p.get("BYMONTHDAY", "0").split(",")]
    ords = sorted({o for o, _ in days}, key=lambda o: (o is not None and o < 0, abs(o or 0)))
    names = [DAY_NAMES[DAYS.index(d)] for d in dict.fromkeys(d for _, d in days)]
    every = {1: "every", 2: "every other"}.get(n, f"every {n}")
    period = f"{every} {freq.lower().replace('ily', 'y').removesuffix('ly')}{'s' if n > 2 else ''}"
    period = _join(months) + ("" if n == 1 else f", {period}") if months else period
    if "BYDAY" in p and None not in ords and mdays == [0] and len(days) == len(ords) * len(names):
        ordinals = [ORDINAL_NAMES.get(o, "?") for o in ords if o is not None]
        text = f"{_join(ordinals)} {_join(names)} of {period}"
    elif mdays != [0] and "BYDAY" not in p and (freq == "MONTHLY" or months) and min(mdays) >= -1:
        text = f"the {_join(['last day' if d == -1 else _nth(d) for d in mdays])} of {period}"
    elif "BYDAY" in p and ords == [None] and freq == "WEEKLY" and mdays == [0]:
        text = (
            ("every weekday" if n == 1 else f"{period} on weekdays")
            if p["BYDAY"] == WEEKDAYS
            else f"{period} on {_join(names)}"
            if n > 2
            else f"{every} {_join(names)}"
        )
    if text and "COUNT" in p:
        text += f", {p['COUNT']} meetings in all"
    if text and "UNTIL" in p:
        until = datetime.strptime(p["UNTIL"][:8], "%Y%m%d")
        text += f", until {until.day} {MONTH_NAMES[until.month - 1][:3]} {until.year}"
    return None if text is None or "?" in text else text


def _parse_time(raw: str) -> tuple[time, bool]:
    """'2:30pm' -> (14:30, True); the flag says whether am/pm (or noon) was given."""
    s = raw.replace(".", "").replace(" ", "")
    if s in ("noon", "12noon", "midday", "midnight"):
        return time(0 if s == "midnight" else 12), True
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", s)
    hour, minute = (int(m.group(1)), int(m.group(2) or 0)) if m else (99, 0)
    if m and m.group(3):
        hour = hour % 12 + (12 if m.group(3) == "pm" else 0) if 1 <= hour <= 12 else 99
    if hour > 23 or minute > 59:
        raise CadenceError(f"{raw!r} is not a valid time")
    return time(hour, minute), bool(m and m.group(3))


def _take_times(low: str) -> tuple[str, time | None, timedelta | None]:
    """Remove the time range / start time / duration from `low`; return (rest, start, duration)."""
    start: time | None = None
    duration: timedelta | None = None
    for m in _DURATION_RE.finditer(low):
        num, unit, extra = m.groups()
        value = 0.5 if num.startswith("half") else NUMBERS.get(num, 1 if num in ("a", "an") else None)
        if duration is not None:
            raise CadenceError("more than one duration given")
        minutes = float(num if value is None else value) * (60 if unit.startswith("h") else 1)
        duration = timedelta(minutes=round(minutes + int(extra or 0)))
    low = _DURATION_RE.sub(" ", low)
    for m in _RANGE_RE.finditer(low):
        a, b = m.group(1), m.group(2)
        if not any(":" in x or re.search(r"[ap]\.?m|noon|midday|midnight", x) for x in (a, b)):
            continue  # e.g. "3 to 4": not a time range
        (t1, ap1), (t2, ap2) = _parse_time(a), _parse_time(b)
        if not ap1 and ap2 and 1 <= t1.hour <= 12:  # "11-1pm", "10-11am": the start borrows the end's am/pm
            t1 = _parse_time(a + ("am" if re.search(r"a\.?m", b) else "pm"))[0]
            t1 = t1 if t1 <= t2 else _parse_time(a + "am")[0]
        if start is not None or duration is not None:
            raise CadenceError("give one time range, or a start time and a duration")
        if t2 <= t1:
            raise CadenceError(f"the end time {t2:%H:%M} is not after the start time {t1:%H:%M}")
        start, duration = t1, datetime.combine(EPOCH, t2) - datetime.combine(EPOCH, t1)
        low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end() :]
    for m in _SINGLE_RE.finditer(low):
        if start is not None:
            raise CadenceError("more than one start time given")
        start = _parse_time(m.group(1) or m.group(2))[0]
    return _SINGLE_RE.sub(" ", low), start, duration


def _take_zone(low: str, default_tz: str, text: str) -> tuple[str, str]:
    """Remove an IANA name or a known abbreviation; return (rest, zone name)."""
    found = [m.group(1) for m in _ZONE_RE.finditer(low)]
    words = re.split(r"[\s,;.()]+", _ZONE_RE.sub(" ", low))
    for name in (n for n in found if not zones.is_zone(n)):
        spelled = re.search(re.escape(name), text, re.I)
        raise CadenceError(
            f"unknown time zone {spelled.group() if spelled else name!r}",
            'use an IANA zone such as "Europe/London"; ',
        )
    named = {_zone(z).key for z in found + [ZONE_ALIASES[w] for w in words if w in ZONE_ALIASES]}
    if len(named) > 1:
        raise CadenceError(f"more than one time zone given ({', '.join(sorted(named))})")
    rest = " ".join(w for w in words if w not in ZONE_ALIASES)
    return rest, named.pop() if named else _zone(default_tz).key


def _words_to_rrule(tokens: list[str], text: str) -> str:
    """The recurrence words (times and zone already removed) -> an RRULE body."""
    ords: list[int] = []
    wdays: list[str] = []
    months: list[int] = []
    mdays: list[int] = []
    units: set[str] = set()
    interval, interval_unit, times, unknown = 1, None, None, []
    for i, tok in enumerate(tokens):
        prev, nxt = tokens[i - 1] if i else "", tokens[i + 1] if i + 1 < len(tokens) else ""
        number = int(tok) if tok.isdigit() else NUMBERS.get(tok)
        nth = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", tok)
        after_number = prev.isdigit() or prev in NUMBERS
        if tok in FILLER or (tok == "day" and ords) or (tok == "times" and after_number):
            continue
        if tok in _WEEKDAY_WORDS or tok in ("weekday", "weekdays"):
            wdays += [_WEEKDAY_WORDS[tok]] if tok in _WEEKDAY_WORDS else WEEKDAYS.split(",")
        elif tok in _MONTH_WORDS:
            months.append(_MONTH_WORDS[tok])
        elif tok in ORDINALS or nth:
            ords.append(ORDINALS[tok] if tok in ORDINALS else int(nth.group(1)))  # type: ignore[union-attr]
        elif tok in UNITS:
            units.add(UNITS[tok])
        elif tok in ("other", "fortnightly", "quarterly") or (number is not None and nxt in UNITS):
            interval = {"other": 2, "fortnightly": 2, "quarterly": 3}.get(tok, number or 0)
            interval_unit = {"fortnightly": "WEEKLY", "quarterly": "MONTHLY"}.get(tok, UNITS.get(nxt))
            units |= {interval_unit} if interval_unit else set()
        elif tok in ("once", "twice") or (number is not None and nxt == "times"):
            times = {"once": 1, "twice": 2}.get(tok, number)
        elif number is not None and (prev in _MONTH_WORDS or nxt in _MONTH_WORDS):
            mdays.append(number)
        else:
            unknown.append(tok)
    if unknown:
        raise _unread(text, f"unknown word{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
    wdays = list(dict.fromkeys(wdays))
    if ords and wdays:
        if any(t.startswith("weekday") for t in tokens):
            raise _unread(text, "name the day, as in 'first Monday'")
        if bad := [o for o in ords if not 1 <= abs(o) <= 5]:
            raise CadenceError(f"there is no {_nth(bad[0])} {DAY_NAMES[DAYS.index(wdays[0])]} in a month")
        parts, kind = {"BYDAY": ",".join(f"{o:+d}{d}" for o in ords for d in wdays)}, "ordinal"
    elif (ords or mdays) and not wdays:
        if any(not (1 <= d <= 31 or d == -1) for d in ords + mdays):
            raise _unread(text, "a day of the month is 1 to 31 or 'last day'")
        parts, kind = {"BYMONTHDAY": ",".join(map(str, ords + mdays))}, "monthday"
    elif wdays and not mdays:
        parts, kind = {"BYDAY": ",".join(wdays)}, "weekly"
    else:
        raise _unread(text, "say which day, as in 'first Tuesday' or 'every Wednesday'")
    allowed, freq = {
        "ordinal": ({"MONTHLY", "YEARLY"}, "MONTHLY"),
        "monthday": ({"MONTHLY"}, "MONTHLY"),
        "weekly": ({"WEEKLY", "MONTHLY"}, "WEEKLY"),
    }[kind]
    if months:
        if interval_unit == "MONTHLY":
            raise _unread(text, "name the months or an interval in months, not both")
        freq, allowed = "YEARLY", {"MONTHLY", "YEARLY"}
        parts["BYMONTH"] = ",".join(map(str, sorted(set(months))))
    elif units:
        freq = next(iter(units)) if len(units) == 1 else ""
    if not units <= allowed or freq not in allowed:
        raise _unread(text, "the day and the period do not fit together")
    per = len(set(months)) if freq == "YEARLY" else len(next(iter(parts.values())).split(","))
    if times is not None and per != times:
        raise _unread(
            text,
            "the number of times does not match the days or months named, "
            "as in 'twice a year in March and September'",
        )
    return ";".join([f"FREQ={freq}", f"INTERVAL={interval}"] + [f"{k}={v}" for k, v in parts.items()])


def parse_cadence(text: str, default_tz: str, *, anchor: date | None = None) -> Cadence:
    """Read a cadence in words or as an RRULE; raise CadenceError (with an example) if it cannot be used.

    `anchor` is the first date the series may fall on (default EPOCH); pass today's date so that
    "every other Thursday" counts from this week and the five-year check starts today.
    """
    if len(text) > MAX_TEXT:
        raise CadenceError(f"the cadence is too long ({len(text)} characters, at most {MAX_TEXT})")
    if not text.strip():
        raise CadenceError("the cadence is empty")
    low, tz, start, duration = text.lower(), None, None, None
    if m := _ANCHOR_RE.search(low):
        anchor, low = _extras({"ANCHOR": m.group(1)}, text)[3], low[: m.start()] + " " + low[m.end() :]
    if raw := re.match(r"\s*rrule:\s*(\S+)", low):  # a raw RRULE, perhaps in the storage form
        parts = _split(raw.group(1))
        tz, start, duration, stored = _extras(parts, text)
        body, low, anchor = ";".join(f"{k}={v}" for k, v in parts.items()), low[raw.end() :], stored or anchor
    rest, new_start, new_duration = _take_times(low)
    start, duration = new_start or start, duration if new_duration is None else new_duration
    rest, tz = _take_zone(rest, tz or default_tz, text)
    tokens = [t for t in re.split(r"[\s,;.()]+", rest) if t]
    if not raw:
        body = _words_to_rrule(tokens, text)
    elif leftover := [t for t in tokens if t not in FILLER]:
        raise _unread(text, f"unexpected {' '.join(leftover)!r} after the RRULE")
    if start is None:
        raise _unread(text, "no start time given, e.g. '12:00 to 13:00' or 'at 2pm'")
    if duration is not None and not timedelta(0) < duration <= MAX_DURATION:
        raise CadenceError(f"a meeting lasts more than 0 minutes and at most 12 hours, not {duration}")
    return Cadence(body, start, duration or timedelta(minutes=60), tz, anchor or EPOCH)


def holiday_conflicts(
    cadence: Cadence, after: datetime, count: int, country: str = "US", subdiv: str | None = None
) -> list[tuple[Occurrence, str]]:
    """Of the next `count` occurrences, those whose local date is a public holiday, with its name."""
    code, hint = country.strip().upper(), 'expected a two-letter ISO 3166 code such as "US", "GB" or "CA"'
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise CadenceError(f"unknown country code {country!r}", hint)
    occs = cadence.occurrences(after, count)
    local_dates = [o.start.astimezone(ZoneInfo(cadence.tz)).date() for o in occs]
    try:
        calendar = holidays.country_holidays(code, subdiv=subdiv, years=sorted({d.year for d in local_dates}))
    except NotImplementedError as exc:
        raise CadenceError(f"no holiday calendar for {country!r} ({exc})", hint) from None
    return [(o, calendar[d]) for o, d in zip(occs, local_dates) if d in calendar]


def format_local(dt: datetime, tz: str) -> str:
    """An aware datetime as wall clock in `tz`, e.g. 'Tue 3 Mar 2026, 12:00 EST' (checked, then rendered by
    bot.messenger.format_in_zone, the one place that formats a time for a reader)."""
    _aware(dt, "dt")
    return format_in_zone(dt, _zone(tz).key)
