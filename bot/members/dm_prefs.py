"""When a member wants direct messages the bot sends on its own: reminders on or off, quiet hours, zone.

One rule for every such DM (convening and forum reminders, commitment follow-ups, introductions, the
notice of a new convening, journey steps): a member with reminders off (`me reminders off`) gets no reminders; a DM
due in the member's quiet hours (`me quiet-hours`, read in their zone, else the community's) waits until
those hours end, or is not sent when by then it would be too late to matter. The features plan their DMs
with this rule and check it again when they send (preferences can change in between).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from bot.store.models import MemberProfile, MemberRecord


def _hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def quiet_end(at: datetime, quiet: tuple[str, str] | None, tz: str) -> datetime | None:
    """When the quiet hours `at` falls in end (local "HH:MM" times in `tz`, which may span midnight);
    None when `at` is not in them."""
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


def quiet_shift(
    due: datetime, deadline: datetime | None, quiet: tuple[str, str] | None, tz: str
) -> datetime | None:
    """`due`, moved to the end of the quiet hours it falls in (local times in `tz`); None when that end is
    not before `deadline` (no deadline: never None)."""
    end = quiet_end(due, quiet, tz)
    if end is None:
        return due
    return end if deadline is None or end < deadline else None


@dataclass(frozen=True)
class DmPrefs:
    """What one member chose about the bot's DMs, with the zone their quiet hours are read in."""

    reminders: bool
    zone: str
    quiet: tuple[str, str] | None

    def next_open(self, due: datetime, deadline: datetime | None = None) -> datetime | None:
        """When a DM due at `due` may go: then, or when the quiet hours end; None if not before `deadline`."""
        return quiet_shift(due, deadline, self.quiet, self.zone)

    def is_quiet(self, at: datetime) -> bool:
        return self.next_open(at) != at


def prefs_of(profile: MemberProfile | None, default_zone: str) -> DmPrefs:
    """The preferences in a profile row (none yet: reminders on, no quiet hours, the community's zone)."""
    if profile is None:
        return DmPrefs(True, default_zone, None)
    quiet = (profile.quiet_start, profile.quiet_end) if profile.quiet_start and profile.quiet_end else None
    return DmPrefs(bool(profile.dm_reminders), profile.zone or default_zone, quiet)


def dm_prefs(session: Session, member_id: int | None, default_zone: str) -> DmPrefs:
    return prefs_of(session.get(MemberProfile, member_id) if member_id else None, default_zone)


def dm_prefs_for(session: Session, platform: str, user_id: str, default_zone: str) -> DmPrefs:
    """The same, for a member named by platform identity (a DM's recipient)."""
    member_id = session.execute(
        select(col(MemberRecord.id)).where(
            col(MemberRecord.platform) == platform, col(MemberRecord.user_id) == user_id
        )
    ).scalar()
    return dm_prefs(session, member_id, default_zone)
