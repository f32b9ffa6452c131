"""Slack's outbound side: the Messenger (posts, threads, DMs) and delivery of replies to where a request came from.

Every call goes through one AsyncWebClient whose base URL is SLACK_API_BASE_URL (GovSlack included).
Rate limits: slack_sdk retries no 429 by default, and its handler's single retry still drops messages under
a sustained limit. Here every call takes a slot from adapters/ratelimit.py's bucket for its method: a 429
holds back that method alone for its Retry-After and teaches the bucket the rate that gets through, so a
fan-out of DMs settles at Slack's rate; the call is retried up to MAX_RATE_LIMIT_RETRIES times, and what
still fails becomes a retryable DeliveryError, which the scheduler's outbox tries again later.
A member's DM channel id is remembered after the first `conversations.open` (for the process's life).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.ratelimit import RateLimiter
from adapters.slack.render import render_reply
from bot.messages import Choice, Reply, Visibility
from bot.messenger import DeliveryError, Posted, PostTags

log = logging.getLogger(__name__)
PLATFORM = "slack"
MAX_RATE_LIMIT_RETRIES = 30
# In OAuth mode, the client holding the token of the workspace the request being worked on came from; unset,
# the one client of single-token mode is used.
REQUEST_CLIENT: ContextVar[AsyncWebClient | None] = ContextVar("slack_request_client", default=None)
ClientFor = Callable[[str], Awaitable[AsyncWebClient | None]]
# Errors that trying again cannot fix (the bot is not in the channel, the user is gone, bad token...).
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "cannot_dm_bot",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "missing_scope",
    "msg_too_long",
    "invalid_blocks",
    "no_text",
    "restricted_action",
    "user_disabled",
}


def method_of(request: HttpRequest) -> str:
    """The rate-limit key of a Web API call: its method (`chat.postMessage`), or `response_url`."""
    path = urlparse(request.url).path
    return path.rsplit("/", 1)[-1] if "/api/" in path else "response_url"


class PacedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """Retry a 429 after its Retry-After. The limiter holds back that method alone, and learns its rate."""

    def __init__(self, limiter: RateLimiter, max_retry_count: int = MAX_RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.limiter = limiter

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            seconds = float(header[0] if isinstance(header, list) else header) if header else 1.0
        except ValueError:
            seconds = 1.0
        key = method_of(request)
        self.limiter.refused(key, seconds)
        await self.limiter.acquire(key)
        state.increment_current_attempt()


def web_client(
    token: str | None, base_url: str, limiter: RateLimiter, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """One client, one connection pool (slack_sdk opens a new session per call unless given one)."""
    handlers: list[AsyncRetryHandler] = [PacedRateLimitHandler(limiter)]
    return AsyncWebClient(
        token=token or None, base_url=base_url, retry_handlers=handlers, timeout=20, session=session
    )


def delivery_error(exc: SlackApiError) -> DeliveryError:
    code = str(exc.response.get("error", "")) if exc.response is not None else ""
    status = exc.response.status_code if exc.response is not None else 0
    return DeliveryError(
        f"Slack refused the post: {code or status}",
        retryable=code not in PERMANENT and status not in (400, 401, 403, 404),
    )


@dataclass(frozen=True)
class Target:
    """Where a request came from, so its replies go back there (ephemeral when personal)."""

    user_id: str
    channel_id: str = ""
    thread_ts: str | None = None
    is_direct: bool = False
    response_url: str | None = None
    trigger_id: str | None = None
    link: str | None = None  # the permalink of the message a shortcut was used on


class SlackMessenger:
    """The core's Messenger on Slack, plus the reply delivery the inbound adapter uses."""

    platform = PLATFORM

    def __init__(
        self,
        client: AsyncWebClient,
        limiter: RateLimiter,
        community_tz: str,
        zone_of: Any,
        client_for: ClientFor | None = None,
    ) -> None:
        self.client, self.limiter, self.community_tz = client, limiter, community_tz
        self.zone_of = zone_of  # async (user_id) -> zone for a reader's fallback text
        # OAuth mode: the client holding the token of a workspace's installation (None: not installed)
        self.client_for = client_for
        self._dm_channels: dict[tuple[str, str], str] = {}  # (workspace, user id) -> DM channel id
        self._dm_opening: dict[tuple[str, str], asyncio.Future[str]] = {}

    @property
    def api(self) -> AsyncWebClient:
        """The client for this request's workspace (OAuth mode), else the one client."""
        return REQUEST_CLIENT.get() or self.client

    async def _call(self, method: str, **kwargs: Any) -> Any:
        await self.limiter.acquire(method)
        try:
            response = await self.api.api_call(method, json=kwargs)
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        self.limiter.succeeded(method)
        return response

    async def _post(
        self, channel: str, reply: Reply, *, thread_ts: str | None = None, tz: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "channel": channel,
            **render_reply(reply, tz_fallback=tz or self.community_tz),
            "unfurl_links": False,
        }
        if thread_ts:
            body["thread_ts"] = thread_ts
        response = await self._call("chat.postMessage", **body)
        for attachment in reply.attachments:
            await self.upload(channel, attachment.filename, attachment.content, thread_ts=thread_ts)
        return dict(response.data)

    async def upload(
        self, channel: str, filename: str, content: bytes, *, thread_ts: str | None = None
    ) -> None:
        await self.limiter.acquire("files.getUploadURLExternal")
        try:
            await self.api.files_upload_v2(
                channel=channel, filename=filename, content=content, thread_ts=thread_ts, title=filename
            )
        except SlackApiError as exc:
            raise delivery_error(exc) from None

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self._call("chat.getPermalink", channel=channel, message_ts=ts)
        except DeliveryError:
            return None
        return str(response.get("permalink") or "") or None

    @asynccontextmanager
    async def _in(self, workspace: str) -> AsyncIterator[None]:
        """Post in `workspace` with its own installation's token (OAuth mode); a workspace that removed
        copbot gets nothing, and the post is recorded as failed for good rather than retried."""
        if self.client_for is None or (not workspace and REQUEST_CLIENT.get() is not None):
            yield  # one token; or a reply to the request being worked on, with its workspace's
            return
        client = await self.client_for(workspace)
        if client is None:
            raise DeliveryError(
                f"copbot is not installed in Slack workspace {workspace or '(none named)'}", retryable=False
            )
        token = REQUEST_CLIENT.set(client)
        try:
            yield
        finally:
            REQUEST_CLIENT.reset(token)

    # ---- Messenger ------------------------------------------------------------------------------------

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        async with self._in(workspace):
            data = await self._post(channel_id, reply)  # Slack channels have no tags
        return Posted(PLATFORM, str(data.get("channel", channel_id)), str(data["ts"]))

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        async with self._in(workspace):
            data = await self._post(channel_id, reply)
            channel, ts = str(data.get("channel", channel_id)), str(data["ts"])
            return Posted(PLATFORM, channel, ts, ts, await self.permalink(channel, ts))

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        async with self._in(workspace):
            data = await self._post(channel_id, reply, thread_ts=thread_id)
        return Posted(PLATFORM, str(data.get("channel", channel_id)), str(data["ts"]), thread_id)

    async def dm_channel(self, user_id: str, workspace: str = "") -> str:
        """The member's DM channel: opened once per member (concurrent sends to them share the call)."""
        key = (workspace if self.client_for is not None else "", user_id)
        if (known := self._dm_channels.get(key)) is not None:
            return known
        opening = self._dm_opening.get(key)
        if opening is None:
            opening = self._dm_opening[key] = asyncio.ensure_future(self._open_dm(key))
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done():
                self._dm_opening.pop(key, None)

    async def _open_dm(self, key: tuple[str, str]) -> str:
        response = await self._call("conversations.open", users=key[1])
        channel = self._dm_channels[key] = str(response["channel"]["id"])
        return channel

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        async with self._in(workspace):
            channel = await self.dm_channel(user_id, workspace)
            data = await self._post(channel, reply, tz=await self.zone_of(user_id))
        return Posted(PLATFORM, channel, str(data["ts"]))

    # ---- replies to a request -------------------------------------------------------------------------

    async def deliver(self, target: Target, replies: list[Reply], tz: str, *, open_form: Any = None) -> None:
        """Send the core's replies where the request came from. `open_form(target, form)` opens a modal
        (it needs the request's trigger_id, usable once and for three seconds)."""
        trigger = target.trigger_id
        for reply in replies:
            if reply.form is not None:
                if trigger and open_form is not None:
                    trigger = None  # a trigger opens one modal, once
                    try:
                        await open_form(target, reply.form)
                        continue
                    except SlackApiError as exc:  # e.g. expired_trigger_id: more than 3 s went by
                        log.warning(
                            "Slack: could not open a modal (%s); sending a button instead",
                            exc.response.get("error") if exc.response is not None else "?",
                        )
                # No trigger (a mention, a DM, a second form): a button opens it, with a fresh trigger.
                reply = replace(
                    reply,
                    form=None,
                    choices=reply.choices
                    + (Choice(f"Open the form: {reply.form.title}", reply.form.command, style="primary"),),
                )
            await self.deliver_one(target, reply, tz)

    async def deliver_one(self, target: Target, reply: Reply, tz: str) -> None:
        private = reply.visibility is Visibility.PRIVATE or reply.is_error
        if target.is_direct or not target.channel_id:
            channel = target.channel_id if target.is_direct else await self.dm_channel(target.user_id)
            await self._post(channel, reply, thread_ts=target.thread_ts, tz=tz)
            return
        if target.response_url and not target.thread_ts:
            await self._respond(target, reply, tz, private)
            return
        if private:
            body = {
                "channel": target.channel_id,
                "user": target.user_id,
                **render_reply(reply, tz_fallback=tz),
            }
            if target.thread_ts:
                body["thread_ts"] = target.thread_ts
            await self._call("chat.postEphemeral", **body)
            if reply.attachments:  # files cannot be ephemeral: they go to the member's DM
                dm = await self.dm_channel(target.user_id)
                for a in reply.attachments:
                    await self.upload(dm, a.filename, a.content)
            return
        await self._post(target.channel_id, reply, thread_ts=target.thread_ts, tz=tz)

    async def _respond(self, target: Target, reply: Reply, tz: str, private: bool) -> None:
        assert target.response_url
        body = render_reply(reply, tz_fallback=tz)
        await self.limiter.acquire("response_url")
        hook = AsyncWebhookClient(
            target.response_url,
            timeout=20,
            session=self.api.session,
            retry_handlers=[PacedRateLimitHandler(self.limiter)],
        )
        response = await hook.send(
            text=body["text"],
            blocks=body["blocks"],
            response_type="ephemeral" if private else "in_channel",
            replace_original=False,
        )
        if response.status_code >= 400:
            log.warning(
                "response_url answered %s; replying through the Web API instead", response.status_code
            )
            if private:
                await self._call("chat.postEphemeral", channel=target.channel_id, user=target.user_id, **body)
            else:
                await self._post(target.channel_id, reply, tz=tz)
        if reply.attachments:
            channel = target.channel_id if not private else await self.dm_channel(target.user_id)
            for a in reply.attachments:
                await self.upload(channel, a.filename, a.content)
