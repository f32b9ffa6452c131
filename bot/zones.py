"""Time zones, one copy: "is this an IANA zone" and "what is this member's zone".

A member's zone is the one they chose (`me timezone`), else the one their chat profile reports, else the
community's. Everything that renders a time for a reader asks here.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.messages import Member
from bot.store.models import MemberProfile, MemberRecord, is_member


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def canonical(name: str) -> str | None:
    """The IANA name for `name`, matched without regard to case; None when it is not a zone."""
    return _names().get(name.strip().lower())


def is_zone(name: str) -> bool:
    return canonical(name) is not None


def zone(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA name (any case). Raises ValueError naming the problem and an example."""
    found = canonical(name)
    if found is None:
        raise ValueError(
            f"{name.strip()!r} is not a time zone; use a name like America/Chicago or Europe/London"
        )
    return ZoneInfo(found)


def known_zone(session: Session, member: Member) -> str | None:
    """The zone a member chose, else their chat profile's; None when neither is known."""
    return session.execute(
        select(func.coalesce(col(MemberProfile.timezone), col(MemberProfile.platform_timezone)))
        .join(MemberRecord, col(MemberRecord.id) == col(MemberProfile.member_id))
        .where(is_member(MemberRecord, member))
    ).scalar()


def zone_for(session: Session, member: Member, default: str) -> str:
    """The zone to show times in for this member: theirs, their chat profile's, or `default`."""
    return known_zone(session, member) or default


def zone_of_record(session: Session, member_id: int, default: str) -> str:
    """The same, for a member row's id."""
    profile = session.get(MemberProfile, member_id)
    return profile.zone if profile is not None and profile.zone else default
