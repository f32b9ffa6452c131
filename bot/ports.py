"""What an adapter may ask of the core: `bot.app.App` implements this, adapters depend only on it.

The design keeps adapters thin: they translate a platform's events into `Incoming`, call `dispatch`, and
render the replies. The few other calls here are facts only an adapter can learn (an event id already
seen, a member's chat-profile time zone, a thread message, a DM that could not be delivered). Nothing here
is named after one feature: features reach adapters through generic calls (`suggest(kind)`, `home`, `routes`).
"""

from __future__ import annotations

from typing import Protocol

from bot.commands import CommandRegistry
from bot.config import Settings
from bot.context import Services
from bot.feature import Route
from bot.members.signin import SignedIn
from bot.messages import Incoming, Member, Place, Reply
from bot.messenger import Messenger


class Core(Protocol):
    settings: Settings
    registry: CommandRegistry

    async def dispatch(self, incoming: Incoming) -> list[Reply]: ...

    def add_messenger(self, messenger: Messenger) -> None: ...

    async def serve_workspace(self, platform: str, workspace: str) -> None:
        """The workspace (Slack team or Enterprise Grid org) this installation serves on `platform`."""
        ...

    async def claim_event(self, platform: str, event_id: str) -> bool: ...

    async def learn_timezone(self, member: Member, zone: str) -> None: ...

    async def member_zone(self, member: Member) -> str: ...

    async def heard(self, member: Member, place: Place, text: str, link: str | None) -> bool:
        """A message in a thread that is not a command; True when a feature kept it (a forum reply)."""
        ...

    async def unreachable(self, platform: str, user_id: str, reason: str) -> bool: ...

    async def reachable(self, platform: str, user_id: str) -> None: ...

    async def remember_button(self, key: str, command: str) -> None: ...

    async def button_command(self, key: str) -> str | None: ...

    async def suggest(self, kind: str, prefix: str, member: Member, limit: int = 25) -> list[tuple[str, str]]:
        """Up to `limit` (label, value) pairs of a kind a parameter declares (`Opt(suggest=...)`)."""
        ...

    async def home(self, member: Member, place: Place) -> list[tuple[str, Reply]]: ...

    async def healthy(self) -> bool: ...

    async def signin_holder(self, token: str) -> Member:
        """Whom a web sign-in link (from `me web`) would sign in; SigninRefused when it cannot be used."""
        ...

    async def sign_in(self, token: str) -> SignedIn: ...

    async def web_session(self, cookie: str) -> SignedIn | None: ...

    async def sign_out(self, cookie: str) -> None: ...

    async def library_public(self) -> bool: ...

    async def preview(self, url: str, member: Member, place: Place) -> Reply | None:
        """The card a pasted link to a copbot page unfurls into there, or None (see Feature.previews)."""
        ...

    @property
    def routes(self) -> tuple[Route, ...]: ...

    @property
    def services(self) -> Services: ...
