"""Outbound on Discord: posts, threads (forum posts in forum channels), DMs, and convenings mirrored as
Guild Scheduled Events. Implements bot.messenger.Messenger and bot.messenger.EventMirror.

discord.py paces each route here: it keeps one bucket per route (per channel for messages), paces each
from Discord's X-RateLimit-Limit/Remaining/Reset-After headers and waits out a 429's retry_after for that
bucket alone (all requests only for a global 429, as Discord asks). The global limit itself is kept by
the client's pacer (adapters/discord/pacing.py), so a fan-out does not burst into it. What reaches us
is a real failure, mapped to DeliveryError(retryable=...) so the outbox retries what may succeed later
and gives up on the rest. A member's DM channel is made once (discord.py keeps it; concurrent sends
share the call).

A scheduled message carries a nonce made from SEND_KEY, and discord.py sends it with `enforce_nonce`, so
Discord answers a repeat within a few minutes (a retry after a crash between Discord's answer and the
sent mark) with the message it already made. Posts in forum channels (a thread with its first message)
take no nonce on Discord's side; they stay at-least-once.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord

from adapters.discord.render import clip, hashed_buttons, render_reply
from bot.messages import Reply, render_members
from bot.messenger import SEND_KEY, DeliveryError, MirrorEvent, Posted, PostTags, render_times
from bot.ports import Core

log = logging.getLogger(__name__)

PLATFORM = "discord"
CANNOT_DM = 50007  # "Cannot send messages to this user": DMs from server members are off
EVENT_NAME_MAX, EVENT_DESCRIPTION_MAX, EVENT_LOCATION_MAX = 100, 1000, 100
EXTERNAL, GUILD_ONLY, CANCELLED = 3, 2, 4
THREAD_NAME_MAX = 100
THREAD_EXISTS = 160004  # "A thread has already been created for this message"


def nonce(part: str = "") -> dict[str, Any]:
    """The message nonce for the scheduler's current call (SEND_KEY, plus `part` for a second message in
    the same call), as `send` keywords: stable across retries, at most 25 characters. None outside the
    scheduler, where discord.py picks a random one."""
    key = SEND_KEY.get()
    return {"nonce": hashlib.sha256(f"{key}{part}".encode()).hexdigest()[:25]} if key else {}


async def outgoing(core: Core, reply: Reply) -> tuple[dict[str, Any], bool]:
    """send() keyword arguments for a reply, and whether it is private. Long button commands are stored
    first, so a press finds them even after a restart. The view is stopped: presses are read raw."""
    for custom_id, command in hashed_buttons(reply).items():
        await core.remember_button(custom_id, command)
    rendered = render_reply(reply)
    kwargs: dict[str, Any] = {}
    content = rendered.content or ("" if rendered.embeds or reply.attachments else "Done.")
    if content:
        kwargs["content"] = content
    if rendered.embeds:
        kwargs["embeds"] = rendered.embeds
    if rendered.view is not None:
        rendered.view.stop()
        kwargs["view"] = rendered.view
    if reply.attachments:
        kwargs["files"] = [
            discord.File(io.BytesIO(a.content), filename=a.filename) for a in reply.attachments
        ]
    return kwargs, rendered.ephemeral or reply.is_error


@asynccontextmanager
async def delivering(what: str) -> AsyncIterator[None]:
    """Turn Discord failures into DeliveryError: server trouble and timeouts may pass, refusals will not."""
    try:
        yield
    except DeliveryError:
        raise
    except discord.DiscordServerError as exc:
        raise DeliveryError(f"{what}: Discord answered {exc.status}", retryable=True) from None
    except discord.HTTPException as exc:
        raise DeliveryError(
            f"{what}: Discord refused ({exc.status}, code {exc.code}: {exc.text[:200]})",
            retryable=exc.status == 429,
        ) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise DeliveryError(f"{what}: {exc.__class__.__name__}", retryable=True) from None


class DiscordMessenger:
    """Posts for the scheduler through the adapter's connected client."""

    platform = PLATFORM

    def __init__(self, core: Core, client: Callable[[], discord.Client]) -> None:
        self.core = core
        self._client = client
        self._unreachable: set[str] = set()  # refused a DM since this process started
        self._dm_opening: dict[str, asyncio.Future[discord.DMChannel]] = {}
        self._dm_channels: dict[str, int] = {}  # user id -> DM channel id

    @property
    def client(self) -> discord.Client:
        return self._client()

    async def _channel(self, channel_id: str) -> Any:
        client = self.client
        channel = client.get_channel(int(channel_id))
        if channel is None:
            channel = await client.fetch_channel(int(channel_id))
        return channel

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        """A message in the channel; in a forum channel, which holds only posts, a post titled with the
        reply's first line and tagged as `tags` chooses."""
        async with delivering(f"post in {channel_id}"):
            kwargs, _ = await outgoing(self.core, reply)
            channel = await self._channel(channel_id)
            if isinstance(channel, discord.ForumChannel):
                first_line = reply.text.strip().split("\n")[0]
                title = render_members(render_times(first_line, self.core.settings.timezone))
                return await self._forum_post(channel, title, kwargs, tags or PostTags())
            message = await channel.send(**kwargs, **nonce())
        return Posted(PLATFORM, channel_id, str(message.id), None, message.jump_url)

    @staticmethod
    async def _forum_post(
        channel: discord.ForumChannel, title: str, kwargs: dict[str, Any], tags: PostTags
    ) -> Posted:
        available = channel.available_tags
        chosen = tags.choose([t.name for t in available], title, channel.flags.require_tag)
        applied = [next(t for t in available if t.name == name) for name in chosen]
        made = await channel.create_thread(
            name=clip(" ".join(title.split()) or "Post", THREAD_NAME_MAX), applied_tags=applied, **kwargs
        )
        return Posted(
            PLATFORM, str(channel.id), str(made.message.id), str(made.thread.id), made.thread.jump_url
        )

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        """A forum channel gets a forum post, tagged as `tags` chooses; a text channel a message with a
        thread started from it."""
        name = clip(" ".join(render_members(title).split()) or "Thread", THREAD_NAME_MAX)
        async with delivering(f"thread in {channel_id}"):
            kwargs, _ = await outgoing(self.core, reply)
            channel = await self._channel(channel_id)
            if isinstance(channel, discord.ForumChannel):
                return await self._forum_post(channel, title, kwargs, tags or PostTags())
            message = await channel.send(**kwargs, **nonce())
            try:
                thread_id = str((await message.create_thread(name=name)).id)
            except discord.HTTPException as exc:
                if exc.code != THREAD_EXISTS:
                    raise
                thread_id = str(message.id)  # a retry got its message back, thread and all (same id)
        return Posted(PLATFORM, channel_id, str(message.id), thread_id, message.jump_url)

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        async with delivering(f"reply in thread {thread_id}"):
            kwargs, _ = await outgoing(self.core, reply)
            thread = await self._channel(thread_id)
            message = await thread.send(**kwargs, **nonce())
        return Posted(PLATFORM, channel_id, str(message.id), thread_id, message.jump_url)

    async def _dm(self, user_id: str) -> discord.DMChannel | discord.PartialMessageable:
        """The member's DM channel, made once per member for the process's life (discord.py keeps only
        the last 128; a fan-out to thousands would make each again). Concurrent sends to a member whose
        channel is not known yet share one POST /users/@me/channels."""
        if (known := self._dm_channels.get(user_id)) is not None:
            return self.client.get_partial_messageable(known, type=discord.ChannelType.private)
        opening = self._dm_opening.get(user_id)
        if opening is None:
            opening = asyncio.ensure_future(self.client.create_dm(discord.Object(id=int(user_id))))
            self._dm_opening[user_id] = opening
        try:
            channel = await asyncio.shield(opening)
        finally:
            if opening.done():
                self._dm_opening.pop(user_id, None)
        self._dm_channels[user_id] = channel.id
        return channel

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        """A direct message. A member who does not accept them (code 50007) is noted as unreachable and
        mentioned in DISCORD_NOTICE_CHANNEL_ID instead; without that channel the DM fails for good."""
        async with delivering(f"DM to {user_id}"):
            kwargs, _ = await outgoing(self.core, reply)
            dm = await self._dm(user_id)
            try:
                message = await dm.send(**kwargs, **nonce())
            except discord.Forbidden as exc:
                if exc.code != CANNOT_DM:
                    raise
                self._unreachable.add(user_id)
                return await self._notice_instead(
                    user_id, reply, exc.text or "does not accept direct messages"
                )
        if user_id in self._unreachable:  # they allowed DMs again: off the coordinators' list
            self._unreachable.discard(user_id)
            await self.core.reachable(PLATFORM, user_id)
        return Posted(PLATFORM, str(dm.id), str(message.id), None, message.jump_url)

    async def _notice_instead(self, user_id: str, reply: Reply, reason: str) -> Posted:
        first = await self.core.unreachable(PLATFORM, user_id, reason[:200])
        log.info("Discord member %s does not accept DMs; mentioning them in the notice channel", user_id)
        notice = self.core.settings.discord_notice_channel_id.strip()
        if not notice:
            raise DeliveryError(
                f"member {user_id} does not accept direct messages and DISCORD_NOTICE_CHANNEL_ID is not set",
                retryable=False,
            )
        hint = (
            "\n(I could not send you this privately: allow direct messages from server members "
            "to get reminders by DM.)"
            if first
            else ""
        )
        kwargs, _ = await outgoing(
            self.core,
            Reply(
                f"<@{user_id}> {reply.text}{hint}",
                items=reply.items,
                fields=reply.fields,
                choices=reply.choices,
                footer=reply.footer,
            ),
        )
        kwargs["allowed_mentions"] = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(id=int(user_id))]
        )
        channel = await self._channel(notice)
        message = await channel.send(**kwargs, **nonce(":notice"))
        return Posted(PLATFORM, notice, str(message.id), None, message.jump_url)

    # ---- convenings as Guild Scheduled Events (bot.messenger.EventMirror) ---------------------------------

    def mirror_scopes(self) -> tuple[str, ...]:
        configured = self.core.settings.guild_ids
        if configured:
            return tuple(str(g) for g in configured)
        return tuple(str(g.id) for g in self.client.guilds)

    @staticmethod
    def _event_body(event: MirrorEvent) -> dict[str, Any]:
        tag = event_tag(event.convening_id)
        description = clip(event.description, EVENT_DESCRIPTION_MAX - len(tag) - 2) + "\n\n" + tag
        return {
            "name": clip(event.title, EVENT_NAME_MAX) or "Convening",
            "description": description,
            "entity_type": EXTERNAL,
            "privacy_level": GUILD_ONLY,
            "entity_metadata": {"location": clip(event.location, EVENT_LOCATION_MAX) or "Online"},
            "scheduled_start_time": event.starts_at.isoformat(),
            "scheduled_end_time": event.ends_at.isoformat(),
        }

    async def mirror_convening(
        self, scope_id: str, event: MirrorEvent, external_id: str | None
    ) -> str | None:
        http = self.client.http
        async with delivering(f"scheduled event for convening {event.convening_id}"):
            if external_id is None:
                external_id = await self._find_event(scope_id, event.convening_id)
            if external_id is None:
                if event.cancelled:
                    return None
                created = await http.create_guild_scheduled_event(scope_id, **self._event_body(event))
                return str(created["id"])
            body: dict[str, Any] = {"status": CANCELLED} if event.cancelled else self._event_body(event)
            try:
                await http.edit_scheduled_event(scope_id, external_id, **body)
            except discord.NotFound:
                return None  # removed on Discord: the copy is gone and stays gone
        return external_id

    async def _find_event(self, scope_id: str, convening_id: int) -> str | None:
        """A copy made before its id could be recorded (a crash in between), found by its tag line."""
        tag = event_tag(convening_id)
        for found in await self.client.http.get_scheduled_events(scope_id, False):
            if (found.get("description") or "").endswith(tag):
                return str(found["id"])
        return None


def event_tag(convening_id: int) -> str:
    """The last line of a mirrored event's description: how a member answers, and how copbot finds it."""
    return f"RSVP in Discord: /convening rsvp convening:{convening_id}"
