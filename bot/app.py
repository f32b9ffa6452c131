"""The one place that wires copbot together: settings, store, features, dispatcher, scheduler.

`FEATURES` lists every feature; everything else (commands, tables, privacy hooks, planned-post kinds,
home sections, autocomplete, HTTP routes, start-up steps) is read from their declarations. Adding a
feature is one package with a `feature.py` and one line here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import Session, SQLModel, col

from bot import zones
from bot.commands import CommandRegistry
from bot.config import Settings
from bot.context import Context, Services, system_clock, write_audit
from bot.dispatcher import Dispatcher
from bot.errors import CommandError
from bot.feature import Feature, Route, StartOptions, StartStep
from bot.foreground import Foreground
from bot.guide.feature import FEATURE as guide
from bot.guide.home import overview
from bot.members import events, signin
from bot.members.feature import FEATURE as members
from bot.members.roles import set_role
from bot.messages import Incoming, Member, Place, Reply, printable
from bot.messenger import Messenger
from bot.networks.feature import FEATURE as networks
from bot.permissions import Role
from bot.store.db import Store, make_engine, upgrade
from bot.store.gather import GatheredClaims
from bot.store.models import RoleGrant
from content.glossary.feature import FEATURE as glossary
from content.practices.feature import FEATURE as practices
from content.records.feature import FEATURE as records
from content.resources.feature import FEATURE as resources
from content.review.feature import FEATURE as review
from content.search.feature import FEATURE as search
from content.stats.feature import FEATURE as stats
from scheduling.convenings.after.feature import FEATURE as after
from scheduling.convenings.datepoll.feature import FEATURE as datepoll
from scheduling.convenings.feature import FEATURE as convenings
from scheduling.engine.clock import is_demo
from scheduling.engine.feature import FEATURE as schedule
from scheduling.engine.runner import Scheduler
from scheduling.forum.feature import FEATURE as forum
from scheduling.introductions.feature import FEATURE as introductions
from scheduling.journeys.feature import FEATURE as journeys

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds a thread holds the GIL before another waiting one gets it
SCHEDULER_THREADS = 2  # the scheduler's own store threads (claims, handlers' reads, sent marks)

FEATURES: tuple[Feature, ...] = (
    guide,
    members,
    search,
    practices,
    resources,
    glossary,
    schedule,
    forum,
    networks,
    convenings,
    datepoll,
    after,
    introductions,
    journeys,
    review,
    records,
    stats,
)


def build_registry(features: tuple[Feature, ...] = FEATURES, *, demo: bool = False) -> CommandRegistry:
    """Every feature's commands; the demo-only groups (the `clock`) when `demo`, else a word about them."""
    registry = CommandRegistry()
    for feature in features:
        for group in feature.groups:
            registry.include(group)
        for group in feature.demo_groups:
            if demo:
                registry.include(group)
            else:
                registry.absent[group.name] = (
                    f"The {group.name} commands exist only in a demo: start "
                    "copbot with --demo (for example ./dev run --demo)."
                )
    return registry


@dataclass
class App:
    settings: Settings
    store: Store
    registry: CommandRegistry
    dispatcher: Dispatcher
    scheduler: Scheduler
    features: tuple[Feature, ...] = FEATURES

    @property
    def services(self) -> Services:
        return self.dispatcher.services

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

    @property
    def routes(self) -> tuple[Route, ...]:
        """The HTTP routes the features serve (calendar feeds, ...)."""
        return tuple(route for feature in self.features for route in feature.routes)

    async def notify_coordinators(self, text: str) -> None:
        """DM every coordinator and admin the bot can reach (skipped or failed posts, and the like)."""
        targets = await self.store.run(coordinator_ids)
        targets |= set(self.settings.bootstrap_admins)
        for platform, workspace, user_id in sorted(targets):
            messenger = self.scheduler.messengers.get(platform)
            if messenger is not None:
                await messenger.send_dm(user_id, Reply(f"Coordinator notice: {text}"), workspace=workspace)

    async def set_local_role(self, member: Member, role: Role, reason: str) -> None:
        """Give a console identity a role (the console is local and trusted); audited."""

        def apply(session: Session) -> None:
            previous = set_role(session, member, role, granted_by=reason)
            if previous != role:
                write_audit(
                    session, member, "role set", f"{member.ref} {previous.label} -> {role.label} ({reason})"
                )

        await self.store.run(apply)

    # ---- what adapters tell the core besides commands (see bot/members/events.py) --------------------

    async def serve_workspace(self, platform: str, workspace: str) -> None:
        """`platform`'s adapter serves `workspace` (a Slack team or Enterprise Grid org): remember it, and
        give it to rows stored before identities carried a workspace (see migration 0011)."""
        self.settings.serve_workspace(platform, workspace)
        tables = SQLModel.metadata.sorted_tables
        changed = await self.store.run(lambda s: events.adopt_workspace(s, tables, platform, workspace))
        if changed:
            log.info("%s: %d stored row(s) now name workspace %s", platform, changed, workspace)

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen (by any process sharing the store); False for a retry.
        Claims made at the same moment share one transaction (bot/store/gather.py)."""
        return await self.claims((platform, event_id[:100]))

    @cached_property
    def claims(self) -> GatheredClaims[tuple[str, str]]:
        return GatheredClaims(self.store, lambda s, keys: events.claim_events(s, keys, self.services.clock()))

    async def learn_timezone(self, member: Member, zone: str) -> None:
        """A member's chat profile says `zone`; used unless they chose one with `me timezone`."""
        if not zones.is_zone(zone):
            return
        await self.store.run(lambda s: events.learn_timezone(s, member, zone))

    async def member_zone(self, member: Member) -> str:
        """The zone to render times in for this member (theirs, their chat profile's, or the community's)."""
        return await self.store.run(lambda s: zones.zone_for(s, member, self.settings.timezone))

    async def heard(self, member: Member, place: Place, text: str, link: str | None) -> bool:
        """A message heard in a thread (not a command): True when a feature kept it (a forum reply)."""
        now = self.services.clock()
        text = printable(text)  # nobody to ask to fix a stray control character: it is left out
        listeners = [f.on_thread_message for f in self.features if f.on_thread_message is not None]

        def offer(session: Session) -> bool:
            return any(listen(session, member, place, text, link or "", now) for listen in listeners)

        return await self.store.run(offer)

    async def unreachable(self, platform: str, user_id: str, reason: str) -> bool:
        """A DM could not reach a member; True the first time (so the adapter tells them elsewhere once)."""
        now, member = self.services.clock(), self._served(platform, user_id)
        return await self.store.run(lambda s: events.record_unreachable(s, member, reason, now))

    async def reachable(self, platform: str, user_id: str) -> None:
        member = self._served(platform, user_id)
        await self.store.run(lambda s: events.clear_unreachable(s, member))

    def _served(self, platform: str, user_id: str) -> Member:
        """A DM goes to a user id in the workspace the platform's installation serves."""
        return Member(platform, user_id, workspace=self.settings.workspace(platform))

    async def remember_button(self, key: str, command: str) -> None:
        """Store a button command too long for the platform's button id, under `key`."""
        now = self.services.clock()
        await self.store.run(lambda s: events.remember_button(s, key, command, now))

    async def button_command(self, key: str) -> str | None:
        return await self.store.run(lambda s: events.button_command(s, key))

    async def suggest(self, kind: str, prefix: str, member: Member, limit: int = 25) -> list[tuple[str, str]]:
        """What a member may mean while typing (autocomplete): up to `limit` (label, value) pairs of a kind
        that some feature supplies (tag, network, convening, resource); none for an unknown kind."""
        supplier = next((f.suggest[kind] for f in self.features if kind in f.suggest), None)
        if supplier is None:
            return []
        now = self.services.clock()
        return await self.store.run(lambda s: supplier(s, prefix[:100], member, now, limit))

    async def home(self, member: Member, place: Place) -> list[tuple[str, Reply]]:
        """The member's overview (the Slack App Home): headings with replies."""
        incoming = Incoming(member=member, place=place, text="home")
        role = await self.dispatcher.role_for(incoming)
        return await overview(Context(incoming=incoming, role=role, services=self.services))

    async def preview(self, url: str, member: Member, place: Place) -> Reply | None:
        """The card a link to one of copbot's own pages unfurls into where `member` pasted it, or None (not
        a copbot page, or nothing to show that channel). Each feature decides for its pages."""
        base = signin.web_address(self.settings, "")
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}".lower() != base.lower().rstrip("/") or parts.query:
            return None
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2:
            return None
        supplier = next((f.previews[segments[0]] for f in self.features if segments[0] in f.previews), None)
        if supplier is None:
            return None
        incoming = Incoming(member=member, place=place, text=f"preview {url}")
        ctx = Context(
            incoming=incoming, role=await self.dispatcher.role_for(incoming), services=self.services
        )
        try:
            return await supplier(ctx, segments[1])
        except CommandError:  # not there, or not for this member: no card
            return None

    # ---- the web pages' sign-in (bot/members/signin.py) ------------------------------------------------

    async def signin_holder(self, token: str) -> Member:
        """Whom a sign-in link would sign in, before it is used; SigninRefused when it cannot be."""
        return await self.store.run(lambda s: signin.link_holder(s, token, self.services.clock()))

    async def sign_in(self, token: str) -> signin.SignedIn:
        """Spend a sign-in link and open a web session; SigninRefused when unknown, used or expired."""
        return await self.store.run(lambda s: signin.spend_link(s, token, self.services.clock()))

    async def web_session(self, cookie: str) -> signin.SignedIn | None:
        return await self.store.run(lambda s: signin.session_of(s, cookie, self.services.clock()))

    async def sign_out(self, cookie: str) -> None:
        await self.store.run(lambda s: signin.end_session(s, cookie))

    async def library_public(self) -> bool:
        return await self.store.run(signin.library_public)

    def close(self) -> None:
        self.scheduler.store.close()
        self.store.close()


def coordinator_ids(session: Session) -> set[tuple[str, str, str]]:
    """(platform, workspace, user id) of every coordinator and admin granted in the store."""
    grants = session.execute(select(RoleGrant).where(col(RoleGrant.role) >= int(Role.COORDINATOR))).scalars()
    return {(g.platform, g.workspace, g.user_id) for g in grants}


def build_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = system_clock,
    migrate: bool = True,
    catalog_dir: Path | None = None,
    glossary_dir: Path | None = None,
    journeys_dir: Path | None = None,
    features: tuple[Feature, ...] = FEATURES,
) -> App:
    """Wire the app. Each feature's `prepare` runs first (the resource catalog is read and checked there:
    a bad file stops the start before the database is touched; so are the glossary and the journeys); then
    their start steps, each in one transaction."""
    options = StartOptions(
        settings=settings, catalog_dir=catalog_dir, glossary_dir=glossary_dir, journeys_dir=journeys_dir
    )
    steps: list[StartStep] = [
        step for f in features if f.prepare and (step := f.prepare(options)) is not None
    ]
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    store = Store(engine)
    try:
        for step in steps:
            store.run_sync(lambda s, step=step: step(s, clock()))  # type: ignore[misc]
    except BaseException:
        store.close()
        raise
    registry = build_registry(features, demo=is_demo(clock))
    # The store's threads (background work's above all) run Python too; a request waiting for the
    # interpreter gets it within a millisecond instead of five (the default switch interval).
    sys.setswitchinterval(SWITCH_INTERVAL)
    foreground = Foreground()
    # the scheduler has its own threads, and yields to requests being answered: replies never wait
    scheduler = Scheduler(
        store.sibling(workers=SCHEDULER_THREADS, yield_to=foreground.turn),
        settings,
        clock,
        yield_to=foreground.turn,
    )
    for feature in features:
        scheduler.handlers.update(feature.posts)
    services = Services(
        store=store,
        settings=settings,
        registry=registry,
        clock=clock,
        features=features,
        scheduler=scheduler,
        foreground=foreground,
    )
    app = App(
        settings=settings,
        store=store,
        registry=registry,
        dispatcher=Dispatcher(services),
        scheduler=scheduler,
        features=features,
    )
    scheduler.notify = app.notify_coordinators
    return app
