"""The `intro` commands: join, leave, round, skip, met, status. Peer introductions per network."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, write_audit
from bot.errors import ArgumentError
from bot.messages import Choice, Item, Reply
from bot.messenger import format_in_zone
from bot.networks import service as networks
from bot.networks.models import Network
from bot.networks.params import NetworkRef, coordinators_of
from bot.zones import zone_for
from scheduling.introductions import service as svc
from scheduling.introductions.models import IntroRound
from scheduling.time.when import WhenError, parse_start, take_zone, zone_named

intro_group = CommandGroup(
    "intro", "peer introductions within a network: opt in, skip a round, say if you met"
)

RoundId = Annotated[
    int, Opt(help="the round's number (from the announcement or intro status)", min=1, metavar="ROUND")
]


class MetAnswer(str, Enum):
    YES = "yes"
    NO = "no"


@intro_group.command("join")
async def join(ctx: Context, network: NetworkRef) -> Reply:
    """Take part in a network's peer introductions (you must be a member of the network).

    Example: intro join digital-leaders
    """
    member = ctx.member

    def apply(session: Session) -> Network:
        n = networks.find(session, network)
        svc.join(session, n, member)
        return n

    n = await ctx.store.run(apply)
    return Reply(
        f"You are in the peer introductions of {n.name}. Each round is announced a day ahead; "
        f"to leave: intro leave {n.slug}"
    )


@intro_group.command("leave")
async def leave(ctx: Context, network: NetworkRef) -> Reply:
    """Stop taking part in a network's peer introductions.

    Example: intro leave digital-leaders
    """
    member = ctx.member

    def apply(session: Session) -> Network:
        n = networks.find(session, network)
        svc.leave(session, n, member)
        return n

    n = await ctx.store.run(apply)
    return Reply(f"You have left the peer introductions of {n.name}.")


@intro_group.command("round", scope=coordinators_of("network"), audited=False)
async def plan_round(
    ctx: Context,
    network: NetworkRef,
    *,
    on: Annotated[
        str, Opt(help='when to pair: "2027-03-14 09:00" (your time zone unless one is named)', max_length=100)
    ],
) -> Reply:
    """Plan an introduction round (network coordinators): announced a day before, a follow-up a week after.

    Example: intro round digital-leaders --on "2027-03-14 09:00"
    """
    member, settings, now = ctx.member, ctx.settings, ctx.now()

    def apply(session: Session) -> tuple[Network, IntroRound, str]:
        n = networks.find(session, network)
        zone = zone_for(session, member, settings.timezone)
        try:
            named = take_zone(on)[1]
            zone = named.key if named else zone_named(zone).key
            at = parse_start(on, zone, now)
        except WhenError as exc:
            raise ArgumentError(f"--on: {exc}.", "on") from None
        rnd = svc.schedule_round(session, settings, n, member, at, now)
        write_audit(session, member, "intro round", f"{n.slug} round {rnd.id} at {at.isoformat()}")
        return n, rnd, zone

    n, rnd, zone = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(
        f"Planned introduction round {rnd.id} in {n.name} for {format_in_zone(rnd.scheduled_for, zone)}. "
        "Members who opted in are told a day before and can skip it; a follow-up goes a week later."
    )


@intro_group.command("skip")
async def skip(ctx: Context, round: RoundId) -> Reply:  # noqa: A002 - the command's word
    """Sit out one introduction round.

    Example: intro skip 3
    """
    member, now = ctx.member, ctx.now()
    rnd = await ctx.store.run(lambda s: svc.skip(s, round, member, now))
    return Reply(f"You sit out round {rnd.id}; you stay in for the next ones.")


@intro_group.command("met")
async def met(
    ctx: Context,
    pairing: Annotated[
        int, Opt(help="the introduction's number (from the follow-up)", min=1, metavar="PAIRING")
    ],
    answer: Annotated[MetAnswer, Opt(help="yes or no")],
) -> Reply:
    """Say whether you met the people you were introduced to.

    Example: intro met 12 yes
    """
    member, now = ctx.member, ctx.now()
    names = await ctx.store.run(lambda s: svc.answer_met(s, pairing, member, answer is MetAnswer.YES, now))
    if answer is MetAnswer.YES:
        return Reply(f"Glad you met {', '.join(names)}. Thanks for telling us.")
    return Reply("Thanks for telling us. There is always the next round.")


@intro_group.command("status")
async def status(ctx: Context, network: NetworkRef) -> Reply:
    """Show a network's peer introductions: whether you take part, coming rounds and your introductions.

    Example: intro status digital-leaders
    """
    member, settings, now = ctx.member, ctx.settings, ctx.now()

    def load(session: Session) -> tuple[svc.Status, str]:
        n = networks.find(session, network)
        return svc.status(session, n, member, now), zone_for(session, member, settings.timezone)

    st, zone = await ctx.store.run(load)
    n = st.network
    fields = (("You", "taking part" if st.opted_in else "not taking part"), ("Taking part", str(st.count)))
    items = [
        Item(
            title=f"Round {r.id}: {format_in_zone(r.scheduled_for, zone)}",
            body="you skip it" if skipped else "",
            choices=() if skipped or not st.opted_in else (Choice("Skip", f"intro skip {r.id}"),),
        )
        for r, skipped in st.upcoming
    ]
    items += [
        Item(
            title=f"Introduction {pid}: {', '.join(names)}",
            body={True: "you met", False: "you did not meet", None: "did you meet?"}[answer],
        )
        for pid, names, answer in st.mine
    ]
    choice = (
        Choice("Leave", f"intro leave {n.slug}")
        if st.opted_in
        else Choice("Take part", f"intro join {n.slug}", style="primary")
    )
    return Reply(f"Peer introductions in {n.name}", fields=fields, items=tuple(items), choices=(choice,))
