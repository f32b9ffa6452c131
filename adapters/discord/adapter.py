"""The Discord adapter: one `discord.Client` in the running event loop, translating interactions and
thread messages for the core, and posting for the scheduler through `DiscordMessenger`.

`start()` connects with `Client.start()` as a task (never `run()`), waits until the client is ready,
then overwrites the configured guilds' commands (adapters/discord/commands.py). `stop()` closes it.

Intents: `Intents.default()` (no privileged intent). Forum-thread replies are recorded from messages
that mention the bot, whose text Discord always delivers; with `message_content=True` (the privileged
Message Content intent, switched on in the developer portal too) every reply in the forum's thread is.

Requests keep to Discord's global rate limit on our side (adapters/discord/pacing.py), and discord.py
paces each route by its headers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.commands import application_commands, member_of, place_of
from adapters.discord.interactions import Interactions
from adapters.discord.messenger import DiscordMessenger
from adapters.discord.pacing import global_pacer
from adapters.ratelimit import Bucket
from bot.errors import StartError
from bot.messenger import DeliveryError
from bot.ports import Core

log = logging.getLogger(__name__)

READY_TIMEOUT = 30.0


class DiscordStartError(StartError):
    """Discord could not be reached or refused the bot; the message says which setting to check."""


class DiscordAdapter:
    platform = "discord"

    def __init__(
        self,
        core: Core,
        *,
        message_content: bool | None = None,
        ready_timeout: float = READY_TIMEOUT,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self.core = core
        self.settings = core.settings
        if message_content is None:
            message_content = core.settings.discord_message_content
        self.message_content = message_content
        self.ready_timeout = ready_timeout
        self.guild_ready_timeout = guild_ready_timeout
        self._client: discord.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._restore: list[tuple[Any, str, Any]] = []
        self.messenger = DiscordMessenger(core, self._connected)
        self.interactions = Interactions(core, lambda: self._client, self.sync_commands)

    @property
    def client(self) -> discord.Client | None:
        return self._client

    def _connected(self) -> discord.Client:
        if self._client is None or self._client.is_closed():
            raise DeliveryError("the Discord adapter is not connected", retryable=True)
        return self._client

    def intents(self) -> discord.Intents:
        intents = discord.Intents.default()
        intents.message_content = self.message_content
        return intents

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._point_at_api()
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # copbot has no voice features
        pace = Bucket(time.monotonic, limit=self.settings.discord_requests_per_second)
        client = discord.Client(
            intents=self.intents(),
            guild_ready_timeout=self.guild_ready_timeout,
            http_trace=global_pacer(pace),
        )
        client.event(self.on_interaction)
        client.event(self.on_message)
        self._client = client
        self._task = asyncio.create_task(client.start(self.settings.discord_token), name="discord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {self._task, ready}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if self._task in done:
                raise self._start_error(self._task.exception())
            if ready not in done:
                raise DiscordStartError(
                    f"Discord did not become ready within {self.ready_timeout:.0f} s; check the "
                    "network, DISCORD_GATEWAY_URL and the bot's intents in the developer portal."
                )
            count = await self.sync_commands()
            log.info("Discord: connected as %s; %d commands registered", client.user, count)
        except BaseException:
            ready.cancel()
            await self.stop()
            raise

    @staticmethod
    def _start_error(exc: BaseException | None) -> DiscordStartError:
        if isinstance(exc, discord.LoginFailure):
            return DiscordStartError(
                "Discord refused the bot token: check DISCORD_TOKEN (Bot > Reset Token in the "
                "developer portal)."
            )
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            return DiscordStartError(
                "Discord refused a privileged intent: turn on Message Content for the bot in "
                "the developer portal, or turn DISCORD_MESSAGE_CONTENT off."
            )
        return DiscordStartError(
            f"could not connect to Discord: {exc.__class__.__name__ if exc else 'stopped'}"
        )

    async def stop(self) -> None:
        client, task = self._client, self._task
        self._client = self._task = None
        if client is not None:
            await client.close()
        if task is not None:
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass
        for owner, name, value in reversed(self._restore):
            setattr(owner, name, value)
        self._restore.clear()

    def _point_at_api(self) -> None:
        """DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL: another Discord-compatible server (tests, proxies).
        discord.py reads both from class attributes, so they are set for the process and restored on stop."""
        base = self.settings.discord_api_base_url.strip().rstrip("/")
        if base:
            if not re.search(r"/v\d+$", base):
                base += "/v10" if base.endswith("/api") else "/api/v10"
            self._set(discord.http.Route, "BASE", base)
        gateway = self.settings.discord_gateway_url.strip()
        if gateway:
            self._set(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(gateway))

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._restore.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    async def sync_commands(self) -> int:
        """Overwrite the commands of each configured guild (or the global ones when none is configured)."""
        client = self._connected()
        app_id = client.application_id
        if app_id is None:
            app_id = (await client.application_info()).id
        payloads = application_commands(self.core.registry)
        guilds = self.settings.guild_ids
        for guild_id in guilds:
            await client.http.bulk_upsert_guild_commands(app_id, guild_id, payloads)
        if not guilds:
            await client.http.bulk_upsert_global_commands(app_id, payloads)
        return len(payloads)

    # ---- events ------------------------------------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.interactions.handle(interaction)

    async def on_message(self, message: discord.Message) -> None:
        """A member's message in a thread: the core records it if the thread is the open forum's."""
        client = self._client
        if client is None or message.author.bot or (client.user and message.author.id == client.user.id):
            return
        if not isinstance(message.channel, discord.Thread):
            return
        text = message.content
        if client.user is not None:
            text = re.sub(rf"<@!?{client.user.id}>", "", text)
        if not text.strip():
            return  # no text without the Message Content intent, unless the bot was mentioned
        if not await self.core.claim_event(self.platform, f"message:{message.id}"):
            return
        place = place_of(message.channel, message.channel.id, message.guild.id if message.guild else None)
        await self.core.heard(member_of(message.author), place, text.strip(), message.jump_url)
