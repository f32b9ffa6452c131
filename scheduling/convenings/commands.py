"""The `convening` commands (schedule, show, list, edit, move, cancel, rsvp, attendees, ics) and
`me calendar` (the member's feed address, and resetting it). A convening is named by its number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from sqlalchemy import select
from sqlmodel import Session, col

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, write_audit
from bot.errors import ArgumentError, CommandError
from bot.messages import Attachment, Choice, Item, Reply, mention
from bot.networks import service as networks
from bot.networks.models import Network
from bot.networks.params import NetworkRef, coordinators_of
from bot.words import counted
from bot.zones import zone_for
from scheduling.convenings import calendar as cal
from scheduling.convenings import mirror as convening_mirror
from scheduling.convenings import service as svc
from scheduling.convenings.models import DEFAULT_LEADS, Answer, Convening, ConveningStatus
from scheduling.time.when import WhenError, parse_duration, parse_start, take_zone, zone_named

convening_group = CommandGroup(
    "convening", "meetings of a network: schedule, RSVP, reminders, calendar files"
)
calendar_group = CommandGroup("me", "")  # adds `me calendar` to the core's `me` group

Id = Annotated[
    int, Opt(help="the convening's number (see convening list)", min=1, metavar="ID", suggest="convening")
]
Capacity = Annotated[
    int | None, Opt(help="how many seats; more 'going' answers join a waitlist", min=1, max=100_000)
]


class RsvpAnswer(str, Enum):
    GOING = "going"
    MAYBE = "maybe"
    NO = "no"


ANSWERS = {RsvpAnswer.GOING: Answer.GOING, RsvpAnswer.MAYBE: Answer.MAYBE, RsvpAnswer.NO: Answer.NOT_GOING}


def _start(text: str, zone: str, now: datetime) -> tuple[datetime, str]:
    """Read a start (the zone named in the text wins over `zone`); returns it and the zone used."""
    try:
        named = take_zone(text)[1]
        tz = named.key if named else zone_named(zone).key
        return parse_start(text, tz, now), tz
    except WhenError as exc:
        raise ArgumentError(f"--start: {exc}.", "start") from None


def _reader_zone(session: Session, ctx: Context) -> str:
    return zone_for(session, ctx.member, ctx.settings.timezone)


def _managed(session: Session, convening: int, now: datetime, doing: str) -> Convening:
    conv = svc.get(session, convening, lock=True)
    svc.require_open(conv, now, doing)
    return conv


def _inside(session: Session, ctx: Context, convening: int, doing: str) -> tuple[Convening, Network]:
    """The convening, if the member may see inside its network (a closed network's are for its members)."""
    conv = svc.get(session, convening)
    network = session.get(Network, conv.network_id)
    assert network is not None
    networks.require_inside(session, ctx.settings, network, ctx.member, doing)
    return conv, network


BY_CONVENING = coordinators_of("convening", svc.network_of)


@convening_group.command("schedule", scope=coordinators_of("network"), audited=False)
async def schedule(
    ctx: Context,
    network: NetworkRef,
    *,
    title: Annotated[str, Opt(help="what the meeting is called", max_length=200)],
    start: Annotated[
        str, Opt(help='when it starts: "next Tuesday 2pm", "March 14 10:00 Central" or ISO', max_length=100)
    ],
    duration: Annotated[str, Opt(help='how long: "90 minutes", "1h30"', max_length=40)] = "1 hour",
    tz: Annotated[
        str, Opt(help="its time zone (IANA, e.g. America/Chicago); default yours", max_length=64)
    ] = "",
    place: Annotated[str, Opt(help="a room, an address or a video link", max_length=500)] = "",
    capacity: Capacity = None,
    agenda: Annotated[str, Opt(help="what will be discussed", long=True, max_length=4000)] = "",
    leads: Annotated[
        str, Opt(help="reminder lead times, e.g. 7d,1d,1h (or none)", max_length=100)
    ] = DEFAULT_LEADS,
) -> Reply:
    """Schedule a convening of a network you coordinate; members RSVP and get reminders.

    Example: convening schedule digital-leaders --title "Budget season" --start "March 14 2027 10:00 Central" --duration 90m --place https://meet.example/x --capacity 30
    """
    now, member = ctx.now(), ctx.member
    lead_list = svc.parse_leads(leads)
    try:
        length = parse_duration(duration)
    except WhenError as exc:
        raise ArgumentError(f"--duration: {exc}.", "duration") from None

    def apply(session: Session) -> tuple[Convening, Network, str]:
        n = networks.find(session, network)
        begins, zone = _start(start, tz or _reader_zone(session, ctx), now)
        conv = svc.create(
            session,
            n,
            member,
            now,
            title=title,
            starts_at=begins,
            length=length,
            tz=zone,
            place=place,
            capacity=capacity,
            agenda=agenda,
            leads=",".join(lead_list),
        )
        svc.tell_network(session, n, [conv], now, ctx.settings.timezone, leave_out={conv.created_by or 0})
        write_audit(session, member, "convening schedule", f"{conv.id} {n.slug} {conv.title}")
        return conv, n, _reader_zone(session, ctx)

    conv, n, zone = await ctx.store.run(apply)
    ctx.services.scheduler.wake()  # its calendar copy (convening_mirror) is due now
    return Reply(
        f"Scheduled convening {conv.id} of {n.name}: {conv.title}, {svc.when_for(conv, zone)}. "
        f"Its members are told by direct message and answer with: convening rsvp {conv.id} going",
        choices=(
            Choice("Show", f"convening show {conv.id}"),
            Choice("Calendar file", f"convening ics {conv.id}"),
        ),
    )


@convening_group.command("show")
async def show(ctx: Context, convening: Id) -> Reply:
    """Show a convening in your time zone, with its seats and your answer.

    Example: convening show 12
    """

    def load(session: Session) -> tuple[Convening, str, str, list[tuple[str, str]]]:
        conv, n = _inside(session, ctx, convening, "see its convenings")
        zone = _reader_zone(session, ctx)
        record = networks.record_of(session, ctx.member)
        counts = svc.answer_counts(session, conv)
        mine = svc.answer_of(session, conv, record.id) if record is not None else ""
        seats = f"{counts['going']} going" + (f" of {conv.capacity} seats" if conv.capacity else "")
        seats += f", {counts['maybe']} maybe" + (
            f", {counts['waitlist']} waitlisted" if counts["waitlist"] else ""
        )
        facts = [("When", svc.when_for(conv, zone))]
        if zone != conv.tz:
            facts.append(("Organiser's time", svc.when_for(conv, conv.tz)))
        minutes = int((conv.ends_at - conv.starts_at).total_seconds() // 60)
        facts += [
            ("Length", f"{minutes} minutes"),
            ("Where", conv.place or "to be announced"),
            ("Network", n.name),
            ("Answers", seats),
            ("You", mine.replace("_", " ") or "no answer yet"),
            (
                "Reminders",
                ", ".join(svc.lead_text(x) for x in svc.parse_leads(conv.lead_times)) + " before"
                if conv.lead_times
                else "none",
            ),
        ]
        if conv.status == ConveningStatus.CANCELLED.value:
            facts.append(("Status", "cancelled"))
        return conv, zone, mine, facts

    conv, zone, mine, facts = await ctx.store.run(load)
    choices: tuple[Choice, ...] = (Choice("Calendar file", f"convening ics {conv.id}"),)
    if conv.status == ConveningStatus.SCHEDULED.value and conv.starts_at > ctx.now():
        choices = (
            Choice("Going", f"convening rsvp {conv.id} going", style="primary"),
            Choice("Maybe", f"convening rsvp {conv.id} maybe"),
            Choice("Can't go", f"convening rsvp {conv.id} no"),
            *choices,
        )
    return Reply(
        f"Convening {conv.id}: {conv.title}\n{conv.agenda}".strip(), fields=tuple(facts), choices=choices
    )


@convening_group.command("list")
async def list_convenings(ctx: Context, network: NetworkRef = "") -> Reply:
    """List upcoming convenings (of one network, or all), in your time zone.

    Example: convening list digital-leaders
    """
    now = ctx.now()

    def load(session: Session) -> tuple[list[Item], str]:
        query = (
            select(Convening, Network)
            .join(Network, col(Network.id) == col(Convening.network_id))
            .where(col(Convening.starts_at) > now, col(Convening.status) == ConveningStatus.SCHEDULED.value)
        )
        feed = ""
        if network:
            n = networks.find(session, network)
            networks.require_inside(session, ctx.settings, n, ctx.member, "see its convenings and calendar")
            query = query.where(col(Convening.network_id) == n.id)
            feed = (
                f"Subscribe to {n.name}'s calendar: "
                f"{_address(ctx, cal.feed_path(cal.token_for(session, 'network', n.id or 0)))}"
            )
        zone = _reader_zone(session, ctx)
        inside: dict[int, bool] = {}
        items: list[Item] = []
        closed: set[str] = set()
        for c, n in session.execute(query.order_by(col(Convening.starts_at)).limit(50)).all():
            if (n.id or 0) not in inside:
                inside[n.id or 0] = networks.can_see_inside(session, ctx.settings, n, ctx.member)
            if not inside[n.id or 0]:
                closed.add(n.slug)
                continue
            items.append(
                Item(
                    title=c.title,
                    ref=str(c.id),
                    fields=(("When", svc.when_for(c, zone)), ("Network", n.name)),
                    choices=(Choice("Show", f"convening show {c.id}"),),
                )
            )
        if closed:
            feed = (feed + "\n" if feed else "") + (
                "Not shown: convenings of closed networks you are not in ("
                + ", ".join(sorted(closed))
                + "). How to join one: network show <network>"
            )
        return items, feed

    items, feed = await ctx.store.run(load)
    if not items:
        return Reply("No convenings are coming up." + (f"\n{feed}" if feed else ""))
    return Reply(f"{counted(len(items), 'upcoming convening')}:", items=tuple(items), footer=feed)


def _change(
    ctx: Context, convening: int, doing: str, mutate: Callable[[Session, Convening, datetime], Any]
) -> Any:
    now = ctx.now()

    def apply(session: Session) -> Any:
        conv = _managed(session, convening, now, doing)
        result = mutate(session, conv, now)
        svc.touch(conv, now)
        session.add(conv)
        session.flush()
        convening_mirror.plan_sync(session, conv, now)
        write_audit(session, ctx.member, f"convening {doing}", f"{conv.id} {conv.title}")
        return conv, result

    return apply


@convening_group.command("edit", scope=BY_CONVENING, audited=False)
async def edit(
    ctx: Context,
    convening: Id,
    *,
    title: Annotated[str | None, Opt(help="a new title", max_length=200)] = None,
    agenda: Annotated[str | None, Opt(help="a new agenda", long=True, max_length=4000)] = None,
    place: Annotated[str | None, Opt(help="a new place or video link", max_length=500)] = None,
    capacity: Capacity = None,
    duration: Annotated[str | None, Opt(help='a new length, e.g. "90 minutes"', max_length=40)] = None,
    leads: Annotated[str | None, Opt(help="new reminder lead times, e.g. 1d,1h", max_length=100)] = None,
) -> Reply:
    """Change a convening's details; everyone who answered is told once what changed.

    Example: convening edit 12 --place "Room 4B" --capacity 40
    """
    given = {
        k: v
        for k, v in {
            "title": title,
            "agenda": agenda,
            "place": place,
            "capacity": capacity,
            "duration": duration,
            "leads": leads,
        }.items()
        if v is not None
    }
    if not given:
        raise ArgumentError(
            "Say what to change: --title, --agenda, --place, --capacity, --duration or --leads. "
            'Example: convening edit 12 --place "Room 4B"'
        )
    length = None
    if duration is not None:
        try:
            length = parse_duration(duration)
        except WhenError as exc:
            raise ArgumentError(f"--duration: {exc}.", "duration") from None
    lead_list = svc.parse_leads(leads) if leads is not None else None
    tz = ctx.settings.timezone

    def mutate(session: Session, conv: Convening, now: datetime) -> list[str]:
        said = []
        if title is not None and " ".join(title.split()) != conv.title:
            said.append(f"title: {conv.title} -> {' '.join(title.split())}")
            conv.title = " ".join(title.split())
        if agenda is not None and agenda.strip() != conv.agenda:
            conv.agenda = agenda.strip()
            said.append("the agenda was updated")
        if place is not None and place.strip() != conv.place:
            said.append(f"place: {conv.place or 'none'} -> {place.strip()}")
            conv.place = place.strip()
        if capacity is not None and capacity != conv.capacity:
            said.append(f"seats: {conv.capacity or 'unlimited'} -> {capacity}")
            conv.capacity = capacity
        if length is not None and conv.starts_at + length != conv.ends_at:
            conv.ends_at = conv.starts_at + length
            said.append(f"length: {int(length.total_seconds() // 60)} minutes")
        if lead_list is not None and ",".join(lead_list) != conv.lead_times:
            svc.cancel_reminders(session, conv)
            conv.lead_times = ",".join(lead_list)
            svc.plan_reminders(session, conv, now, tz)
        if capacity is not None:
            svc.promote(session, conv, now, tz)
        if said:
            svc.notify_attendees(
                session,
                conv,
                now,
                tz,
                "edit",
                lambda zone: (
                    f"{conv.title} ({svc.when_for(conv, zone)}) has changed: " + "; ".join(said) + "."
                ),
            )
        return said

    conv, said = await ctx.store.run(_change(ctx, convening, "edit", mutate))
    ctx.services.scheduler.wake()
    return Reply(
        f"Updated convening {conv.id}"
        + (f": {'; '.join(said)}. Those who answered are told." if said else " (reminder times only).")
    )


@convening_group.command("move", scope=BY_CONVENING, audited=False)
async def move(
    ctx: Context,
    convening: Id,
    *,
    to: Annotated[str, Opt(help="the new start, as for schedule", max_length=100)],
) -> Reply:
    """Move a convening to a new start; attendees get one message with the old and new time.

    Example: convening move 12 --to "March 21 2027 10:00"
    """
    tz = ctx.settings.timezone

    def mutate(session: Session, conv: Convening, now: datetime) -> datetime:
        old = conv.starts_at
        begins, zone = _start(to, conv.tz, now)
        if begins == old:
            raise CommandError(f"Convening {conv.id} already starts then; nothing changed.")
        conv.ends_at, conv.starts_at, conv.tz = begins + (conv.ends_at - conv.starts_at), begins, zone
        svc.cancel_reminders(session, conv)
        svc.plan_reminders(session, conv, now, tz)
        svc.notify_attendees(
            session,
            conv,
            now,
            tz,
            "move",
            lambda z: (
                f"{conv.title} has moved: {svc.when_for(conv, z, old)} -> {svc.when_for(conv, z)}. "
                f"Still coming? convening rsvp {conv.id} going|maybe|no"
            ),
        )
        return old

    conv, _old = await ctx.store.run(_change(ctx, convening, "move", mutate))
    ctx.services.scheduler.wake()
    zone = await ctx.store.run(lambda s: _reader_zone(s, ctx))
    return Reply(f"Moved convening {conv.id} to {svc.when_for(conv, zone)}; those who answered are told.")


@convening_group.command("cancel", scope=BY_CONVENING, audited=False)
async def cancel(
    ctx: Context,
    convening: Id,
    *,
    reason: Annotated[str, Opt(help="why, for the attendees", max_length=300)] = "",
) -> Reply:
    """Cancel a convening; those who answered get one notice and no more reminders.

    Example: convening cancel 12 --reason "the speaker is ill"
    """
    tz = ctx.settings.timezone

    def mutate(session: Session, conv: Convening, now: datetime) -> None:
        conv.status = ConveningStatus.CANCELLED.value
        svc.cancel_reminders(session, conv)
        svc.cancel_news(session, conv)
        svc.notify_attendees(
            session,
            conv,
            now,
            tz,
            "cancel",
            lambda z: (
                f"Cancelled: {conv.title}, {svc.when_for(conv, z)}, will not take place"
                + (f": {reason.strip()}." if reason.strip() else ".")
            ),
        )

    conv, _ = await ctx.store.run(_change(ctx, convening, "cancel", mutate))
    ctx.services.scheduler.wake()
    return Reply(f"Cancelled convening {conv.id} ({conv.title}); those who answered are told.")


@convening_group.command("rsvp")
async def rsvp(
    ctx: Context,
    convening: Id,
    answer: Annotated[RsvpAnswer, Opt(help="going, maybe or no")],
    *,
    remind: Annotated[bool, Opt(help="with maybe: send me the reminders too")] = False,
) -> Reply:
    """Answer whether you are going; you can change it until the start.

    Example: convening rsvp 12 going
    Example: convening rsvp 12 maybe --remind
    """
    now, tz = ctx.now(), ctx.settings.timezone

    def apply(session: Session) -> tuple[Convening, Answer, list[Any]]:
        record = networks.record_of(session, ctx.member)
        answered = svc.answer_of(session, svc.get(session, convening), record.id) if record else ""
        if not (answer is RsvpAnswer.NO and answered):  # one who left a closed network can still free a seat
            _inside(session, ctx, convening, "answer its convenings")
        return svc.rsvp(session, convening, ctx.member, ANSWERS[answer], remind, now, tz)

    conv, stored, promoted = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    if stored is Answer.WAITLIST:
        return Reply(
            f"{conv.title} is full: you are on the waitlist and will be told by direct message if a "
            f"seat opens. To leave it: convening rsvp {conv.id} no"
        )
    said = {
        Answer.GOING: "You are going to",
        Answer.MAYBE: "You might go to",
        Answer.NOT_GOING: "You are not going to",
    }[stored]
    extra = f" Your seat went to {mention(promoted[0].as_member())}." if promoted else ""
    return Reply(
        f"{said} {conv.title}.{extra}", choices=(Choice("Calendar file", f"convening ics {conv.id}"),)
    )


@convening_group.command("attendees", host_only=True)
async def attendees(ctx: Context, convening: Id) -> Reply:
    """List who is going (those who chose to appear in lists), with counts of the rest.

    Example: convening attendees 12
    """

    def load(session: Session) -> tuple[Convening, dict[str, list[str]], int]:
        conv, _ = _inside(session, ctx, convening, "see who goes to its convenings")
        names: dict[str, list[str]] = {"going": [], "maybe": [], "waitlist": []}
        hidden = 0
        for r, record, profile in svc.attendees(session, conv, tuple(names)):
            if profile is not None and not profile.show_in_lists:
                hidden += 1
                continue
            names[r.answer].append(mention(record.as_member()))
        return conv, names, hidden

    conv, names, hidden = await ctx.store.run(load)
    items = tuple(
        Item(title=f"{label.capitalize()} ({len(who)})", body=", ".join(who) or "—")
        for label, who in names.items()
    )
    text = f"Answers for {conv.title}" + (f"; {hidden} more chose not to be listed." if hidden else ".")
    return Reply(text, items=items, footer="Whether you are listed is your choice: me lists show|hide")


@convening_group.command("ics")
async def ics(ctx: Context, convening: Id) -> Reply:
    """Download a convening as a calendar file (.ics), in its own time zone.

    Example: convening ics 12
    """

    def load(session: Session) -> tuple[Convening, bytes]:
        conv, _ = _inside(session, ctx, convening, "see its convenings")
        return conv, cal.ics_for(session, conv)

    conv, content = await ctx.store.run(load)
    return Reply(
        f"Calendar file for {conv.title} (update {conv.sequence}).",
        attachments=(Attachment(f"convening-{conv.id}.ics", content, "text/calendar"),),
    )


def _address(ctx: Context, path: str) -> str:
    """The feed's full address when COPBOT_PUBLIC_URL says where `copbot serve` is reached."""
    base = ctx.settings.public_url.rstrip("/")
    return base + path if base else path


async def _my_feed(ctx: Context, reset: bool) -> str:
    def apply(session: Session) -> str:
        record = ensure_member(session, ctx.member)
        return cal.feed_path(cal.token_for(session, "member", record.id or 0, reset=reset))

    return _address(ctx, await ctx.store.run(apply))


@calendar_group.command("calendar")
async def me_calendar(ctx: Context) -> Reply:
    """Show the address of your calendar feed: the convenings you are going to. Keep it private."""
    path = await _my_feed(ctx, False)
    return Reply(
        f"Subscribe to your convenings in your calendar app: {path}\n"
        "Anyone with this address can read it; if it leaks, get a new one with: me calendar reset"
    )


@calendar_group.command("calendar reset")
async def me_calendar_reset(ctx: Context) -> Reply:
    """Give your calendar feed a new address; the old one stops working."""
    path = await _my_feed(ctx, True)
    return Reply(f"Your calendar feed has a new address: {path}\nThe old address no longer works.")
