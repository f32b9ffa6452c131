"""What other features declare with: the parameter that names a network, and "its coordinators only".

`convening schedule`, `datepoll propose`, `intro round`, `after attend` and the like are declared with
`scope=coordinators_of("network")` (or of the parameter naming a convening, poll or series, with a
function finding its network); the dispatcher checks it, help lists such commands only to people who
coordinate some network, and the dispatcher audits them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from sqlmodel import Session

from bot.commands import Opt, Scope
from bot.context import Context
from bot.networks import service
from bot.networks.models import Network

NetworkRef = Annotated[
    str,
    Opt(
        help="the network's short name (slug) or its name",
        max_length=100,
        metavar="NETWORK",
        example="digital-leaders",
        suggest="network",
    ),
]
"""A parameter naming a network; every feature's commands use this one (autocomplete included)."""

LABEL = "network coordinators"


def coordinators_of(param: str, network_of: Callable[[Session, Any], Network] | None = None) -> Scope:
    """Only the coordinators of the network that `param` names (by slug or name, or through `network_of`
    for a convening, poll or series number). Community coordinators and admins pass too."""
    find = network_of or service.find

    async def allows(ctx: Context, value: Any) -> None:
        settings, member = ctx.settings, ctx.member

        def check(session: Session) -> None:
            service.require_coordinator(session, settings, find(session, value), member)

        await ctx.store.run(check)

    async def held_by(ctx: Context) -> bool:
        settings, member = ctx.settings, ctx.member
        return await ctx.store.run(lambda s: service.coordinates_any(s, settings, member))

    return Scope(LABEL, param, allows, held_by)
