"""The Slack adapter (slack-bolt): requests in, the core's replies out; HTTP mode or Socket Mode.

Thin by design: it turns a slash command, a mention, a DM, a button, a modal or a shortcut into an
`Incoming`, calls `core.dispatch`, and renders the replies (adapters/slack/render.py) through the
messenger (adapters/slack/messenger.py). Slack's deadlines are kept here:

- every request is acknowledged at once (bolt's `process_before_response=True`, so the HTTP answer goes
  out when the listener returns) and the work continues in a task after the ack; a modal submission is
  the exception, because its validation errors must travel in the ack itself;
- an event is claimed by its `event_id` in the store before its work is done, so a retry (Slack sends one
  with `X-Slack-Retry-Num` when the ack is slow) or a second bot process never acts twice; the claim is
  made by the work, after the ack, and claims made at once share a transaction, so acks never wait on it;
- every HTTP request is checked before bolt sees it (adapters/slack/inbound.py): a forged or stale one gets
  401, a malformed one 400, and a replayed slash command or interaction is acknowledged and ignored (its
  signature is claimed the same way; a modal submission, whose work is done in its ack, claims first);
  bolt's own signature check stays on behind it, and no request body is ever logged;
- a member is (workspace, user id): the workspace the token serves is learned from `auth.test` at start,
  and a request from any other workspace (or Enterprise Grid org) is refused before any listener runs
  (adapters/slack/workspace.py), with one log line and no effect;
- the bot's own messages and other bots' messages are ignored.

Two modes, chosen by the settings present: one workspace through SLACK_BOT_TOKEN, or OAuth mode
(SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), where any workspace installs the app through bolt's own flow at
`/slack/install` and `/slack/oauth_redirect`, installations are kept in the database with their tokens
encrypted (adapters/slack/installations.py), and each request is worked on with its own workspace's token;
a request from a workspace that has not installed the app is refused before any listener runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.ratelimit import RateLimiter
from adapters.slack.inbound import Answer, Inbound, quiet_bolt_logs
from adapters.slack.install_page import install_page
from adapters.slack.installations import DbInstallationStore, DbOAuthStateStore, authorize_url, token_cipher
from adapters.slack.messenger import PLATFORM, REQUEST_CLIENT, SlackMessenger, Target, web_client
from adapters.slack.render import (
    ACTION_PREFIX,
    BOT_SCOPES,
    field_errors,
    form_to_modal,
    modal_metadata,
    modal_values,
    render_reply,
    truncate,
)
from adapters.slack.workspace import Served, request_kind
from bot.commands import Entry, MessageAction
from bot.errors import StartError
from bot.messages import Form, Incoming, Member, Place, render_members
from bot.ports import Core

log = logging.getLogger(__name__)
CALLBACK_ID = "copbot_form"
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
PROFILE_TTL = 3600.0  # seconds a member's Slack name and zone are trusted before asking users.info again
HOME_MAX_BLOCKS = 100
WORKERS = 4  # requests worked on at once after their ack (each mostly waits on the store or Slack)
THINKING = 2  # of those, computing at once (see _thinking)
ANSWER_WAIT = 1.0  # at most this long (seconds) a request's work waits for acknowledgements to go first
QUIET = 0.02  # a pause in requests this long (with none being acknowledged) lets the work go on
BACKLOG = 1000  # with this much work waiting, workers stop yielding to acks until it is worked off
NOT_INSTALLED = (
    "copbot is not installed in this workspace, so nothing was done. Ask your Slack admin to install it."
)
REVOCATIONS = ("app_uninstalled", "tokens_revoked")
MAX_UNFURLS = 5  # cards added to one message at most
# In OAuth mode, the workspace (or org) of the installation the request being worked on came through.
REQUEST_SERVED: ContextVar[Served | None] = ContextVar("slack_request_served", default=None)
# A guest's request (Slack Connect: a member of another organisation in a channel shared with ours): their
# user id and their own workspace (or org). None for a member of the workspace the request came through.
REQUEST_GUEST: ContextVar[tuple[str, str] | None] = ContextVar("slack_request_guest", default=None)
# What the HTTP request being acknowledged is claimed by (its signature), so a replay is not acted on twice;
# the work it starts claims it before doing anything (see _worker), so no ack waits on the store.
REQUEST_CLAIM: ContextVar[str | None] = ContextVar("slack_request_claim", default=None)
IGNORED_SUBTYPES = {
    "bot_message",
    "message_changed",
    "message_deleted",
    "channel_join",
    "channel_leave",
    "thread_broadcast",
    "message_replied",
    "channel_topic",
    "channel_purpose",
}


@dataclass
class Work:
    """A request's work, queued after its ack."""

    coro: Coroutine[Any, Any, Any]
    what: str
    queued_at: float
    claim: str | None  # claimed before the work starts; the work is dropped if it was claimed before
    served: Served | None  # the request's workspace, token and guest (see _in_scope)
    client: AsyncWebClient | None
    guest: tuple[str, str] | None


class SlackAdapter:
    platform = PLATFORM

    def __init__(self, core: Core) -> None:
        settings = core.settings
        self.core, self.settings = core, settings
        self.limiter = RateLimiter()
        self.oauth = settings.slack_oauth
        self.socket_mode = bool(settings.slack_app_token)
        oauth_settings = self._oauth_settings() if self.oauth else None
        if not self.socket_mode and not settings.slack_signing_secret:
            raise StartError(
                "SLACK_SIGNING_SECRET is required for HTTP mode (or set SLACK_APP_TOKEN for "
                "Socket Mode); find it under Basic Information in your Slack app's settings"
            )
        self.session = aiohttp.ClientSession()
        self.default_client = web_client(
            settings.slack_bot_token, settings.slack_api_base_url, self.limiter, self.session
        )
        self._clients: dict[str, AsyncWebClient] = {}  # OAuth mode: a client per installation's token
        self.messenger = SlackMessenger(
            self.default_client,
            self.limiter,
            settings.timezone,
            self._zone_for_id,
            client_for=self._client_for if self.oauth else None,
        )
        rotator = getattr(oauth_settings.authorize, "token_rotator", None) if oauth_settings else None
        if (
            rotator is not None
        ):  # token rotation (when enabled on the app) refreshes at SLACK_API_BASE_URL too
            rotator.client = self.default_client
        self.inbound = Inbound(settings.slack_signing_secret)  # HTTP requests: signed, well formed, new
        bolt_log = logging.getLogger("copbot.bolt")
        quiet_bolt_logs(bolt_log)
        self.bolt = AsyncApp(
            client=self.default_client,
            signing_secret=settings.slack_signing_secret or "socket-mode",
            process_before_response=True,
            request_verification_enabled=not self.socket_mode or bool(settings.slack_signing_secret),
            logger=bolt_log,
            oauth_settings=oauth_settings,
            installation_store_bot_only=True if self.oauth else None,
            user_facing_authorize_error_message=NOT_INSTALLED,
        )
        # Work that follows an ack waits in a queue for a few workers: a burst of requests is acknowledged
        # at once and the work catches up after, instead of every ack queueing behind every search.
        self._work: asyncio.Queue[Work] = asyncio.Queue()
        self._workers: list[asyncio.Task[Any]] = []
        # At most THINKING requests are computed at once (the store, search, rendering) while the others
        # wait on Slack's network: the store's queries run in threads that let go of the GIL, so two use
        # two cores, and more would only queue inside the store.
        self._thinking = asyncio.Semaphore(THINKING)
        # Acks first: a worker starts its next piece of work once no request is being acknowledged and
        # none has arrived for QUIET seconds, so a burst is acknowledged at full speed (Slack retries what
        # is not acknowledged in 3 s, which would only add load) and worked off in the gaps and right
        # after. Bounded both ways: a piece of work waits at most ANSWER_WAIT after its request (its answer
        # still comes within Slack's 3 s), and once BACKLOG pieces wait, work goes first until it is
        # below that again, so a long burst cannot pile up work without end.
        self._last_request = 0.0
        self._acking = 0
        self.worked = 0  # pieces of post-ack work finished (bench: the work's own throughput)
        self._profiles: dict[str, tuple[float, str]] = {}
        self._socket: Any = None
        self.served: Served | None = None  # from auth.test at start; until then every request is refused
        self._register()

    def _oauth_settings(self) -> AsyncOAuthSettings:
        """OAuth mode's settings; raises StartError (one line) for what is missing or contradictory."""
        settings = self.settings
        if settings.slack_bot_token:
            raise StartError(
                "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "(workspaces install the app by OAuth), not both"
            )
        if not (settings.slack_client_id and settings.slack_client_secret):
            raise StartError(
                "OAuth mode needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Basic Information, "
                "App Credentials, in your Slack app's settings)"
            )
        if self.socket_mode:
            raise StartError(
                "OAuth mode serves /slack/install over HTTP: unset SLACK_APP_TOKEN and run `copbot serve`"
            )
        bare = [r for r in settings.admins.split(",") if r.strip().startswith("slack:") and r.count(":") == 1]
        if bare:
            raise StartError(
                f"COPBOT_ADMINS entry {bare[0].strip()!r} names no workspace, and in OAuth mode copbot serves "
                "several; example: COPBOT_ADMINS=slack:T0123ABCD:U012AB3CD"
            )
        cipher = token_cipher(settings.slack_token_key)
        store = self.core.services.store
        self.installations = DbInstallationStore(store, cipher)
        public = settings.public_url.rstrip("/")
        oauth = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            redirect_uri=f"{public}/slack/oauth_redirect" if public else None,
            authorization_url=authorize_url(settings.slack_api_base_url),
            installation_store=self.installations,
            installation_store_bot_only=True,
            state_store=DbOAuthStateStore(store, self.core.services.clock),
            logger=logging.getLogger("copbot.bolt.oauth"),
        )
        # bolt's authorize asks auth.test about a token once, not before every ack (the installation itself
        # is still looked up in the store each time, so a removed one stops being served at once)
        oauth.authorize.cache_enabled = True  # type: ignore[attr-defined]
        return oauth

    async def _client_for(self, workspace: str) -> AsyncWebClient | None:
        """OAuth mode: the client with the bot token of the installation serving `workspace` (a team, or
        an org installed org-wide), for what copbot posts on its own; None when none serves it."""
        token = await self.installations.token_for(workspace)
        if token is None:
            return None
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 1000:  # tokens replaced by reinstalls or rotation are let go
                self._clients.clear()
            client = self._clients[token] = web_client(
                token, self.settings.slack_api_base_url, self.limiter, self.session
            )
        return client

    @property
    def client(self) -> AsyncWebClient:
        """The client for this request's workspace (OAuth mode), else the one client."""
        return REQUEST_CLIENT.get() or self.default_client

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.oauth:
            log.info("Slack: OAuth mode; workspaces install the app at /slack/install")
        else:
            await self._learn_workspace()
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._worker()) for _ in range(WORKERS)]
        if self.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(
                self.bolt, self.settings.slack_app_token, web_client=self.default_client
            )
            await self._socket.connect_async()
            log.info("Slack: connected in Socket Mode")
        else:
            log.info("Slack: ready for HTTP requests at /slack/events")

    async def _learn_workspace(self) -> None:
        """Ask Slack which workspace (or org) the token serves; the core fills it into older rows."""
        try:
            answer = await self.client.auth_test()
            served = Served.from_auth_test(answer.data if isinstance(answer.data, dict) else {})
        except Exception as exc:  # noqa: BLE001 - reported in one line: the start cannot go on without it
            raise RuntimeError(
                f"Slack: could not learn which workspace SLACK_BOT_TOKEN serves (auth.test: "
                f"{type(exc).__name__}); check the token and SLACK_API_BASE_URL"
            ) from None
        await self.core.serve_workspace(PLATFORM, served.workspace)
        self.served = served
        log.info("Slack: serving %s %s", served.kind(), served.workspace)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.drain()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self.session.close()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the work acknowledged requests started (tests, shutdown)."""
        try:
            await asyncio.wait_for(self._work.join(), timeout)
        except TimeoutError:
            log.warning(
                "Slack: %d request(s) still being worked on after %.0f s", self._work.qsize(), timeout
            )

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: every kind of Slack request, once checked (adapters/slack/inbound.py): 401
        unsigned or stale, 400 malformed, 413 (aiohttp) too big; a replay is acknowledged and ignored."""
        self._last_request = time.monotonic()
        self._acking += 1
        try:
            checked = self.inbound.check(await request.read(), request.headers, request.query_string)
            if isinstance(checked, Answer):
                return web.Response(status=checked.status, text=checked.reason)
            key = self.inbound.replay_key(checked)
            if key is not None and checked.body.get("type") == "view_submission":
                # a modal submission's work is done in its ack (its errors travel there): claimed first
                if not await self.core.claim_event(PLATFORM, key):
                    log.info("Slack: ignored a replayed request")
                    return web.Response(status=200)
                key = None
            # In OAuth mode the workspace middleware sets this request's workspace and client for its
            # listener; they are scoped to this dispatch, so nothing leaks to the next request.
            served_token, client_token = REQUEST_SERVED.set(None), REQUEST_CLIENT.set(None)
            guest_token, claim_token = REQUEST_GUEST.set(None), REQUEST_CLAIM.set(key)
            try:
                answer = await self.bolt.async_dispatch(checked)
            finally:
                REQUEST_SERVED.reset(served_token)
                REQUEST_CLIENT.reset(client_token)
                REQUEST_GUEST.reset(guest_token)
                REQUEST_CLAIM.reset(claim_token)
            return await to_aiohttp_response(answer)
        finally:
            self._acking -= 1
            self._last_request = time.monotonic()

    async def handle_install(self, request: web.Request) -> web.Response:
        """GET /slack/install (OAuth mode): bolt's install page, its state kept in the store and a cookie."""
        return await self._oauth_step(request, install=True)

    async def handle_oauth_redirect(self, request: web.Request) -> web.Response:
        """GET /slack/oauth_redirect (OAuth mode): Slack sends the installer back; bolt checks the state,
        exchanges the code for the workspace's token and saves the installation."""
        return await self._oauth_step(request, install=False)

    async def _oauth_step(self, request: web.Request, *, install: bool) -> web.Response:
        flow = self.bolt.oauth_flow
        if flow is None:
            return web.Response(status=404, text="This copbot is not installed by OAuth.")
        try:
            bolt_request = await to_bolt_request(request)
            if install:
                return await self._install_page(flow, bolt_request)
            answer = await flow.handle_callback(bolt_request)
        except Exception:  # noqa: BLE001 - the installer gets a plain page, the log one line
            log.exception("Slack: the OAuth %s step failed", "install" if install else "redirect")
            return web.Response(status=500, text="The installation could not be completed; please try again.")
        return await to_aiohttp_response(answer)

    async def _install_page(self, flow: Any, bolt_request: Any) -> web.Response:
        """Bolt issues the state (kept in the store, and in a cookie) and builds the authorize link; the
        page around it says in plain words what the app will be allowed to do (install_page.py)."""
        state = await flow.issue_new_state(bolt_request)
        link = await flow.build_authorize_url(state, bolt_request)
        page = install_page(link, BOT_SCOPES, urlsplit(link).netloc)
        response = web.Response(text=page, content_type="text/html")
        response.headers["Set-Cookie"] = flow.settings.state_utils.build_set_cookie_for_new_state(state)
        response.headers["Cache-Control"] = "no-store"  # the link carries a state usable once
        return response

    async def _acks_first(self, queued_at: float) -> None:
        """Wait while requests are being acknowledged (see the policy in __init__)."""
        deadline = queued_at + ANSWER_WAIT
        while (now := time.monotonic()) < deadline and self._work.qsize() < BACKLOG:
            idle = now - self._last_request
            if not self._acking and idle >= QUIET:
                return
            await asyncio.sleep(max(QUIET - idle, 0.001))

    def _spawn(self, work: Coroutine[Any, Any, Any], what: str, claim: str | None = None) -> None:
        """Queue a request's work for after its ack; `claim` (an event's id), else the HTTP request's
        signature, is claimed before the work starts, and the work is dropped if it was claimed before."""
        claim = claim or REQUEST_CLAIM.get()
        REQUEST_CLAIM.set(None)  # one piece of work per claim
        self._work.put_nowait(
            Work(
                work,
                what,
                time.monotonic(),
                claim,
                REQUEST_SERVED.get(),
                REQUEST_CLIENT.get(),
                REQUEST_GUEST.get(),
            )
        )

    async def _in_scope(
        self,
        work: Awaitable[Any],
        served: Served | None,
        client: AsyncWebClient | None,
        guest: tuple[str, str] | None,
    ) -> Any:
        """Work on a request with the workspace and token it came with (OAuth mode) and its guest (Slack
        Connect), after its ack."""
        served_token, client_token = REQUEST_SERVED.set(served), REQUEST_CLIENT.set(client)
        guest_token = REQUEST_GUEST.set(guest)
        try:
            return await work
        finally:
            REQUEST_SERVED.reset(served_token)
            REQUEST_CLIENT.reset(client_token)
            REQUEST_GUEST.reset(guest_token)

    async def _worker(self) -> None:
        while True:
            work = await self._work.get()
            try:
                await self._acks_first(work.queued_at)
                if work.claim is not None and not await self._first_time(work.claim):
                    work.coro.close()
                    log.info("Slack: ignored a repeated request (%s)", work.what)
                    continue
                await self._in_scope(work.coro, work.served, work.client, work.guest)
            except Exception:  # noqa: BLE001 - one failed request must not take the adapter down
                log.exception("Slack: %s failed", work.what)
            finally:
                self.worked += 1
                self._work.task_done()

    async def _first_time(self, claim: str) -> bool:
        """Claim a request or event; when the store cannot say, the work goes on (it reports its own
        failure to the member if the store is down) rather than be lost."""
        try:
            return await self.core.claim_event(PLATFORM, claim)
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning("Slack: could not claim a request (%s); working on it", type(exc).__name__)
            return True

    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(self._only_served_workspace)
        if self.oauth:  # an uninstall or revoked token removes that workspace's installation, nothing else
            bolt.enable_token_revocation_listeners()
        bolt.command(self.settings.slack_command)(self._on_command)
        bolt.event("app_mention")(self._on_mention)
        bolt.event("message")(self._on_message)
        bolt.event("app_home_opened")(self._on_home_opened)
        bolt.event("link_shared")(self._on_link_shared)
        bolt.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        bolt.view_submission(CALLBACK_ID)(self._on_view_submission)
        bolt.view_closed(CALLBACK_ID)(self._ack_only)
        for entry in self.core.registry.entries():  # the manifest's shortcuts (render.shortcuts), same ids
            bolt.shortcut(entry.id)(self._shortcut_listener(entry))
        bolt.error(self._on_error)

    async def _only_served_workspace(
        self, body: dict[str, Any], context: Any, next: Any
    ) -> BoltResponse | None:  # noqa: A002 - bolt's name
        """Let through only requests from members of the workspace (or org) this installation serves: the
        same user id in another workspace is another person, with none of this one's roles. In OAuth mode
        bolt's authorize has found the installation the request came through (or refused it already): that
        installation's workspace is the one served, and its token is used for the work the request causes."""
        served = self.served
        if self.oauth and (body.get("event") or {}).get("type") in REVOCATIONS:
            await next()  # about the installation itself, which bolt's own listener removes
            return None
        if self.oauth:
            result = getattr(context, "authorize_result", None)
            served = Served.from_authorize(result, bool(getattr(context, "is_enterprise_install", False)))
        theirs = served.of_request(body, context) if served else None
        user_id = getattr(context, "user_id", None)
        guest = None
        if served is not None and theirs and theirs != served.workspace and user_id:
            # Slack Connect: the request came through our workspace (or org), from a member of another
            # organisation in a channel shared with it; they are that organisation's member, a guest here.
            if served.delivered_for(context) == served.workspace:
                guest = (str(user_id), theirs)
        if served is not None and (theirs == served.workspace or guest is not None):
            # bolt runs the listener after this returns, in this request's task (handle_http scopes these)
            REQUEST_GUEST.set(guest)
            if self.oauth:
                REQUEST_SERVED.set(served)
                REQUEST_CLIENT.set(context.client)
                if guest is not None:  # copbot's own DMs to them go through this installation
                    try:
                        await self.installations.route_guests(guest[1], served.workspace)
                    except Exception:  # noqa: BLE001 - their request goes on; a later one records it
                        log.warning("Slack: could not record how guests of %s reach copbot", guest[1])
            await next()
            return None
        log.warning(
            "Slack: refused a request (%s) from %s %s (this installation serves %s)",
            request_kind(body),
            served.kind() if served else "workspace",
            theirs or "unknown",
            served.workspace if served else "none yet",
        )
        if "command" in body:  # a slash command shows its ack's text to the one who typed it
            return BoltResponse(status=200, body="This app does not serve this workspace; nothing was done.")
        return BoltResponse(status=200, body="")  # acknowledged, so Slack does not retry; nothing is done

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack: listener error %s for a %s request", type(error).__name__, body.get("type", "?"))

    async def _ack_only(self, ack: Any) -> None:
        await ack()

    # ---- members ------------------------------------------------------------------------------------

    async def member(self, user_id: str, fallback_name: str = "") -> Member:
        """The member, with their Slack display name; their profile's zone is learned on the way."""
        cached = self._profiles.get(user_id)
        if cached and time.monotonic() - cached[0] < PROFILE_TTL:
            return self._member(user_id, cached[1])
        name = fallback_name
        try:
            info = (await self.client.users_info(user=user_id)).get("user") or {}
            profile = info.get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or info.get("real_name")
                or info.get("name")
                or fallback_name
            )
            member = self._member(user_id, name)
            if info.get("tz"):
                await self.core.learn_timezone(member, str(info["tz"]))
        except Exception as exc:  # noqa: BLE001 - a name is cosmetic; the request goes on without it
            log.warning("Slack: users.info failed for a member (%s)", type(exc).__name__)
        self._profiles[user_id] = (time.monotonic(), name)
        return self._member(user_id, name)

    def _member(self, user_id: str, name: str = "") -> Member:
        """A member of the workspace this installation serves, or the guest of this request (Slack
        Connect), who is a member of their own workspace."""
        guest = REQUEST_GUEST.get()
        if guest is not None and guest[0] == user_id:
            return Member(PLATFORM, user_id, name, guest[1])
        served = REQUEST_SERVED.get() or self.served
        return Member(PLATFORM, user_id, name, served.workspace if served else "")

    async def _zone_for_id(self, user_id: str) -> str:
        return await self.core.member_zone(self._member(user_id))

    def mentions(self, text: str) -> dict[str, Member]:
        return {m.group(0): self._member(m.group(1), m.group(2) or "") for m in MENTION.finditer(text)}

    async def run(self, incoming: Incoming, target: Target) -> None:
        """Dispatch to the core and send its replies back where the request came from."""
        if incoming.text:  # a channel reference arrives escaped (<#C123|name>); the core wants the id
            incoming = replace(incoming, text=typed_text(CHANNEL.sub(lambda m: m.group(1), incoming.text)))
        if REQUEST_GUEST.get() is not None:
            incoming = replace(incoming, guest=True)
        async with self._thinking:
            replies = await self.core.dispatch(incoming)
            tz = await self.core.member_zone(incoming.member)
        await self.messenger.deliver(target, replies, tz, open_form=self.open_form)

    async def open_form(self, target: Target, form: Form, *, link: str | None = None) -> None:
        meta = {
            "c": target.channel_id,
            "t": target.thread_ts,
            "d": target.is_direct,
            "r": target.response_url,
            "l": link or target.link,
        }
        modal = form_to_modal(form, callback_id=CALLBACK_ID, private_metadata=_compact(meta))
        await self.client.views_open(trigger_id=target.trigger_id, view=modal)

    # ---- slash command, mentions, DMs, thread messages ------------------------------------------------

    async def _on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        text = (body.get("text") or "").strip() or "help"
        channel = body.get("channel_id", "")
        target = Target(
            user_id=body["user_id"],
            channel_id=channel,
            is_direct=channel.startswith("D"),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
        )
        self._spawn(self._command(body["user_id"], body.get("user_name", ""), text, target), "slash command")

    async def _command(self, user_id: str, user_name: str, text: str, target: Target) -> None:
        member = await self.member(user_id, user_name)
        place = Place(PLATFORM, target.channel_id, target.thread_ts, target.is_direct)
        await self.run(Incoming(member=member, place=place, text=text, mentions=self.mentions(text)), target)

    @staticmethod
    def _event_id(body: dict[str, Any]) -> str | None:
        """What an event's work claims (see _spawn): Slack's retries of it carry the same id."""
        return str(body["event_id"]) if body.get("event_id") else None

    def _is_ours_or_a_bot(self, event: dict[str, Any], context: Any) -> bool:
        bot_user = getattr(context, "bot_user_id", None)
        return bool(
            event.get("bot_id")
            or event.get("subtype") in IGNORED_SUBTYPES
            or (bot_user and event.get("user") == bot_user)
            or not event.get("user")
        )

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        if self._is_ours_or_a_bot(event, context):
            return
        self._spawn(self._mention(event, context), "mention", self._event_id(body))

    async def _mention(self, event: dict[str, Any], context: Any) -> None:
        raw = event.get("text") or ""
        text = _without_leading_mention(raw, getattr(context, "bot_user_id", None)) or "help"
        channel = event["channel"]
        target = Target(
            user_id=event["user"],
            channel_id=channel,
            thread_ts=event.get("thread_ts"),
            is_direct=event.get("channel_type") == "im",
        )
        member = await self.member(event["user"], _profile_name(event))
        place = Place(PLATFORM, channel, event.get("thread_ts"), target.is_direct)
        await self.run(Incoming(member=member, place=place, text=text, mentions=self.mentions(text)), target)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        if self._is_ours_or_a_bot(event, context):
            return
        bot_user = getattr(context, "bot_user_id", None)
        if event.get("channel_type") == "im":
            self._spawn(self._direct(event, bot_user), "direct message", self._event_id(body))
        elif event.get("thread_ts") and event.get("thread_ts") != event.get("ts"):
            if bot_user and f"<@{bot_user}" in (event.get("text") or ""):
                return  # the app_mention event carries it
            self._spawn(self._thread_message(event), "thread message", self._event_id(body))

    async def _direct(self, event: dict[str, Any], bot_user: str | None) -> None:
        text = _without_leading_mention(event.get("text") or "", bot_user) or "help"
        channel = event["channel"]
        target = Target(
            user_id=event["user"], channel_id=channel, thread_ts=event.get("thread_ts"), is_direct=True
        )
        member = await self.member(event["user"])
        place = Place(PLATFORM, channel, event.get("thread_ts"), True)
        await self.run(Incoming(member=member, place=place, text=text, mentions=self.mentions(text)), target)

    async def _thread_message(self, event: dict[str, Any]) -> None:
        member = await self.member(event["user"], _profile_name(event))
        place = Place(PLATFORM, event["channel"], event["thread_ts"])
        link = await self.messenger.permalink(event["channel"], event["ts"])
        await self.core.heard(member, place, typed_text(event.get("text") or ""), link)

    # ---- buttons, modals, shortcuts -------------------------------------------------------------------

    async def _on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        command = str(action.get("value") or "")
        if not command:
            return
        user = body.get("user") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts")
        if container.get("type") == "view" and (body.get("view") or {}).get("type") == "home":
            self._spawn(self._home_action(user, command, body.get("trigger_id")), "home button")
            return
        target = Target(
            user_id=user["id"],
            channel_id=channel,
            thread_ts=thread_ts,
            is_direct=channel.startswith("D"),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
        )
        self._spawn(
            self._command(user["id"], user.get("username") or user.get("name", ""), command, target), "button"
        )

    async def _home_action(self, user: dict[str, Any], command: str, trigger_id: str | None) -> None:
        member = await self.member(user["id"], user.get("username", ""))
        dm = await self.messenger.dm_channel(member.user_id)
        target = Target(user_id=member.user_id, channel_id=dm, is_direct=True, trigger_id=trigger_id)
        await self.run(Incoming(member=member, place=Place(PLATFORM, dm, None, True), text=command), target)
        await self.publish_home(member)

    async def _on_view_submission(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = modal_metadata(view.get("private_metadata") or "")
        extra = _expand(meta.get("meta", ""))
        user = body.get("user") or {}
        member = await self.member(user["id"], user.get("username") or user.get("name", ""))
        target = Target(
            user_id=member.user_id,
            channel_id=extra.get("c") or "",
            thread_ts=extra.get("t"),
            is_direct=bool(extra.get("d")),
            response_url=extra.get("r"),
            link=extra.get("l"),
        )
        values = modal_values(view.get("state") or {})
        values.update(meta.get("fixed") or {})
        mentions: dict[str, Member] = {}
        for key, value in list(values.items()):
            if isinstance(value, str):
                values[key] = CHANNEL.sub(lambda m: m.group(1), value)
                for token, who in self.mentions(value).items():
                    mentions[token] = await self.member(who.user_id, who.display_name)
        place = Place(PLATFORM, target.channel_id, target.thread_ts, target.is_direct)
        # The command runs before the ack: a mistake must be shown beside its field, in the ack.
        replies = await self.core.dispatch(
            Incoming(
                member=member,
                place=place,
                command=meta.get("command"),
                values=values,
                mentions=mentions,
                link=target.link,
                guest=REQUEST_GUEST.get() is not None,
            )
        )
        # Slack can show an error only under an input block of this modal (not under a fixed value).
        inputs = [
            b["block_id"] for b in view.get("blocks") or [] if b.get("type") == "input" and "block_id" in b
        ]
        errors = next((field_errors(r) for r in replies if r.is_error and r.error_field in inputs), None)
        if errors is not None:
            await ack(**errors)
            return
        first_error = next((r for r in replies if r.is_error), None)
        if first_error is not None and inputs:
            block = inputs[0]
            await ack(
                response_action="errors",
                errors={block: truncate(render_members(first_error.plain_text()).replace("**", ""), 150)},
            )
            return
        await ack()
        tz = await self.core.member_zone(member)
        self._spawn(self.messenger.deliver(target, replies, tz), "form confirmation")

    def _shortcut_listener(self, entry: Entry) -> Callable[..., Awaitable[None]]:
        """The listener for one declared menu entry: acknowledge, then run its command."""

        async def listener(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            if isinstance(entry, MessageAction):
                self._spawn(self._message_action(entry, body), entry.label)
            else:  # a GlobalAction: the bare command (a form command opens its form)
                user = body.get("user") or {}
                target = Target(user_id=user["id"], trigger_id=body.get("trigger_id"))
                work = self._command(user["id"], user.get("username", ""), entry.command, target)
                self._spawn(work, entry.label)

        return listener

    async def _message_action(self, entry: MessageAction, body: dict[str, Any]) -> None:
        """The entry's command gets the message (author, text, link) and decides; `practice from-message`
        opens your own message as a practice form, or someone else's as a proposal to its author."""
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        user = body.get("user") or {}
        member = await self.member(user["id"], user.get("username") or user.get("name", ""))
        link = await self.messenger.permalink(channel, str(message.get("ts", ""))) if channel else None
        target = Target(
            user_id=member.user_id,
            channel_id=channel,
            thread_ts=message.get("thread_ts"),
            is_direct=channel.startswith("D"),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            link=link,
        )
        author = await self.member(message.get("user") or member.user_id)
        mention = f"<@{author.user_id}>"
        text = MENTION.sub(
            lambda m: "@" + (m.group(2) or self._profiles.get(m.group(1), (0, m.group(1)))[1]),
            message.get("text") or "",
        )
        incoming = Incoming(
            member=member,
            place=Place(PLATFORM, channel, target.thread_ts, target.is_direct),
            command=entry.command,
            values={"author": mention, "text": text, "link": link or ""},
            mentions={mention: author},
            link=link,
        )
        await self.messenger.deliver(
            target,
            await self.core.dispatch(incoming),
            await self.core.member_zone(member),
            open_form=self.open_form,
        )

    # ---- App Home -------------------------------------------------------------------------------------

    async def _on_link_shared(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not event.get("user"):
            return
        self._spawn(self._unfurl(event), "link preview", self._event_id(body))

    async def _unfurl(self, event: dict[str, Any]) -> None:
        """Links to copbot's pages pasted in a message (or being typed: `source` composer) become cards,
        each as the member who pasted it may show it there (the core decides: Feature.previews)."""
        channel = str(event.get("channel", ""))
        member = await self.member(event["user"])
        place = Place(PLATFORM, channel, event.get("thread_ts"), channel.startswith("D"))
        tz = self.settings.timezone  # a card is read by many: its times are Slack date tokens anyway
        unfurls: dict[str, Any] = {}
        for link in (event.get("links") or [])[:MAX_UNFURLS]:
            url = str(link.get("url", ""))
            card = await self.core.preview(url, member, place) if url else None
            if card is not None:
                unfurls[url] = {"blocks": render_reply(card, tz_fallback=tz)["blocks"]}
        if not unfurls:
            return
        where: dict[str, Any] = (
            {"unfurl_id": event["unfurl_id"], "source": event.get("source", "composer")}
            if event.get("unfurl_id") and not event.get("message_ts")
            else {"channel": channel, "ts": event.get("message_ts", "")}
        )
        try:
            await self.client.chat_unfurl(unfurls=unfurls, **where)
        except Exception as exc:  # noqa: BLE001 - a card that could not be added costs nothing else
            log.warning("Slack: chat.unfurl failed: %s", type(exc).__name__)

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return
        self._spawn(self._home_opened(event["user"]), "app home", self._event_id(body))

    async def _home_opened(self, user_id: str) -> None:
        await self.publish_home(await self.member(user_id))

    async def publish_home(self, member: Member) -> None:
        sections = await self.core.home(member, Place(PLATFORM, "", None, True))
        tz = await self.core.member_zone(member)
        blocks: list[dict[str, Any]] = []
        for heading, reply in sections:
            section = [{"type": "header", "text": {"type": "plain_text", "text": heading[:150]}}]
            section += render_reply(reply, tz_fallback=tz)["blocks"] + [{"type": "divider"}]
            if len(blocks) + len(section) > HOME_MAX_BLOCKS:
                break
            blocks += section
        await self.client.views_publish(user_id=member.user_id, view={"type": "home", "blocks": blocks})


def typed_text(text: str) -> str:
    """What the member typed: Slack sends &, < and > as &amp;, &lt; and &gt; (its own <...> tokens, such
    as mentions, stay as they are)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _profile_name(event: dict[str, Any]) -> str:
    """The name a message event shows its author by (Slack includes it for members of other organisations
    in shared channels, whose profile users.info may not give): the fallback when users.info says nothing."""
    profile = event.get("user_profile") or {}
    return str(profile.get("display_name") or profile.get("real_name") or profile.get("name") or "")


def _without_leading_mention(text: str, bot_user: str | None) -> str:
    text = text.strip()
    match = MENTION.match(text)
    if match and (bot_user is None or match.group(1) == bot_user):
        text = text[match.end() :].strip()
    return text


def _compact(meta: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in meta.items() if v}, separators=(",", ":"))


def _expand(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
