"""The one place that wires copbot together: settings, store, commands, dispatcher, adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlmodel import Session

from bot.commands import CommandGroup, CommandRegistry
from bot.config import Settings
from bot.context import Services, system_clock, write_audit
from bot.dispatcher import Dispatcher
from bot.help import general
from bot.messages import Incoming, Member, Reply
from bot.permissions import Role
from bot.privacy import CORE_HOOK, PrivacyHook, me
from bot.roles import audit, roles, set_role
from bot.store.db import Store, make_engine, upgrade
from content.practices import service as practices_service
from content.practices.commands import practices

log = logging.getLogger(__name__)

FEATURES: tuple[CommandGroup, ...] = (general, roles, audit, me, practices)
# Every feature that stores member data says how to export it and how to forget a member.
PRIVACY_HOOKS: tuple[PrivacyHook, ...] = (
    CORE_HOOK,
    PrivacyHook("practices", practices_service.export_member, practices_service.forget_member),
)


def build_registry(groups: tuple[CommandGroup, ...] = FEATURES) -> CommandRegistry:
    registry = CommandRegistry()
    for group in groups:
        registry.include(group)
    return registry


@dataclass
class App:
    settings: Settings
    store: Store
    registry: CommandRegistry
    dispatcher: Dispatcher

    async def dispatch(self, incoming: Incoming) -> list[Reply]:
        return await self.dispatcher.handle(incoming)

    async def set_local_role(self, member: Member, role: Role, reason: str) -> None:
        """Give a console identity a role (the console is local and trusted); audited."""

        def apply(session: Session) -> None:
            previous = set_role(session, member, role, granted_by=reason)
            if previous != role:
                write_audit(session, member, "role set", f"{member.platform}:{member.user_id} "
                            f"{previous.label} -> {role.label} ({reason})")

        await self.store.run(apply)

    def close(self) -> None:
        self.store.close()


def build_app(settings: Settings, *, clock: Callable[[], datetime] = system_clock, migrate: bool = True) -> App:
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    store = Store(engine)
    registry = build_registry()
    services = Services(store=store, settings=settings, registry=registry, clock=clock,
                        privacy_hooks=PRIVACY_HOOKS)
    return App(settings=settings, store=store, registry=registry, dispatcher=Dispatcher(services))
