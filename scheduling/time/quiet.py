"""A member's quiet hours and DM setting, one copy for everything the bot sends by DM on its own.

Quiet hours are local "HH:MM" start and end (`me quiet-hours 21:00-07:00`, which may span midnight),
read in the member's zone. Reminders by DM can be off (`me reminders off`). Convening reminders and
journey steps both ask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.store.models import MemberProfile


@dataclass(frozen=True)
class DmRules:
    zone: str
    quiet: tuple[str, str] | None
    reminders_on: bool


def dm_rules(session: Session, member_id: int, default_zone: str) -> DmRules:
    """The member's zone (theirs, their chat profile's, or `default_zone`), quiet hours and DM setting."""
    profile = session.get(MemberProfile, member_id)
    if profile is None:
        return DmRules(default_zone, None, True)
    quiet = (profile.quiet_start, profile.quiet_end) if profile.quiet_start and profile.quiet_end else None
    return DmRules(profile.zone or default_zone, quiet, profile.dm_reminders)


def _hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def quiet_end(at: datetime, quiet: tuple[str, str] | None, tz: str) -> datetime | None:
    """When the quiet hours `at` falls in end (aware, in `at`'s zone); None when `at` is not in them."""
    if not quiet:
        return None
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    qs, qe = _hhmm(quiet[0]), _hhmm(quiet[1])
    now_t = local.time().replace(tzinfo=None)
    inside = (qs <= now_t < qe) if qs < qe else (now_t >= qs or now_t < qe)
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if (qs > qe and now_t >= qs) else local.date()
    return datetime.combine(end_day, qe, tzinfo=zone).astimezone(at.tzinfo)


def quiet_shift(due: datetime, start: datetime, quiet: tuple[str, str] | None, tz: str) -> datetime | None:
    """`due`, moved to the end of the quiet hours it falls in; None when that end is not before `start`."""
    end = quiet_end(due, quiet, tz)
    if end is None:
        return due
    return end if end < start else None
