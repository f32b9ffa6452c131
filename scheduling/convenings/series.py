"""Convening series: a convening that repeats (twice a year, monthly), stored as a cadence
(scheduling/time/cadence.py storage form) whose next occurrences become individual convenings carrying the
series' id. Each occurrence is then moved, cancelled and RSVP'd on its own with the `convening` commands;
`convening series-cancel` cancels the ones still ahead.

Each occurrence is created with scheduling.convenings.create, the one way any convening is created.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, write_audit
from bot.errors import ArgumentError, CommandError, NotFound
from bot.messages import Choice, Item, Member, Reply
from bot.networks import service as networks
from bot.networks.models import Network
from bot.networks.params import NetworkRef, coordinators_of
from bot.words import counted
from bot.zones import zone_for
from scheduling.convenings import mirror as convening_mirror
from scheduling.convenings import service as svc
from scheduling.convenings.models import DEFAULT_LEADS, Convening, ConveningSeries, ConveningStatus
from scheduling.time.cadence import Cadence, CadenceError, parse_cadence
from scheduling.time.when import WhenError, parse_duration, zone_named

series_group = CommandGroup("convening", "")  # adds `convening series` and `convening series-cancel`

MAX_COUNT = 24


def read_rule(rule: str, tz: str, now: datetime) -> Cadence:
    try:
        return parse_cadence(rule, tz, anchor=now.astimezone(ZoneInfo(zone_named(tz).key)).date())
    except (CadenceError, WhenError) as exc:
        raise ArgumentError(f"--rule: {exc}", "rule") from None


def create_series(
    session: Session,
    network: Network,
    creator: Member,
    now: datetime,
    *,
    title: str,
    cadence: Cadence,
    count: int,
    length: timedelta | None = None,
    place: str = "",
    capacity: int | None = None,
    agenda: str = "",
    leads: str = DEFAULT_LEADS,
) -> tuple[ConveningSeries, list[Convening]]:
    """The series and its next `count` occurrences, as convenings in the cadence's zone."""
    occurrences = cadence.occurrences(now, count)
    if not occurrences:
        raise CommandError(f"{cadence.describe()} has no date ahead; nothing was scheduled.")
    record = ensure_member(session, creator)
    series = ConveningSeries(
        network_id=network.id or 0,
        title=" ".join(title.split()),
        cadence=cadence.to_text(),
        created_by=record.id,
        created_at=now,
    )
    session.add(series)
    session.flush()
    convs = [
        svc.create(
            session,
            network,
            creator,
            now,
            title=title,
            starts_at=o.start,
            length=length or (o.end - o.start),
            tz=cadence.tz,
            place=place,
            capacity=capacity,
            agenda=agenda,
            leads=leads,
            series_id=series.id,
        )
        for o in occurrences
    ]
    session.flush()
    return series, convs


def get_series(session: Session, series_id: int) -> ConveningSeries:
    series = session.get(ConveningSeries, series_id)
    if series is None:
        raise NotFound(f"There is no convening series {series_id}.")
    return series


def members_of(session: Session, series: ConveningSeries) -> list[Convening]:
    return list(
        session.execute(
            select(Convening).where(col(Convening.series_id) == series.id).order_by(col(Convening.starts_at))
        ).scalars()
    )


def cancel_future(
    session: Session, series: ConveningSeries, now: datetime, community_tz: str, reason: str = ""
) -> list[Convening]:
    """Cancel the series' scheduled convenings that have not started; attendees are told once each."""
    cancelled = []
    for conv in members_of(session, series):
        if conv.status != ConveningStatus.SCHEDULED.value or conv.starts_at <= now:
            continue
        conv.status = ConveningStatus.CANCELLED.value
        svc.cancel_reminders(session, conv)
        svc.cancel_news(session, conv)
        svc.touch(conv, now)
        session.add(conv)
        convening_mirror.plan_sync(session, conv, now)
        svc.notify_attendees(
            session,
            conv,
            now,
            community_tz,
            "cancel",
            lambda z, c=conv: (
                f"Cancelled: {c.title}, {svc.when_for(c, z)}, will not take place (the series ends)"
                + (f": {reason.strip()}." if reason.strip() else ".")
            ),
        )
        cancelled.append(conv)
    series.cancelled_at = now
    session.add(series)
    session.flush()
    return cancelled


def network_of_series(session: Session, series_id: int) -> Network:
    """The network a series belongs to (its coordinators end it)."""
    network = session.get(Network, get_series(session, series_id).network_id)
    assert network is not None
    return network


@series_group.command("series", scope=coordinators_of("network"), audited=False)
async def series_command(
    ctx: Context,
    network: NetworkRef,
    *,
    title: Annotated[str, Opt(help="what the meetings are called", max_length=200)],
    rule: Annotated[
        str, Opt(help='how it repeats, with a time: "monthly on the first Tuesday at 10:00"', max_length=300)
    ],
    count: Annotated[int, Opt(help="how many occurrences to schedule now", min=1, max=MAX_COUNT)] = 4,
    duration: Annotated[
        str,
        Opt(
            help='how long each one is, e.g. "90 minutes" (default: from the rule, else 1 hour)',
            max_length=40,
        ),
    ] = "",
    tz: Annotated[str, Opt(help="its time zone (IANA); default yours", max_length=64)] = "",
    place: Annotated[str, Opt(help="a room, an address or a video link", max_length=500)] = "",
    capacity: Annotated[int | None, Opt(help="seats per occurrence", min=1, max=100_000)] = None,
    agenda: Annotated[str, Opt(help="what will be discussed", long=True, max_length=4000)] = "",
    leads: Annotated[
        str, Opt(help="reminder lead times, e.g. 7d,1d,1h (or none)", max_length=100)
    ] = DEFAULT_LEADS,
) -> Reply:
    """Schedule a repeating convening: each occurrence is its own convening (move, cancel, RSVP each).

    Example: convening series digital-leaders --title "Budget circle" --rule "twice a year in March and September on the second Wednesday at 10:00" --count 4
    """
    now, member = ctx.now(), ctx.member
    lead_list = svc.parse_leads(leads)
    length = None
    if duration:
        try:
            length = parse_duration(duration)
        except WhenError as exc:
            raise ArgumentError(f"--duration: {exc}.", "duration") from None

    def apply(session: Session) -> tuple[ConveningSeries, list[Convening], str, str]:
        n = networks.find(session, network)
        reader = zone_for(session, member, ctx.settings.timezone)
        try:
            zone = zone_named(tz).key if tz else reader
        except WhenError as exc:
            raise ArgumentError(f"--tz: {exc}.", "tz") from None
        cadence = read_rule(rule, zone, now)
        series, convs = create_series(
            session,
            n,
            member,
            now,
            title=title,
            cadence=cadence,
            count=count,
            length=length,
            place=place,
            capacity=capacity,
            agenda=agenda,
            leads=",".join(lead_list),
        )
        svc.tell_network(session, n, convs, now, ctx.settings.timezone, leave_out={series.created_by or 0})
        write_audit(session, member, "convening series", f"{series.id} {n.slug} {series.title} x{len(convs)}")
        return series, convs, reader, cadence.describe()

    series, convs, zone, described = await ctx.store.run(apply)
    ctx.services.scheduler.wake()  # their calendar copies (convening_mirror) are due now
    items = tuple(
        Item(title=svc.when_for(c, zone), ref=str(c.id), choices=(Choice("Show", f"convening show {c.id}"),))
        for c in convs
    )
    return Reply(
        f"Scheduled series {series.id}, {series.title} ({described}): {counted(len(convs), 'convening')}. "
        f"Each is moved, cancelled or answered on its own (convening move|cancel|rsvp <id>); "
        f"to end the series: convening series-cancel {series.id}",
        items=items,
    )


@series_group.command("series-cancel", scope=coordinators_of("series", network_of_series), audited=False)
async def series_cancel(
    ctx: Context,
    series: Annotated[
        int, Opt(help="the series' number (given when it was scheduled)", min=1, metavar="SERIES")
    ],
    *,
    reason: Annotated[str, Opt(help="why, for the attendees", max_length=300)] = "",
) -> Reply:
    """Cancel the occurrences of a series still ahead; past ones stay, attendees are told once each.

    Example: convening series-cancel 3 --reason "the group is merging with another"
    """
    now = ctx.now()

    def apply(session: Session) -> tuple[ConveningSeries, list[Convening]]:
        s = get_series(session, series)
        for conv in members_of(session, s):  # lock them, as single cancellations do
            svc.get(session, conv.id or 0, lock=True)
        cancelled = cancel_future(session, s, now, ctx.settings.timezone, reason)
        write_audit(
            session, ctx.member, "convening series-cancel", f"{s.id} {s.title}: {len(cancelled)} cancelled"
        )
        return s, cancelled

    s, cancelled = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    if not cancelled:
        return Reply(f"Series {s.id} ({s.title}) has no scheduled convenings ahead; nothing to cancel.")
    return Reply(
        f"Cancelled {counted(len(cancelled), 'upcoming convening')} of series {s.id} ({s.title}): "
        f"{', '.join(str(c.id) for c in cancelled)}. Those who answered are told."
    )
