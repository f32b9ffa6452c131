"""Outbound on Teams through the Bot Connector REST API (Bot Framework v3): replies to an activity,
proactive channel posts (a new post whose replies form its thread), replies in a thread, and proactive
personal chats for DMs. Implements bot.messenger.Messenger.

- Every call carries the bot's token (adapters/teams/auth.py); a 401 gets a fresh token and one more try.
- Throttling: a 429 is waited out for its Retry-After (at most MAX_RETRY_AFTER seconds) and the call made
  once more; a second 429 becomes a retryable DeliveryError, and the scheduler's outbox tries later. A
  429 means Teams did not take the message, so the second try cannot double it.
- Server errors and timeouts are retryable DeliveryErrors, never retried here: a post Teams may have made
  is not sent again by this process (the outbox's fenced claim decides). The Bot Connector takes no
  idempotency key (nothing like Discord's nonce for SEND_KEY to ride on), so a crash between Teams' answer
  and the outbox's sent mark can still repeat that one post, as on Slack.
- A member the bot cannot reach (the app is not installed for them, so Teams refuses the personal chat)
  is recorded with `core.unreachable` (coordinators see them in `schedule unreachable`); the message goes
  to TEAMS_NOTICE_CHANNEL_ID with a mention of them, as Discord's closed DMs go to its notice channel, or
  without that channel fails for good. When a later DM gets through they come off that list.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.teams.auth import BotTokens, TokenError
from adapters.teams.cloud import Cloud
from adapters.teams.render import message
from bot.messages import Member, Reply, render_members
from bot.messenger import DeliveryError, Posted, PostTags
from bot.ports import Core

log = logging.getLogger(__name__)
PLATFORM = "teams"
MAX_RETRY_AFTER = 60.0
UNREACHABLE = (403, 404)


class Refused(DeliveryError):
    def __init__(self, status: int, code: str, what: str) -> None:
        super().__init__(
            f"{what}: Teams refused ({status}{', ' + code if code else ''})",
            retryable=status == 429 or status >= 500,
        )
        self.status, self.code = status, code


class Connector:
    """The Bot Connector REST API for one bot, with its token, Retry-After and 401 handling."""

    def __init__(
        self, session: aiohttp.ClientSession, tokens: BotTokens, cloud: Cloud, app_id: str, tenant: str
    ) -> None:
        self.session, self.tokens, self.cloud = session, tokens, cloud
        self.app_id, self.tenant = app_id, tenant
        self.service_url = cloud.service_url  # the last one an activity named (see cloud.py)

    @property
    def bot(self) -> dict[str, str]:
        return {"id": f"28:{self.app_id}"}

    def url(self, path: str, service_url: str | None = None) -> str:
        return (service_url or self.service_url).rstrip("/") + path

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        what: str,
        service_url: str | None = None,
    ) -> dict[str, Any]:
        url = self.url(path, service_url)
        retried_429 = retried_401 = False
        while True:
            try:
                token = await self.tokens.get()
            except TokenError as exc:
                raise DeliveryError(f"{what}: {exc}", retryable=True) from None
            try:
                async with self.session.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    status = response.status
                    retry_after = response.headers.get("Retry-After", "")
                    data = await response.json(content_type=None) if status != 204 else {}
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise DeliveryError(f"{what}: {exc.__class__.__name__}", retryable=True) from None
            if status < 300:
                return data if isinstance(data, dict) else {}
            if status == 429 and not retried_429:
                retried_429 = True
                await asyncio.sleep(_seconds(retry_after))
                continue
            if status == 401 and not retried_401:
                retried_401 = True
                self.tokens.forget()
                continue
            code = ""
            if isinstance(data, dict):
                err = data.get("error")
                code = str(err.get("code", "")) if isinstance(err, dict) else str(err or "")
            raise Refused(status, code[:100], what)


def _seconds(header: str) -> float:
    try:
        return min(max(float(header), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


def conversation_path(conversation_id: str) -> str:
    return "/v3/conversations/" + quote(conversation_id, safe="")


class TeamsMessenger:
    """Posts for the scheduler, and replies for the adapter."""

    platform = PLATFORM

    def __init__(self, core: Core, connector: Connector) -> None:
        self.core, self.connector = core, connector
        self._chats: dict[str, str] = {}  # AAD object id -> personal chat conversation id
        self.teams_ids: dict[
            str, str
        ] = {}  # AAD object id -> Teams user id (29:...), learned from activities
        self._unreachable: set[str] = set()

    def _activity(self, reply: Reply, tz: str) -> dict[str, Any]:
        return message(reply, tz)

    def link(self, channel_id: str, message_id: str) -> str:
        host = {"gcch": "gov.teams.microsoft.us", "dod": "dod.teams.microsoft.us"}.get(
            self.connector.cloud.name, "teams.microsoft.com"
        )
        return (
            f"https://{host}/l/message/{quote(channel_id, safe='')}/{message_id}"
            f"?tenantId={self.connector.tenant}"
        )

    # ---- Messenger ------------------------------------------------------------------------------------

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        """A new post in a Teams channel (channels have no tags); its replies form its thread."""
        body = {
            "isGroup": True,
            "bot": self.connector.bot,
            "tenantId": self.connector.tenant,
            "channelData": {"channel": {"id": channel_id}, "tenant": {"id": self.connector.tenant}},
            "activity": self._activity(reply, self.core.settings.timezone),
        }
        made = await self.connector.call("POST", "/v3/conversations", body, what=f"post in {channel_id}")
        message_id = str(made.get("activityId") or str(made.get("id", "")).rpartition("=")[2])
        return Posted(PLATFORM, channel_id, message_id, None, self.link(channel_id, message_id))

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        posted = await self.post(channel_id, reply)
        return Posted(PLATFORM, channel_id, posted.message_id, posted.message_id, posted.link)

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        conversation = f"{channel_id};messageid={thread_id}"
        made = await self.connector.call(
            "POST",
            conversation_path(conversation) + "/activities",
            self._activity(reply, self.core.settings.timezone),
            what=f"reply in thread {thread_id}",
        )
        return Posted(PLATFORM, channel_id, str(made.get("id", "")), thread_id)

    async def personal_chat(self, user_id: str) -> str:
        """The bot's personal chat with a member (made once; Teams answers the same chat every time)."""
        if user_id not in self._chats:
            body = {
                "isGroup": False,
                "bot": self.connector.bot,
                "members": [{"id": self.teams_ids.get(user_id, user_id)}],
                "tenantId": self.connector.tenant,
                "channelData": {"tenant": {"id": self.connector.tenant}},
            }
            made = await self.connector.call(
                "POST", "/v3/conversations", body, what=f"personal chat with {user_id}"
            )
            self._chats[user_id] = str(made["id"])
        return self._chats[user_id]

    def forget_chat(self, user_id: str) -> None:
        """The app was (re)installed for them: make the personal chat afresh next time."""
        self._chats.pop(user_id, None)
        self._unreachable.discard(user_id)

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        tz = await self.core.member_zone(Member(PLATFORM, user_id, workspace=self.connector.tenant))
        try:
            chat = await self.personal_chat(user_id)
            made = await self.connector.call(
                "POST",
                conversation_path(chat) + "/activities",
                self._activity(reply, tz),
                what=f"DM to {user_id}",
            )
        except Refused as exc:
            if exc.status not in UNREACHABLE:
                raise
            self._chats.pop(user_id, None)
            return await self._notice_instead(user_id, reply)
        if user_id in self._unreachable:
            self._unreachable.discard(user_id)
            await self.core.reachable(PLATFORM, user_id)
        return Posted(PLATFORM, chat, str(made.get("id", "")))

    async def _notice_instead(self, user_id: str, reply: Reply) -> Posted:
        """The member cannot get a personal chat (copbot is not installed for them): noted for the
        coordinators, and, with TEAMS_NOTICE_CHANNEL_ID, the message goes there with a mention of them (the
        first time with a hint how to get it privately); without it, the DM fails for good."""
        self._unreachable.add(user_id)
        first = await self.core.unreachable(PLATFORM, user_id, "copbot is not installed for them in Teams")
        notice = self.core.settings.teams_notice_channel_id.strip()
        if not notice:
            raise DeliveryError(
                f"member {user_id} cannot be reached in Teams: copbot is not installed for them and "
                "TEAMS_NOTICE_CHANNEL_ID is not set (install copbot for everyone in the Teams admin centre)",
                retryable=False,
            )
        log.info(
            "Teams member %s cannot be messaged privately; mentioning them in the notice channel", user_id
        )
        name = await self._name_in(notice, user_id) or "member"
        hint = (
            "\n(I could not send you this privately: add copbot as a personal app to get reminders in a "
            "personal chat.)"
            if first
            else ""
        )
        tagged = Reply(
            f"<at>{name}</at> {render_members(reply.text)}{hint}",
            items=reply.items,
            fields=reply.fields,
            choices=reply.choices,
            footer=reply.footer,
        )
        activity = self._activity(tagged, self.core.settings.timezone)
        if "text" not in activity:  # a card: the mention goes in a text line above it
            activity["text"] = f"<at>{name}</at>"
        activity["entities"] = [
            {
                "type": "mention",
                "text": f"<at>{name}</at>",
                "mentioned": {"id": self.teams_ids.get(user_id, user_id), "name": name},
            }
        ]
        body = {
            "isGroup": True,
            "bot": self.connector.bot,
            "tenantId": self.connector.tenant,
            "channelData": {"channel": {"id": notice}, "tenant": {"id": self.connector.tenant}},
            "activity": activity,
        }
        made = await self.connector.call("POST", "/v3/conversations", body, what=f"notice for {user_id}")
        message_id = str(made.get("activityId") or "")
        return Posted(PLATFORM, notice, message_id, None, self.link(notice, message_id))

    async def _name_in(self, channel_id: str, user_id: str) -> str | None:
        """The member's name as the channel's team knows it (the Bot Connector takes an Entra object id)."""
        try:
            found = await self.connector.call(
                "GET",
                f"{conversation_path(channel_id)}/members/{quote(user_id, safe='')}",
                None,
                what="member lookup",
            )
        except DeliveryError:
            return None
        return str(found.get("name") or "") or None

    # ---- replies to an activity -----------------------------------------------------------------------

    async def reply_to(
        self, conversation_id: str, activity_id: str, activity: dict[str, Any], service_url: str
    ) -> str:
        made = await self.connector.call(
            "POST",
            f"{conversation_path(conversation_id)}/activities/{quote(activity_id, safe='')}",
            {**activity, "replyToId": activity_id},
            what="reply",
            service_url=service_url,
        )
        return str(made.get("id", ""))

    async def update(
        self, conversation_id: str, activity_id: str, activity: dict[str, Any], service_url: str
    ) -> None:
        await self.connector.call(
            "PUT",
            f"{conversation_path(conversation_id)}/activities/{quote(activity_id, safe='')}",
            {**activity, "id": activity_id},
            what="card update",
            service_url=service_url,
        )

    async def send_to(
        self, conversation_id: str, activity: dict[str, Any], service_url: str | None = None
    ) -> str:
        made = await self.connector.call(
            "POST",
            conversation_path(conversation_id) + "/activities",
            activity,
            what="message",
            service_url=service_url,
        )
        return str(made.get("id", ""))

    async def member_object_id(
        self, conversation_id: str, teams_user_id: str, service_url: str
    ) -> str | None:
        """A member's AAD object id from their Teams user id (for a mention), or None."""
        try:
            found = await self.connector.call(
                "GET",
                f"{conversation_path(conversation_id)}/members/{quote(teams_user_id, safe='')}",
                None,
                what="member lookup",
                service_url=service_url,
            )
        except DeliveryError:
            return None
        object_id = str(found.get("aadObjectId") or found.get("objectId") or "")
        return object_id or None
