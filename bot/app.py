"""The one place that wires copbot together: settings, store, commands, dispatcher, adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlmodel import Session

from bot.commands import CommandGroup, CommandRegistry
from bot.config import Settings
from bot.context import Services, system_clock, write_audit
from bot.dispatcher import Dispatcher
from bot.help import general
from bot import platform_events as events
from bot.context import Context
from bot.messages import Incoming, Member, Place, Reply
from bot.messenger import Messenger
from bot.permissions import Role
from bot.privacy import CORE_HOOK, PrivacyHook, me
from bot.profile import profile_group
from bot.roles import audit, roles, set_role
from bot.unreachable import unreachable_group
from bot.store.db import Store, make_engine, upgrade
from bot.store.models import RoleGrant
from content.practices import service as practices_service
from content.practices.commands import practices
from content.resources import service as resources_service
from content.resources.catalog_sync import read_catalog, sync_catalog
from content.resources.commands import interests_group, resources
from content.resources.curation import curation
from content.search_commands import everything
from scheduling import (
    convening_calendar,
    convening_mirror,
    convening_series,
    convenings,
    date_poll_commands,
    date_polls,
    follow_up,
    forum,
    introductions,
    networks,
    practice_proposals,
    suggestions,
)
from scheduling import digest as digest_schedule
from scheduling import forum_commands
from scheduling.convening_commands import calendar_group, convening_group
from scheduling.follow_up_commands import after_group
from scheduling.forum_commands import clock_group, forum_group, schedule_group
from scheduling.home import home_group, overview
from scheduling.intro_commands import intro_group
from scheduling.network_commands import network_group
from scheduling.runner import Scheduler

log = logging.getLogger(__name__)

FEATURES: tuple[CommandGroup, ...] = (
    general, everything, roles, audit, me, profile_group, interests_group, practices, resources, curation,
    home_group, forum_group, schedule_group, unreachable_group, clock_group, network_group, convening_group, calendar_group,
    practice_proposals.proposals, convening_series.series_group, date_poll_commands.datepoll_group, after_group, intro_group,
)
# Every feature that stores member data says how to export it and how to forget a member.
PRIVACY_HOOKS: tuple[PrivacyHook, ...] = (
    CORE_HOOK,
    PrivacyHook("practices", practices_service.export_member, practices_service.forget_member),
    PrivacyHook("forum", forum.export_member, forum.forget_member),
    PrivacyHook("resources", resources_service.export_member, resources_service.forget_member),
    PrivacyHook("networks", networks.export_member, networks.forget_member),
    PrivacyHook("convenings", convenings.export_member, convenings.forget_member),
    PrivacyHook("date_polls", date_polls.export_member, date_polls.forget_member),
    PrivacyHook("introductions", introductions.export_member, introductions.forget_member),
    PrivacyHook("follow_up", follow_up.export_member, follow_up.forget_member),
    PrivacyHook("practice_proposals", practice_proposals.export_member, practice_proposals.forget_member),
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
    scheduler: Scheduler

    async def dispatch(self, incoming: Incoming) -> list[Reply]:
        return await self.dispatcher.handle(incoming)

    def add_messenger(self, messenger: Messenger) -> None:
        self.scheduler.add_messenger(messenger)

    async def start(self) -> None:
        """Start the scheduler in the running event loop (the entry point owns the loop)."""
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()

    async def healthy(self) -> bool:
        """The database answers (for /healthz)."""
        return bool(await self.store.run(lambda s: s.execute(select(1)).scalar()))

    async def calendar_feed(self, token: str) -> bytes | None:
        """The .ics feed an unguessable token opens (a member's or a network's), or None."""
        return await self.store.run(lambda s: convening_calendar.feed_for_token(s, token))

    async def notify_coordinators(self, text: str) -> None:
        """DM every coordinator and admin the bot can reach (skipped or failed posts, and the like)."""
        targets = await self.store.run(coordinator_ids)
        targets |= set(self.settings.bootstrap_admins)
        for platform, user_id in sorted(targets):
            messenger = self.scheduler.messengers.get(platform)
            if messenger is not None:
                await messenger.send_dm(user_id, Reply(f"Coordinator notice: {text}"))

    async def set_local_role(self, member: Member, role: Role, reason: str) -> None:
        """Give a console identity a role (the console is local and trusted); audited."""

        def apply(session: Session) -> None:
            previous = set_role(session, member, role, granted_by=reason)
            if previous != role:
                write_audit(session, member, "role set", f"{member.platform}:{member.user_id} "
                            f"{previous.label} -> {role.label} ({reason})")

        await self.store.run(apply)

    # ---- what adapters tell the core besides commands (see bot/platform_events.py) --------------------

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen (by any process sharing the store); False for a retry."""
        now = self.dispatcher.services.clock()
        return await self.store.run(lambda s: events.claim_event(s, platform, event_id, now))

    async def learn_timezone(self, member: Member, zone: str) -> None:
        """A member's chat profile says `zone`; used unless they chose one with `me timezone`."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return
        await self.store.run(lambda s: events.learn_timezone(s, member, zone))

    async def member_zone(self, member: Member) -> str:
        """The zone to render times in for this member (theirs, their chat profile's, or the community's)."""
        zone = await self.store.run(lambda s: events.zone_of(s, member))
        return zone or self.settings.timezone

    async def thread_message(self, member: Member, place: Place, text: str, link: str | None) -> int | None:
        """A message in a thread: if it is the open forum's thread, it is recorded as a reply (its id)."""
        now = self.dispatcher.services.clock()
        return await self.store.run(lambda s: forum_commands.thread_reply(s, member, place, text, link or "", now))

    async def unreachable(self, platform: str, user_id: str, reason: str) -> bool:
        """A DM could not reach a member; True the first time (so the adapter tells them elsewhere once)."""
        now = self.dispatcher.services.clock()
        return await self.store.run(lambda s: events.record_unreachable(s, platform, user_id, reason, now))

    async def reachable(self, platform: str, user_id: str) -> None:
        await self.store.run(lambda s: events.clear_unreachable(s, platform, user_id))

    async def remember_button(self, key: str, command: str) -> None:
        """Store a button command too long for the platform's button id, under `key`."""
        now = self.dispatcher.services.clock()
        await self.store.run(lambda s: events.remember_button(s, key, command, now))

    async def button_command(self, key: str) -> str | None:
        return await self.store.run(lambda s: events.button_command(s, key))

    async def suggest(self, kind: str, prefix: str, member: Member) -> list[tuple[str, str]]:
        """What a member may mean while typing (Discord autocomplete): tags, networks, convenings, resources."""
        return await suggestions.suggest(self.store, kind, prefix, member)

    async def home(self, member: Member, place: Place) -> list[tuple[str, Reply]]:
        """The member's overview (the Slack App Home): headings with replies."""
        incoming = Incoming(member=member, place=place, text="home")
        role = await self.dispatcher.role_for(incoming)
        return await overview(Context(incoming=incoming, role=role, services=self.dispatcher.services))

    def close(self) -> None:
        self.scheduler.store.close()
        self.store.close()


def coordinator_ids(session: Session) -> set[tuple[str, str]]:
    grants = session.execute(select(RoleGrant).where(RoleGrant.role >= int(Role.COORDINATOR))).scalars()
    return {(g.platform, g.user_id) for g in grants}


def build_app(settings: Settings, *, clock: Callable[[], datetime] = system_clock, migrate: bool = True,
              catalog_dir: Path | None = None) -> App:
    """Wire the app. The resource catalog (default content/catalog) is read first: a CatalogError stops
    the start before the database is touched; then it is applied in one transaction."""
    catalog = read_catalog(catalog_dir)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    store = Store(engine)
    try:
        store.run_sync(lambda s: sync_catalog(s, catalog, catalog_dir))
        store.run_sync(lambda s: digest_schedule.ensure_planned(s, clock()))
    except BaseException:
        store.close()
        raise
    registry = build_registry()
    scheduler = Scheduler(store.sibling(workers=2), settings, clock)  # its own threads: replies never wait
    forum.register(scheduler)
    digest_schedule.register(scheduler)
    convenings.register(scheduler)
    convening_mirror.register(scheduler)
    introductions.register(scheduler)
    follow_up.register(scheduler)
    services = Services(store=store, settings=settings, registry=registry, clock=clock,
                        privacy_hooks=PRIVACY_HOOKS, scheduler=scheduler)
    app = App(settings=settings, store=store, registry=registry, dispatcher=Dispatcher(services),
              scheduler=scheduler)
    scheduler.notify = app.notify_coordinators
    return app
