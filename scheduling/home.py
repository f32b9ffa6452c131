"""`home`: one member's overview, gathered from every feature (the Slack App Home shows the same)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlmodel import Session, col

from bot.commands import CommandGroup
from bot.context import Context
from bot.errors import CommandError
from bot.messages import Choice, Item, Reply
from bot.store.models import MemberRecord
from content.practices import service as practices
from content.practices.commands import practice_item
from content.practices.models import Practice, Status
from scheduling import convenings as svc
from scheduling.convenings_models import Answer, Convening, ConveningStatus
from scheduling.forum import member_zone
from scheduling.networks_models import MembershipState, Network, NetworkMember

home_group = CommandGroup("", "")

ANSWER_LABEL = {Answer.GOING.value: "going", Answer.MAYBE.value: "maybe", Answer.NOT_GOING.value: "not going",
                Answer.WAITLIST.value: "on the waiting list"}


async def _section(ctx: Context, path: str, words: list[str]) -> Reply:
    """Run another command for the same member (its own permission check included)."""
    cmd = ctx.services.registry.commands[path]
    parsed = ctx.services.registry.bind(cmd, words, {})
    try:
        result = await cmd.func(ctx, **parsed.args)
    except CommandError as exc:  # "no forum is scheduled yet" is an answer here, not a failure
        return Reply(str(exc))
    return result[0] if isinstance(result, list) else result


async def overview(ctx: Context) -> list[tuple[str, Reply]]:
    """The home sections, each a heading and a reply (buttons included)."""
    member, now = ctx.member, ctx.now()

    def load(session: Session) -> tuple[Reply, Reply, Reply]:
        record = session.execute(select(MemberRecord).where(MemberRecord.platform == member.platform,
                                                            MemberRecord.user_id == member.user_id)).scalars().first()
        mine = []
        if record is not None:
            mine = list(session.execute(
                select(Network).join(NetworkMember, col(NetworkMember.network_id) == Network.id)
                .where(NetworkMember.member_id == record.id, NetworkMember.state == MembershipState.MEMBER.value,
                       col(Network.archived).is_(False)).order_by(col(Network.name))).scalars())
        zone = member_zone(session, member.platform, member.user_id, ctx.settings.timezone)
        items = []
        if mine:
            rows = session.execute(
                select(Convening, Network).join(Network, col(Network.id) == Convening.network_id)
                .where(col(Convening.network_id).in_([n.id for n in mine]), Convening.starts_at > now,
                       Convening.status == ConveningStatus.SCHEDULED.value)
                .order_by(col(Convening.starts_at)).limit(5)).all()
            for conv, net in rows:
                answer = svc.answer_of(session, conv, record.id if record else None)
                items.append(Item(
                    title=conv.title, ref=str(conv.id),
                    fields=(("When", svc.when_for(conv, zone)), ("Network", net.name),
                            ("Your answer", ANSWER_LABEL.get(answer, "not answered yet"))),
                    choices=(Choice("Going", f"convening rsvp {conv.id} going", style="primary"),
                             Choice("Maybe", f"convening rsvp {conv.id} maybe"),
                             Choice("Can't go", f"convening rsvp {conv.id} no"))))
        convs = Reply("None coming up in your networks." if not items else "", items=tuple(items))
        nets = Reply(", ".join(n.name for n in mine) if mine else
                     "You are in no network yet. See them with: network list",
                     choices=(Choice("All networks", "network list"),))
        recent = list(session.execute(select(Practice).where(Practice.status == Status.ACTIVE.value)
                                      .order_by(col(Practice.created_at).desc()).limit(3)).scalars())
        practice_items = tuple(practice_item(v) for v in practices.views(session, recent))
        recent_reply = Reply("" if practice_items else "No practices shared yet. Share one: practice share",
                             items=practice_items, choices=(Choice("Share a practice", "practice share"),))
        return convs, nets, recent_reply

    convs, nets, recent = await ctx.store.run(load)
    return [("Next open forum", await _section(ctx, "forum next", ["--count", "1"])),
            ("Your upcoming convenings", convs), ("Your networks", nets), ("Recent practices", recent),
            ("Suggested resources", await _section(ctx, "resource suggest", ["--count", "3"])),
            ("Your settings", _with_setting_buttons(await _section(ctx, "me show", [])))]


def _with_setting_buttons(reply: Reply) -> Reply:
    """The settings a member changes most, one press away (the rest are named in the footer)."""
    reminders_on = any(label.startswith("Reminders") and value.startswith("on") for label, value in reply.fields)
    toggle = (Choice("Turn DM reminders off", "me reminders off") if reminders_on
              else Choice("Turn DM reminders on", "me reminders on", style="primary"))
    return replace(reply, choices=reply.choices + (toggle,))


@home_group.command("home")
async def home(ctx: Context) -> list[Reply]:
    """Your overview: the next forum, your convenings, networks, recent practices, suggestions, settings.

    Example: home
    """
    out = []
    for heading, reply in await overview(ctx):
        text = f"**{heading}**" + (f"\n{reply.text}" if reply.text else "")
        out.append(Reply(text, items=reply.items, fields=reply.fields, choices=reply.choices,
                         footer=reply.footer))
    return out
