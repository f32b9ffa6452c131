"""A member's profile: `me show`, `me set`, `me reminders`, `me quiet-hours`, `me lists`.

These extend the core's `me` group (bot/members/privacy.py keeps `me data`, `me forget` and `me timezone`).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, find_member
from bot.errors import ArgumentError
from bot.messages import Member, Reply
from bot.store.models import MemberProfile

profile_group = CommandGroup("me", "")  # adds to the core's `me` group
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_quiet_hours(raw: str) -> tuple[str, str] | None:
    """`21:00-07:00` -> ("21:00", "07:00"); `off` -> None. Local times, 24-hour clock."""
    text = raw.strip().lower().replace(" ", "").replace("–", "-")
    if text in ("off", "none", "no"):
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{raw.strip()[:40]!r} is not a range: give a start and an end joined by -")
    times = []
    for label, value in (("start", start), ("end", end)):
        match = _HHMM.match(value)
        if not match:
            raise ValueError(f"the {label} {value[:20]!r} is not a time like 21:00 (24-hour clock, HH:MM)")
        times.append(f"{int(match.group(1)):02d}:{match.group(2)}")
    if times[0] == times[1]:
        raise ValueError("the start and the end are the same time; quiet hours need a span")
    return times[0], times[1]


def _profile(session: Session, member: Member) -> MemberProfile:
    record = ensure_member(session, member)
    return session.get(MemberProfile, record.id) or MemberProfile(member_id=record.id or 0)


def _quiet(profile: MemberProfile) -> str:
    if profile.quiet_start and profile.quiet_end:
        return f"{profile.quiet_start}–{profile.quiet_end} (your time)"
    return "off"


@profile_group.command("show")
async def me_show(ctx: Context) -> Reply:
    """Show your profile: time zone, work, and what you receive."""
    member, default_zone = ctx.member, ctx.settings.timezone

    def load(session: Session) -> tuple[tuple[str, str], ...]:
        record = find_member(session, member)
        p = (session.get(MemberProfile, record.id) if record else None) or MemberProfile(member_id=0)
        return (
            (
                "Time zone",
                p.timezone
                or (
                    f"{p.platform_timezone} (from your chat profile)"
                    if p.platform_timezone
                    else f"not set (you see the community's, {default_zone})"
                ),
            ),
            ("Organisation", p.organisation or "—"),
            ("Role", p.role_title or "—"),
            ("Jurisdiction", p.jurisdiction or "—"),
            ("Reminders by direct message", "on" if p.dm_reminders else "off"),
            ("Quiet hours", _quiet(p)),
            ("Listed in network member lists", "yes" if p.show_in_lists else "no"),
            ("Invitations to write up forum practices", "on" if p.forum_invites else "off"),
            ("Open forum reminders by direct message", "on" if p.forum_reminders else "off"),
        )

    facts = await ctx.store.run(load)
    return Reply(
        "Your profile:",
        fields=facts,
        footer="Change it with: me set, me timezone, me reminders, me quiet-hours, me lists, "
        "forum reminders, forum invites. "
        "Your interests: me interests list",
    )


@profile_group.command("set")
async def me_set(
    ctx: Context,
    *,
    organisation: Annotated[str | None, Opt(help='where you work; "" clears it', max_length=200)] = None,
    role: Annotated[str | None, Opt(help='your role or title; "" clears it', max_length=200)] = None,
    jurisdiction: Annotated[
        str | None, Opt(help='the jurisdiction you serve; "" clears it', max_length=200)
    ] = None,
) -> Reply:
    """Set your organisation, role and jurisdiction; other members see them in your profile.

    Example: me set --organisation "City of Dayton" --role "Chief of Staff" --jurisdiction Ohio
    """
    given = {"organisation": organisation, "role_title": role, "jurisdiction": jurisdiction}
    changes = {k: (" ".join(v.split()) or None) for k, v in given.items() if v is not None}
    if not changes:
        raise ArgumentError(
            "Say what to set: --organisation, --role or --jurisdiction. Example: me set "
            '--organisation "City of Dayton" --role "Chief of Staff"'
        )
    member = ctx.member

    def apply(session: Session) -> None:
        profile = _profile(session, member)
        for name, value in changes.items():
            setattr(profile, name, value)
        session.add(profile)

    await ctx.store.run(apply)
    labels = {"organisation": "organisation", "role_title": "role", "jurisdiction": "jurisdiction"}
    said = "; ".join(f"{labels[k]}: {v}" if v else f"{labels[k]} cleared" for k, v in changes.items())
    return Reply(f"Saved your {said}. See everything with: me show")


async def _set_flag(ctx: Context, name: str, value: bool) -> None:
    """Set one yes/no choice on the member's profile."""
    member = ctx.member

    def apply(session: Session) -> None:
        profile = _profile(session, member)
        setattr(profile, name, value)
        session.add(profile)

    await ctx.store.run(apply)


class OnOff(str, Enum):
    ON = "on"
    OFF = "off"


@profile_group.command("reminders")
async def me_reminders(ctx: Context, choice: Annotated[OnOff, Opt(help="on or off")]) -> Reply:
    """Turn reminders by direct message on or off: convenings, forums, follow-ups, introductions.

    Example: me reminders off
    """
    on = choice is OnOff.ON
    await _set_flag(ctx, "dm_reminders", on)
    if on:
        return Reply("Reminders by direct message are on (outside your quiet hours).")
    return Reply("Reminders by direct message are off. Undo with: me reminders on")


@profile_group.command("quiet-hours")
async def me_quiet_hours(
    ctx: Context,
    hours: Annotated[
        str,
        Opt(
            help="start-end in your time, 24-hour clock, e.g. 21:00-07:00; or off",
            converter=parse_quiet_hours,
            metavar="HH:MM-HH:MM|off",
            max_length=40,
        ),
    ],
) -> Reply:
    """Set the hours when copbot sends you no direct messages, in your time zone; or turn them off.

    Example: me quiet-hours 21:00-07:00
    Example: me quiet-hours off
    """
    span: tuple[str, str] | None = hours  # type: ignore[assignment]
    member = ctx.member

    def apply(session: Session) -> str | None:
        profile = _profile(session, member)
        profile.quiet_start, profile.quiet_end = span if span else (None, None)
        session.add(profile)
        return profile.timezone

    zone = await ctx.store.run(apply)
    if span is None:
        return Reply("Quiet hours are off.")
    where = zone or f"the community's time zone ({ctx.settings.timezone}); set yours with: me timezone <zone>"
    return Reply(f"Quiet hours: {span[0]}–{span[1]}, in {where}.")


class Listing(str, Enum):
    SHOW = "show"
    HIDE = "hide"


@profile_group.command("lists")
async def me_lists(ctx: Context, choice: Annotated[Listing, Opt(help="show or hide")]) -> Reply:
    """Choose whether your name appears in network member lists (you are still counted).

    Example: me lists hide
    """
    show = choice is Listing.SHOW
    await _set_flag(ctx, "show_in_lists", show)
    if show:
        return Reply("Your name appears in the member lists of your networks.")
    return Reply("Your name no longer appears in network member lists; you are counted as not listed.")
