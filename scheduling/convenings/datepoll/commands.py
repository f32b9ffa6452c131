"""The `datepoll` commands: propose slots for a network's convening, show the tally in the reader's zone,
mark the slots that work, confirm one (which schedules the convening and tells the voters)."""

from __future__ import annotations

from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, write_audit
from bot.errors import ArgumentError
from bot.messages import Choice, Item, Reply
from bot.messenger import format_in_zone
from bot.networks.params import NetworkRef, coordinators_of
from bot.words import counted
from bot.zones import zone_for
from scheduling.convenings import service as svc
from scheduling.convenings.datepoll import service as polls
from scheduling.time.when import WhenError, parse_duration

datepoll_group = CommandGroup(
    "datepoll", "finding a date: propose slots, members mark what works, confirm one"
)

PollId = Annotated[int, Opt(help="the date poll's number", min=1, metavar="POLL")]


def _zone(session: Session, ctx: Context) -> str:
    return zone_for(session, ctx.member, ctx.settings.timezone)


@datepoll_group.command("propose", scope=coordinators_of("network"), audited=False)
async def propose(
    ctx: Context,
    network: NetworkRef,
    *,
    title: Annotated[str, Opt(help="what the meeting is called", max_length=200)],
    slots: Annotated[str, Opt(help='2 to 10 possible starts separated by ";"', max_length=1000)],
    tz: Annotated[str, Opt(help="the zone the slots are in (IANA); default yours", max_length=64)] = "",
    duration: Annotated[
        str, Opt(help='how long the meeting is: "90 minutes", "1h30"', max_length=40)
    ] = "1 hour",
) -> Reply:
    """Propose several dates for a convening of a network you coordinate; its members mark the ones that work.

    Example: datepoll propose digital-leaders --title "Budget season" --slots "2027-03-14 10:00; 2027-03-16 14:00; next Tuesday 2pm" --tz America/Chicago --duration 90m
    """
    now = ctx.now()
    try:
        length = parse_duration(duration)
    except WhenError as exc:
        raise ArgumentError(f"--duration: {exc}.", "duration") from None

    def apply(session: Session) -> tuple[int, str, int]:
        poll, n = polls.propose(
            session, ctx.settings, network, ctx.member, now, title=title, slots=slots, tz=tz, length=length
        )
        write_audit(session, ctx.member, "datepoll propose", f"{poll.id} {n.slug} {poll.title}")
        return poll.id or 0, n.name, len(polls.slots_of(session, poll))

    poll_id, name, count = await ctx.store.run(apply)
    return Reply(
        f"Date poll {poll_id} for {name}: {count} slots proposed. Members of {name} see them with "
        f"`datepoll show {poll_id}` and mark the ones that work with `datepoll mark {poll_id} 1,3`; "
        f"confirm one with `datepoll confirm {poll_id} <slot>`.",
        choices=(Choice("Show", f"datepoll show {poll_id}"),),
    )


@datepoll_group.command("show")
async def show(ctx: Context, poll: PollId) -> Reply:
    """Show a date poll's slots in your time zone, how many marked each, and which you marked.

    Example: datepoll show 4
    """

    def load(session: Session) -> tuple[polls.Tally, str]:
        return polls.tally(session, ctx.settings, poll, ctx.member), _zone(session, ctx)

    t, zone = await ctx.store.run(load)
    items = tuple(
        Item(
            title=f"{format_in_zone(slot.starts_at, zone)} ({zone})",
            ref=f"slot {slot.position}",
            body=f"{count} can make it" + (" (you too)" if mine else ""),
        )
        for slot, count, mine in t.slots
    )
    state = (
        f"open: mark the slots that work with datepoll mark {t.poll.id} 1,3"
        if t.poll.status == polls.PollStatus.OPEN.value
        else f"closed: confirmed as convening {t.poll.convening_id}"
    )
    return Reply(
        f"Date poll {t.poll.id}: {t.poll.title} ({t.network.name}), {t.poll.duration_minutes} minutes. "
        f"{counted(t.voters, 'member')} answered; {state}.",
        items=items,
    )


@datepoll_group.command("mark")
async def mark(
    ctx: Context,
    poll: PollId,
    slots: Annotated[
        str,
        Opt(help="the slot numbers that work for you, e.g. 1,3 (or none)", max_length=60, metavar="SLOTS"),
    ],
) -> Reply:
    """Mark the slots that work for you; marking again replaces your earlier marks.

    Example: datepoll mark 4 1,3
    """
    now = ctx.now()
    p, wanted = await ctx.store.run(lambda s: polls.mark(s, ctx.settings, poll, ctx.member, slots, now))
    if not wanted:
        return Reply(f"None of the slots of date poll {p.id} ({p.title}) is marked as working for you.")
    return Reply(
        f"Marked {'slot' if len(wanted) == 1 else 'slots'} {', '.join(map(str, wanted))} of date poll {p.id} ({p.title}) as working for you. "
        "You can change this until a date is confirmed.",
        choices=(Choice("Tally", f"datepoll show {p.id}"),),
    )


@datepoll_group.command("confirm", scope=coordinators_of("poll", polls.network_of), audited=False)
async def confirm(
    ctx: Context, poll: PollId, slot: Annotated[int, Opt(help="the slot's number", min=1, metavar="SLOT")]
) -> Reply:
    """Confirm one slot: it becomes a convening, everyone who marked slots is told once, the poll closes.

    Example: datepoll confirm 4 2
    """
    now = ctx.now()

    def apply(session: Session) -> tuple[int, int, str, int]:
        p, conv, told = polls.confirm(session, ctx.settings, poll, slot, ctx.member, now)
        write_audit(session, ctx.member, "datepoll confirm", f"{p.id} slot {slot} -> convening {conv.id}")
        return p.id or 0, conv.id or 0, svc.when_for(conv, _zone(session, ctx)), told

    poll_id, conv_id, when, told = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(
        f"Confirmed slot {slot} of date poll {poll_id}: convening {conv_id}, {when}. "
        f"{counted(told, 'voter')} are told by direct message.",
        choices=(Choice("Show", f"convening show {conv_id}"),),
    )
