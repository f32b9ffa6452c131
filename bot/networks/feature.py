"""Networks within the community, each with its own coordinators and members."""

from sqlmodel import Session

from bot.context import Context
from bot.feature import Feature, HomeSection, PrivacyHook
from bot.messages import Choice, Reply
from bot.networks import models, service
from bot.networks.commands import network_group


async def _my_networks(ctx: Context) -> Reply:
    member = ctx.member

    def load(session: Session) -> Reply:
        mine = service.networks_of(session, member)
        return Reply(
            ", ".join(n.name for n in mine)
            if mine
            else "You are in no network yet. See them with: network list",
            choices=(Choice("All networks", "network list"),),
        )

    return await ctx.store.run(load)


FEATURE = Feature(
    name="networks",
    groups=(network_group,),
    tables=(models,),
    privacy=(PrivacyHook("networks", service.export_member, service.forget_member),),
    home=(HomeSection(30, "Your networks", _my_networks),),
    suggest={"network": service.suggest_networks},
)
