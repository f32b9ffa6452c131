"""Convenings: one-off and repeating meetings of a network, RSVPs, reminders and calendar files."""

from collections.abc import Mapping

from sqlalchemy import select
from sqlmodel import Session, col

from bot.context import Context, Services, find_member
from bot.feature import Feature, HomeSection, HttpAnswer, PrivacyHook, Route
from bot.messages import Choice, Item, Reply
from bot.messenger import time_mark
from bot.networks.models import Network
from bot.networks.service import is_closed, networks_of
from bot.zones import zone_for
from scheduling.convenings import calendar, mirror, models, service
from scheduling.convenings.commands import calendar_group, convening_group
from scheduling.convenings.models import Answer, Convening, ConveningStatus
from scheduling.convenings.series import series_group

ANSWER_LABEL = {
    Answer.GOING.value: "going",
    Answer.MAYBE.value: "maybe",
    Answer.NOT_GOING.value: "not going",
    Answer.WAITLIST.value: "on the waiting list",
}
NO_FEED = HttpAnswer(b"No such calendar. Ask the bot for your link: me calendar", status=404)


async def _upcoming(ctx: Context) -> Reply:
    member, now, default = ctx.member, ctx.now(), ctx.settings.timezone

    def load(session: Session) -> Reply:
        mine = networks_of(session, member)
        record = find_member(session, member)
        zone = zone_for(session, member, default)
        items = []
        if mine:
            rows = session.execute(
                select(Convening, Network)
                .join(Network, col(Network.id) == col(Convening.network_id))
                .where(
                    col(Convening.network_id).in_([n.id for n in mine]),
                    col(Convening.starts_at) > now,
                    col(Convening.status) == ConveningStatus.SCHEDULED.value,
                )
                .order_by(col(Convening.starts_at))
                .limit(5)
            ).all()
            for conv, net in rows:
                answer = service.answer_of(session, conv, record.id if record else None)
                items.append(
                    Item(
                        title=conv.title,
                        ref=str(conv.id),
                        fields=(
                            ("When", service.when_for(conv, zone)),
                            ("Network", net.name),
                            ("Your answer", ANSWER_LABEL.get(answer, "not answered yet")),
                        ),
                        choices=(
                            Choice("Going", f"convening rsvp {conv.id} going", style="primary"),
                            Choice("Maybe", f"convening rsvp {conv.id} maybe"),
                            Choice("Can't go", f"convening rsvp {conv.id} no"),
                        ),
                    )
                )
        return Reply("None coming up in your networks." if not items else "", items=tuple(items))

    return await ctx.store.run(load)


async def _feed(services: Services, params: Mapping[str, str]) -> HttpAnswer:
    token = params.get("token", "")
    body = (
        await services.store.run(lambda s: calendar.feed_for_token(s, token)) if len(token) <= 100 else None
    )
    if body is None:
        # The same answer for a wrong, reset or malformed token: nothing to learn by guessing.
        return NO_FEED
    return HttpAnswer(body, "text/calendar; charset=utf-8", headers={"Cache-Control": "private, max-age=300"})


async def _preview(ctx: Context, page: str) -> Reply | None:
    """/convenings/12 pasted in a channel: title, time (each reader sees their own zone), place and
    network; only for open networks' convenings, since copbot cannot know who reads the channel."""
    if not page.isdigit():
        return None

    def load(session: Session) -> Reply | None:
        conv = session.get(Convening, int(page))
        network = session.get(Network, conv.network_id) if conv is not None else None
        if conv is None or network is None or is_closed(network):
            return None
        facts = [("When", time_mark(conv.starts_at)), ("Where", conv.place or "to be announced")]
        facts.append(("Network", network.name))
        if conv.status == ConveningStatus.CANCELLED.value:
            facts.append(("Status", "cancelled"))
        agenda = " ".join(conv.agenda.split())[:280]
        return Reply(conv.title, items=(Item(title=conv.title, body=agenda, fields=tuple(facts)),))

    return await ctx.store.run(load)


FEATURE = Feature(
    name="convenings",
    groups=(convening_group, calendar_group, series_group),
    tables=(models,),
    privacy=(PrivacyHook("convenings", service.export_member, service.forget_member),),
    posts={**service.POSTS, **mirror.POSTS},
    home=(HomeSection(20, "Your upcoming convenings", _upcoming),),
    suggest={"convening": service.suggest_convenings},
    routes=(Route("/calendar/{token}.ics", _feed),),
    previews={"convenings": _preview},
    uses=("networks",),
)
