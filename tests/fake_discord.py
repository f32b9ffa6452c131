"""A small fake Discord (REST API v10 + gateway) on 127.0.0.1 for tests that drive a REAL discord.py client.

Pointing discord.py 2.7 at it takes two process-wide assignments, made before `client.start(token)`
(api_base is like "http://127.0.0.1:PORT/api/v10", gateway_url like "ws://127.0.0.1:PORT/gateway"):

    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

`Route.BASE` is read each time a Route is built, and discord/webhook/async_.py imports that same `Route`
class, so interaction callbacks, follow-ups and @original edits go to the fake too; there is no
separate webhook base (`discord.http._set_api_version()` would reset BASE to discord.com). A plain
`discord.Client` never calls GET /gateway/bot: it connects to DEFAULT_GATEWAY with
?v=10&encoding=json&compress=zlib-stream (zstd-stream when `zstandard` is installed), later to READY's
`resume_gateway_url` to RESUME, and back to DEFAULT_GATEWAY after an INVALID_SESSION. The fake answers
zlib-stream with binary zlib frames ending in the Z_SYNC_FLUSH suffix, and anything else with text
frames, which discord.py always accepts. `fake.patch_discord_py()` makes both assignments and restores
them afterwards.

discord.py details the fake relies on: JSON responses need a Content-Type of exactly "application/json"
(with "; charset=utf-8" discord.py hands back the raw text); a 429 is retried only when the response
carries a `Via` header (otherwise it is taken for a Cloudflare ban); start() calls GET /users/@me and
GET /oauth2/applications/@me before the gateway; on_ready fires `guild_ready_timeout` (2 s by default)
after the last GUILD_CREATE; interaction callbacks are POSTed with ?with_response=1 and parse the
{"interaction", "resource"} answer.

    fake = FakeDiscord(); await fake.start()
    with fake.patch_discord_py():
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        task = asyncio.create_task(client.start(fake.token)) ...
    iid = await fake.send_interaction(fake.slash_command("cop", [subcommand("join", option("network", "x"))]))
    [reply] = await fake.wait_for_replies(iid)          # reply.type == 4, reply.ephemeral, reply.content
    fake.calls_to("POST", "/channels/{id}/messages")     # every REST request is a recorded Call

Shapes follow Discord's docs and discord.py's discord/types; JSON builders live in fake_discord_payloads.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import secrets
import time
import traceback
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fake_discord_payloads import (
    ALL_PERMISSIONS,
    BOT_PERMISSIONS,
    COORDINATOR_PERMISSIONS,
    EPHEMERAL,
    HAS_THREAD,
    LOADING,
    FakeChannel,
    FakeUser,
    InteractionBuilders,
    dm_channel_json,
    guild_channel_json,
    invalid_form_body,
    iso,
    message_json,
    option,
    role_json,
    scheduled_event_json,
    snowflake,
    subcommand,
    subcommand_group,
    thread_json,
)

__all__ = [
    "FakeDiscord",
    "Call",
    "Reply",
    "FakeUser",
    "FakeChannel",
    "option",
    "subcommand",
    "subcommand_group",
]

# Gateway intents that gate the events the fake echoes.
GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, DIRECT_MESSAGES = 1 << 0, 1 << 1, 1 << 9, 1 << 12
MESSAGE_CONTENT, GUILD_SCHEDULED_EVENTS, GUILD_PRESENCES = 1 << 15, 1 << 16, 1 << 8
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
UNAUTHENTICATED = ("/interactions/", "/webhooks/")  # interaction tokens authenticate these


@dataclass
class Call:
    """One REST request the fake answered. `path` is relative to the API base, e.g. /channels/1/messages."""

    method: str
    path: str
    json: Any
    query: dict[str, str]
    headers: dict[str, str]
    files: list[dict[str, Any]] = field(default_factory=list)  # {"field", "filename", "content_type", "data"}
    route: str | None = None  # the matched route template; None for unknown routes (answered 404)
    status: int = 0
    response: Any = None


@dataclass
class Reply:
    """Something the bot answered to an interaction: the callback, a follow-up, an edit or a delete."""

    kind: str  # "callback" | "followup" | "edit" | "delete"
    # callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal
    type: int | None
    data: dict[str, Any]  # the callback's "data" or the webhook request body
    message: dict[str, Any] | None = None  # the message the fake created or edited

    @property
    def content(self) -> str | None:
        return self.data.get("content", self.message.get("content") if self.message else None)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.data.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.data.get("components") or []

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or (self.message or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        return self.data.get("choices") or []


class DiscordError(Exception):
    def __init__(self, status: int, message: str, code: int = 0, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.body = status, body or {"message": message, "code": code}


def _not_found(what: str, code: int) -> DiscordError:
    return DiscordError(404, f"Unknown {what}", code)


def _invalid(**errors: str) -> DiscordError:
    return DiscordError(400, "Invalid Form Body", body=invalid_form_body(errors))


def path_matcher(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """A regex for API paths; in strings, `{name}` stands for one path segment."""
    if isinstance(pattern, re.Pattern):
        return pattern
    return re.compile(re.sub(r"\{[A-Za-z_]+\}", "[^/]+", pattern))


def _with_body(call: Call, body: Any) -> Call:
    """The same request with another JSON body (a forum post's nested message, a callback's data)."""
    return Call(call.method, call.path, body, call.query, call.headers, call.files)


@dataclass
class _Interaction:
    payload: dict[str, Any]
    replies: list[Reply] = field(default_factory=list)
    acknowledged: bool = False
    original_id: int | None = None

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])


@dataclass
class _Failure:
    method: str
    matcher: re.Pattern[str]
    status: int
    times: int
    retry_after: float
    global_: bool
    body: dict[str, Any] | None


@dataclass
class _Sustained:
    """`per_window` requests each `window` seconds (a window starts at its first request), the rest 429.
    `matcher` None is Discord's global limit (every request of the bot counts); otherwise one bucket per
    concrete path, as Discord buckets a route per channel."""

    method: str
    matcher: re.Pattern[str] | None
    per_window: int
    window: float
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)

    def key(self, call: Call) -> str | None:
        if self.matcher is None:
            return "global"
        if call.method == self.method and self.matcher.fullmatch(call.path):
            return call.path
        return None


@dataclass
class Hold:
    """A request the fake keeps waiting, unanswered, until the test sets `release`."""

    method: str
    matcher: re.Pattern[str]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set when the request comes in
    release: asyncio.Event = field(default_factory=asyncio.Event)
    taken: bool = False


class _Connection:
    """One gateway websocket. zlib-stream compression is one deflate stream for the whole connection."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None):
        self.ws = ws
        self.zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self.lock = asyncio.Lock()
        self.session: _Session | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                if self.zlib is not None:
                    data = self.zlib.compress(text.encode()) + self.zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)


@dataclass
class _Session:
    id: str
    intents: int
    conn: _Connection | None
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for RESUME replay


class FakeDiscord(InteractionBuilders):
    """One bot application, one guild, a handful of members; REST state lives in memory.

    The interaction payload builders (slash_command, component, modal_submit, ...) come from
    InteractionBuilders in fake_discord_payloads.py."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        echo_events: bool = True,
        privileged_intents: bool = True,
        heartbeat_interval_ms: int = 41250,
    ):
        self.token = token
        # Like Discord, send MESSAGE_CREATE/THREAD_CREATE/... over the gateway for what the bot did over REST.
        self.echo_events = echo_events
        # False: an IDENTIFY asking for members/presences/message content is closed with 4014.
        self.privileged_intents = privileged_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.api_base = self.gateway_url = self.http_base = ""
        self.calls: list[Call] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes = 0
        self.gateway_connections: list[dict[str, str]] = []  # path + query of each websocket
        self.heartbeats = 0
        self.server_errors: list[str] = []  # tracebacks of requests the fake itself failed to handle

        self.application_id = snowflake()
        self.bot_user = FakeUser(
            self.application_id, "copbot", "CoPBot", bot=True, permissions=BOT_PERMISSIONS
        )
        self.guild_id, self.guild_name = snowflake(), "Community of Practice"
        self.everyone_role_id = self.guild_id  # Discord's @everyone role shares the guild's id
        self.admin_role_id, self.coordinator_role_id, self.bot_role_id = snowflake(), snowflake(), snowflake()
        self.bot_user.roles = [self.bot_role_id]
        self.admin = FakeUser(
            snowflake(), "ada", "Ada Admin", roles=[self.admin_role_id], permissions=ALL_PERMISSIONS
        )
        self.coordinator = FakeUser(
            snowflake(),
            "cora",
            "Cora Coordinator",
            roles=[self.coordinator_role_id],
            permissions=COORDINATOR_PERMISSIONS,
        )
        self.member = FakeUser(snowflake(), "ben", "Ben Member")
        self.no_dm_user = FakeUser(snowflake(), "nadia", "Nadia NoDMs", accepts_dms=False)
        self.users: dict[int, FakeUser] = {
            u.id: u for u in (self.bot_user, self.admin, self.coordinator, self.member, self.no_dm_user)
        }
        self.category = FakeChannel(snowflake(), "Community", 4)
        self.text_channel = FakeChannel(snowflake(), "general", 0)
        self.forum_channel = FakeChannel(
            snowflake(),
            "open-forum",
            15,
            tags={"Open forum": snowflake(), "Question": snowflake(), "Resolved": snowflake()},
        )
        self.reminder_channel = FakeChannel(snowflake(), "reminders", 0)
        self.voice_channel = FakeChannel(snowflake(), "meeting-room", 2)
        self.roles = [
            role_json(self.everyone_role_id, "@everyone", 0x1 | 0x400 | 0x800 | 0x10000 | (1 << 31), 0),
            role_json(self.coordinator_role_id, "Coordinator", COORDINATOR_PERMISSIONS, 1),
            role_json(self.bot_role_id, "copbot", BOT_PERMISSIONS, 2, bot_id=self.bot_user.id),
            role_json(self.admin_role_id, "Administrator", ALL_PERMISSIONS, 3),
        ]
        self.channels: dict[int, dict[str, Any]] = {}  # guild channels, threads and DMs by id
        for position, ch in enumerate(
            (self.category, self.text_channel, self.forum_channel, self.reminder_channel, self.voice_channel)
        ):
            self.channels[ch.id] = guild_channel_json(ch, self.guild_id, position, self.category.id)
        self.joined_at = iso()
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_message_ids: list[int] = []
        # enforce_nonce: a repeated (author, nonce) within this many seconds gets the first message back
        self.nonce_window = 180.0
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.files: dict[int, bytes] = {}  # attachment id -> bytes, served at /attachments/...
        self.scheduled_events: dict[int, dict[str, Any]] = {}
        self.deleted_event_ids: list[int] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.interactions: dict[int, _Interaction] = {}
        self._failures: list[_Failure] = []
        self._holds: list[Hold] = []
        self._sustained: list[_Sustained] = []
        self.rate_limited = 0  # requests answered 429 by a sustained limit
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self._runner: web.AppRunner | None = None
        self._cond: asyncio.Condition | None = None
        self._routes = self._route_table()

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on a free 127.0.0.1 port; return the API base URL."""
        self._cond = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", self._handle_rest)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway/resume", self._handle_gateway)
        app.router.add_get("/attachments/{channel}/{attachment}/{filename}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.http_base = f"http://127.0.0.1:{port}"
        self.api_base = f"{self.http_base}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        return self.api_base

    async def stop(self) -> None:
        for hold in self._holds:  # a test that failed before releasing must not keep a request open
            hold.release.set()
        for conn in list(self._connections):
            await conn.ws.close(code=1001, message=b"fake discord stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def patch_discord_py(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this fake; restore them on exit."""
        import discord.gateway
        import discord.http
        import yarl

        old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # --- assertions -------------------------------------------------------------------------------

    def calls_to(self, method: str, path: str | re.Pattern[str]) -> list[Call]:
        """Answered calls whose method matches and whose path fully matches (`{name}` = one segment)."""
        matcher = path_matcher(path)
        return [c for c in self.calls if c.method == method.upper() and matcher.fullmatch(c.path)]

    def unknown_calls(self) -> list[Call]:
        return [c for c in self.calls if c.route is None]

    async def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = 5.0, *, after: int = 0
    ) -> Call:
        """The first recorded call (from index `after`) satisfying predicate, waiting up to timeout."""

        def found() -> Call | None:
            return next((c for c in self.calls[after:] if predicate(c)), None)

        return await self._until(found, timeout, "a matching REST call")

    async def wait_for_call(
        self, method: str, path: str | re.Pattern[str], timeout: float = 5.0, *, after: int = 0
    ) -> Call:
        matcher = path_matcher(path)
        return await self.wait_for(
            lambda c: c.method == method.upper() and bool(matcher.fullmatch(c.path)), timeout, after=after
        )

    def interaction_responses(self, interaction_id: int) -> list[Reply]:
        return list(self.interactions[int(interaction_id)].replies)

    async def wait_for_replies(
        self, interaction_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[Reply]:
        record = self.interactions[int(interaction_id)]
        what = f"{count} replies to interaction {interaction_id}"
        await self._until(lambda: len(record.replies) >= count, timeout, what)
        return list(record.replies)

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Non-ephemeral messages in a channel/thread/DM, oldest first."""
        return [
            m
            for m in self.messages.values()
            if int(m["channel_id"]) == int(channel_id) and not int(m.get("flags", 0)) & EPHEMERAL
        ]

    def dm_messages(self, user: FakeUser | int) -> list[dict[str, Any]]:
        channel = self._dm_channel_of(user)
        return self.messages_in(int(channel["id"])) if channel else []

    def threads(self, parent_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c
            for c in self.channels.values()
            if c["type"] in (10, 11, 12) and (parent_id is None or int(c["parent_id"]) == int(parent_id))
        ]

    def fail_next(
        self,
        method: str,
        path: str | re.Pattern[str],
        status: int = 429,
        retry_after: float = 1.0,
        times: int = 1,
        global_: bool = False,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status`; 429 gets Discord's rate-limit body
        and headers, other statuses `body` or {"message": "Injected failure", "code": 0}."""
        failure = _Failure(method.upper(), path_matcher(path), status, times, retry_after, global_, body)
        self._failures.append(failure)

    def limit_sustained(
        self,
        per_window: int,
        window: float = 1.0,
        *,
        method: str = "",
        path: str | re.Pattern[str] | None = None,
    ) -> None:
        """From now on allow `per_window` requests per `window` seconds and answer the rest 429 as Discord
        does: `retry_after` (to the window's end) in the body, Retry-After and X-RateLimit-* headers.
        Without `path` this is the global limit (every request counts; X-RateLimit-Global: true); with
        it, one bucket per matching channel's path, whose answers carry its Limit/Remaining/Reset-After
        so a client can pace itself. Off unless called: other tests see no sustained limit."""
        matcher = path_matcher(path) if path is not None else None
        self._sustained.append(_Sustained(method.upper(), matcher, per_window, window))

    def hold_next(self, method: str, path: str | re.Pattern[str]) -> Hold:
        """Keep the next matching request that would be answered normally (one answered by an injected
        failure is not held) waiting until `hold.release` is set; `hold.arrived` tells when it came in."""
        hold = Hold(method.upper(), path_matcher(path))
        self._holds.append(hold)
        return hold

    # --- driving the bot --------------------------------------------------------------------------

    async def send_interaction(self, payload: dict[str, Any], timeout: float = 5.0) -> int:
        """Dispatch INTERACTION_CREATE to the connected bot; return the interaction id."""
        await self.wait_until_identified(timeout)
        self.interactions[int(payload["id"])] = _Interaction(payload)
        await self._dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def send_user_message(
        self, channel_id: int, author: FakeUser, content: str, **extra: Any
    ) -> dict[str, Any]:
        """A member posts a message: store it and dispatch MESSAGE_CREATE as Discord would."""
        await self.wait_until_identified()
        message = message_json(
            message_id=snowflake(),
            channel_id=channel_id,
            author=author,
            body={"content": content, **extra},
            users=self.users,
        )
        self.messages[int(message["id"])] = message
        await self._echo_message("MESSAGE_CREATE", message)
        return message

    async def wait_until_identified(self, timeout: float = 5.0) -> None:
        await self._until(
            lambda: any(s.conn for s in self._sessions.values()), timeout, "a bot on the gateway"
        )

    async def force_reconnect(self) -> None:
        """Send op 7 RECONNECT; discord.py reconnects to resume_gateway_url and RESUMEs."""
        for session in self._sessions.values():
            if session.conn:
                await session.conn.send({"op": 7, "d": None, "s": None, "t": None})

    def add_member(
        self,
        username: str,
        *,
        roles: list[int] | None = None,
        accepts_dms: bool = True,
        permissions: int | None = None,
    ) -> FakeUser:
        user = FakeUser(
            snowflake(), username, username.title(), roles=list(roles or []), accepts_dms=accepts_dms
        )
        if permissions is not None:
            user.permissions = permissions
        self.users[user.id] = user
        return user

    def dm_channel_for(self, user: FakeUser | int) -> dict[str, Any]:
        found = self._dm_channel_of(user)
        if found is None:
            user = user if isinstance(user, FakeUser) else self.users[int(user)]
            found = dm_channel_json(snowflake(), user)
            self.channels[int(found["id"])] = found
        return found

    # --- gateway ----------------------------------------------------------------------------------

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws, request.query.get("compress"))
        self._connections.add(conn)
        self.gateway_connections.append({"path": request.path, **request.query})
        await conn.send(
            {
                "op": 10,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-discord-gateway"]},
                "s": None,
                "t": None,
            }
        )
        try:
            async for msg in ws:
                if msg.type.name != "TEXT":
                    continue
                packet = json.loads(msg.data)
                op, data = packet.get("op"), packet.get("d")
                if op == 1:
                    self.heartbeats += 1
                    await conn.send({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    await self._identify(conn, data)
                elif op == 6:
                    await self._resume(conn, data)
                elif op == 8 and conn.session:
                    await self._member_chunk(conn.session, data)
        finally:
            self._connections.discard(conn)
            if conn.session and conn.session.conn is conn:
                conn.session.conn = None
            await self._notify()
        return ws

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED and not self.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        session = _Session(secrets.token_hex(16), intents, conn)
        conn.session = self._sessions[session.id] = session
        port = self.http_base.rsplit(":", 1)[1]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**self.bot_user.user_json(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://127.0.0.1:{port}/gateway/resume",
            "application": {"id": str(self.application_id), "flags": (1 << 15) | (1 << 19)},
            "user_settings": {},
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "_trace": ["fake-discord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_event(session, "READY", ready)
        await self._send_event(session, "GUILD_CREATE", self._guild_json(intents))
        await self._notify()

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        session = self._sessions.get(data.get("session_id") or "")
        if session is None or data.get("token") != self.token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        self.resumes += 1
        conn.session, session.conn = session, conn
        for event in [e for e in session.events if e["s"] > int(data.get("seq") or 0)]:
            await conn.send(event)
        await self._send_event(session, "RESUMED", {"_trace": ["fake-discord"]})
        await self._notify()

    async def _member_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        query, ids = data.get("query") or "", {int(i) for i in data.get("user_ids") or []}
        members = [
            u.member_json(joined_at=self.joined_at)
            for u in self.users.values()
            if ((u.id in ids) if ids else u.username.startswith(query))
        ]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk = {
            "guild_id": str(self.guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(i) for i in ids - set(self.users)],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send_event(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_event(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        packet = {"op": 0, "s": session.seq, "t": event, "d": data}
        session.events.append(packet)
        if session.conn is not None:
            await session.conn.send(packet)

    async def _dispatch(self, event: str, data: dict[str, Any], intent: int = 0) -> None:
        """Send a dispatch to every session (detached ones buffer it for RESUME) whose intents allow it."""
        for session in list(self._sessions.values()):
            if not intent or session.intents & intent:
                await self._send_event(session, event, data)

    def _guild_json(self, intents: int) -> dict[str, Any]:
        members = [u for u in self.users.values() if intents & GUILD_MEMBERS or u.id == self.bot_user.id]
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "banner": None,
            "discovery_splash": None,
            "description": None,
            "owner_id": str(self.admin.id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": ["COMMUNITY"],
            "system_channel_id": str(self.text_channel.id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "roles": self.roles,
            "emojis": [],
            "stickers": [],
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.users),
            "members": [u.member_json(joined_at=self.joined_at) for u in members],
            "channels": [c for c in self.channels.values() if c["type"] in (0, 2, 4, 5, 13, 15, 16)],
            "threads": self.threads(),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": list(self.scheduled_events.values()),
            "soundboard_sounds": [],
            "embedded_activities": [],
            "incidents_data": None,
        }

    async def _echo_message(self, event: str, message: dict[str, Any]) -> None:
        if not self.echo_events or int(message.get("flags", 0)) & EPHEMERAL:
            return
        channel = self.channels.get(int(message["channel_id"]), {})
        if channel.get("type") in (1, 3):
            await self._dispatch(event, message, DIRECT_MESSAGES)
            return
        author = self.users.get(int(message["author"]["id"]))
        data = {**message, "guild_id": str(self.guild_id)}
        if author:
            data["member"] = author.member_json(joined_at=self.joined_at, with_user=False)
        mentions_bot = any(int(m["id"]) == self.bot_user.id for m in message.get("mentions", []))
        for session in list(self._sessions.values()):
            if not session.intents & GUILD_MESSAGES:
                continue
            seen = data
            if not session.intents & MESSAGE_CONTENT and author is not self.bot_user and not mentions_bot:
                seen = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
            await self._send_event(session, event, seen)

    async def _echo(self, event: str, data: dict[str, Any], intent: int) -> None:
        if self.echo_events:
            await self._dispatch(event, data, intent)

    # --- REST plumbing ----------------------------------------------------------------------------

    def _route_table(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., Awaitable[Any]]]]:
        table = [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("POST", "/users/@me/channels", self._open_dm),
            ("GET", "/users/{user}", self._get_user),
            ("GET", "/applications/{app}/commands", self._get_commands),
            ("PUT", "/applications/{app}/commands", self._put_commands),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            ("GET", "/channels/{channel}", self._get_channel),
            ("PATCH", "/channels/{channel}", self._edit_channel),
            ("POST", "/channels/{channel}/typing", self._no_content),
            ("GET", "/channels/{channel}/messages", self._list_messages),
            ("POST", "/channels/{channel}/messages", self._create_message),
            ("GET", "/channels/{channel}/messages/{message}", self._get_message),
            ("PATCH", "/channels/{channel}/messages/{message}", self._edit_message),
            ("DELETE", "/channels/{channel}/messages/{message}", self._delete_message),
            ("PUT", "/channels/{channel}/messages/{message}/reactions/{emoji}/@me", self._no_content),
            ("DELETE", "/channels/{channel}/messages/{message}/reactions/{emoji}/@me", self._no_content),
            ("POST", "/channels/{channel}/messages/{message}/threads", self._thread_from_message),
            ("POST", "/channels/{channel}/threads", self._create_thread),
            ("PUT", "/channels/{channel}/thread-members/{user}", self._no_content),
            ("GET", "/guilds/{guild}", self._get_guild),
            ("GET", "/guilds/{guild}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild}/roles", self._get_roles),
            ("GET", "/guilds/{guild}/members/{user}", self._get_member),
            ("GET", "/guilds/{guild}/scheduled-events", self._list_events),
            ("POST", "/guilds/{guild}/scheduled-events", self._create_event),
            ("GET", "/guilds/{guild}/scheduled-events/{event}", self._get_event),
            ("PATCH", "/guilds/{guild}/scheduled-events/{event}", self._edit_event),
            ("DELETE", "/guilds/{guild}/scheduled-events/{event}", self._delete_event),
            ("POST", "/interactions/{interaction}/{token}/callback", self._interaction_callback),
            ("POST", "/webhooks/{app}/{token}", self._followup),
            ("GET", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message),
            ("PATCH", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message),
            ("DELETE", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message),
        ]
        return [(m, re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t)), t, h) for m, t, h in table]

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        call = Call(request.method, path, body, dict(request.query), dict(request.headers), files)
        route, handler, params = None, None, {}
        for method, regex, template, candidate in self._routes:
            match = regex.fullmatch(path)
            if match and method == request.method:
                route, handler, params = template, candidate, match.groupdict()
                break
        call.route = route
        headers = self._ratelimit_headers(f"{request.method} {route or path}")
        try:
            authorized = request.headers.get("Authorization") == f"Bot {self.token}"
            if not path.startswith(UNAUTHENTICATED) and not authorized:
                raise DiscordError(401, "401: Unauthorized", 0)
            if (refusal := self._sustained_answer(call, headers)) is not None:
                call.status, call.response = 429, refusal
                self.rate_limited += 1
            elif (failure := self._take_failure(call)) is not None:
                call.status, call.response, extra = self._failure_response(failure)
                headers.update(extra)
            elif handler is None:
                raise DiscordError(404, "404: Not Found", 0)
            else:
                if (hold := self._take_hold(call)) is not None:
                    hold.arrived.set()
                    await hold.release.wait()
                result = await handler(call, params)
                call.status, call.response = result if isinstance(result, tuple) else (200, result)
        except DiscordError as error:
            call.status, call.response = error.status, error.body
        except Exception as error:  # a bug in the fake: answer 400 (a 500 makes discord.py retry for ~25 s)
            self.server_errors.append(traceback.format_exc())
            call.status, call.response = 400, {"message": f"FakeDiscord failed: {error!r}", "code": -1}
        self.calls.append(call)
        await self._notify()
        if call.response is None:
            return web.Response(status=204 if call.status < 300 else call.status, headers=headers)
        # exactly "application/json": discord.py's json_or_text() returns raw text for "...; charset=utf-8"
        return web.Response(
            body=json.dumps(call.response).encode(),
            status=call.status,
            headers=headers,
            content_type="application/json",
        )

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        if request.content_type.startswith("multipart/"):
            body, files = None, []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "data": await part.read(),
                            "content_type": part.headers.get("Content-Type"),
                        }
                    )
            return body, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    def _ratelimit_headers(self, bucket_key: str) -> dict[str, str]:
        """A route's bucket headers as Discord sends them. A route with no limit of its own (see
        limit_sustained) advertises a bucket too wide to hold a client back, because the fake enforces
        none there: advertising 5 a second that it never enforced had discord.py queue every DM-channel
        open (one bucket for all members) behind a limit that did not exist."""
        return {
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "999",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": hashlib.md5(bucket_key.encode()).hexdigest(),
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban and does not retry
        }

    def _sustained_answer(self, call: Call, headers: dict[str, str]) -> dict[str, Any] | None:
        """Count the call against every sustained limit it falls under; a 429 body if one is used up
        (its headers set in `headers`), else None (a route's bucket headers set to its window)."""
        now = time.monotonic()
        for limit in self._sustained:
            if (key := limit.key(call)) is None:
                continue
            start, used = limit.windows.get(key, (now, 0))
            if now - start >= limit.window:
                start, used = now, 0
            reset_after = max(0.001, start + limit.window - now)
            if used >= limit.per_window:
                limit.windows[key] = (start, used)
                is_global = limit.matcher is None
                headers.update(
                    {
                        "Retry-After": str(math.ceil(reset_after)),
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                        "X-RateLimit-Scope": "global" if is_global else "user",
                    }
                )
                if is_global:
                    headers["X-RateLimit-Global"] = "true"
                return {
                    "message": "You are being rate limited.",
                    "retry_after": round(reset_after, 3),
                    "global": is_global,
                }
            limit.windows[key] = (start, used + 1)
            if limit.matcher is not None:
                headers.update(
                    {
                        "X-RateLimit-Limit": str(limit.per_window),
                        "X-RateLimit-Remaining": str(limit.per_window - used - 1),
                        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                    }
                )
        return None

    def _take_failure(self, call: Call) -> _Failure | None:
        for failure in self._failures:
            if failure.times > 0 and failure.method == call.method and failure.matcher.fullmatch(call.path):
                failure.times -= 1
                return failure
        return None

    def _take_hold(self, call: Call) -> Hold | None:
        for hold in self._holds:
            if not hold.taken and hold.method == call.method and hold.matcher.fullmatch(call.path):
                hold.taken = True
                return hold
        return None

    def _failure_response(self, failure: _Failure) -> tuple[int, dict[str, Any], dict[str, str]]:
        if failure.status != 429:
            return failure.status, failure.body or {"message": "Injected failure", "code": 0}, {}
        body = failure.body or {
            "message": "You are being rate limited.",
            "retry_after": failure.retry_after,
            "global": failure.global_,
        }
        headers = {
            "Retry-After": str(max(1, round(failure.retry_after))),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{failure.retry_after:.3f}",
            "X-RateLimit-Scope": "global" if failure.global_ else "user",
        }
        if failure.global_:
            headers["X-RateLimit-Global"] = "true"
        return 429, body, headers

    async def _until(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        assert self._cond is not None, "FakeDiscord.start() was not awaited"
        async with self._cond:
            try:
                return await asyncio.wait_for(self._cond.wait_for(check), timeout)
            except TimeoutError:
                recent = "\n  ".join(f"{c.method} {c.path} -> {c.status}" for c in self.calls[-15:])
                raise TimeoutError(f"no {what} within {timeout}s; recent calls:\n  {recent}") from None

    async def _notify(self) -> None:
        if self._cond is not None:
            async with self._cond:
                self._cond.notify_all()

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        data = self.files.get(int(request.match_info["attachment"]))
        return web.Response(body=data) if data is not None else web.Response(status=404)

    # --- REST handlers: application, users, guild -----------------------------------------------

    async def _no_content(self, call: Call, p: dict[str, str]) -> tuple[int, None]:
        return 204, None

    async def _get_gateway(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    async def _get_me(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        return {
            **self.bot_user.user_json(),
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
        }

    async def _get_application(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": "CoPBot",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot": self.bot_user.user_json(),
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": (1 << 15) | (1 << 19),
            "owner": self.admin.user_json(),
            "team": None,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": 1,
            "tags": [],
            "hook": True,
            "is_monetized": False,
            "integration_types_config": {"0": {}},
        }

    async def _get_user(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        return self._user(p["user"]).user_json()

    async def _get_member(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._check_guild(p["guild"])
        user = self.users.get(int(p["user"])) if p["user"].isdigit() else None
        if user is None:
            raise _not_found("Member", 10007)
        return user.member_json(joined_at=self.joined_at)

    async def _get_guild(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._check_guild(p["guild"])
        full = self._guild_json(0)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "guild_scheduled_events",
            "stage_instances",
            "soundboard_sounds",
            "joined_at",
            "large",
            "member_count",
            "lazy",
        ):
            full.pop(key, None)
        return {**full, "approximate_member_count": len(self.users), "approximate_presence_count": 1}

    async def _get_guild_channels(self, call: Call, p: dict[str, str]) -> list[dict[str, Any]]:
        self._check_guild(p["guild"])
        return [c for c in self.channels.values() if c.get("guild_id") and c["type"] not in (10, 11, 12)]

    async def _get_roles(self, call: Call, p: dict[str, str]) -> list[dict[str, Any]]:
        self._check_guild(p["guild"])
        return self.roles

    async def _get_commands(self, call: Call, p: dict[str, str]) -> list[dict[str, Any]]:
        return self.guild_commands.get(int(p["guild"]), []) if "guild" in p else self.global_commands

    async def _put_commands(self, call: Call, p: dict[str, str]) -> list[dict[str, Any]]:
        old = self.guild_commands.get(int(p["guild"]), []) if "guild" in p else self.global_commands
        stored = []
        for command in call.json or []:
            kind = int(command.get("type", 1))
            previous = next((c for c in old if c["name"] == command["name"] and c["type"] == kind), None)
            stored.append(
                {
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    "contexts": None,
                    "integration_types": [0],
                    **command,
                    "type": kind,
                    "id": previous["id"] if previous else str(snowflake()),
                    "application_id": str(self.application_id),
                    "version": str(snowflake()),
                    **({"guild_id": p["guild"]} if "guild" in p else {}),
                }
            )
        if "guild" in p:
            self.guild_commands[int(p["guild"])] = stored
        else:
            self.global_commands = stored
        return stored

    # --- REST handlers: channels, messages, threads, DMs -----------------------------------------

    async def _get_channel(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        return self._channel(p["channel"])

    async def _edit_channel(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        channel, body = self._channel(p["channel"]), call.json or {}
        if channel["type"] in (10, 11, 12):
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "auto_archive_duration", "invitable"):
                if key in body:
                    meta[key] = body[key]
            if "archived" in body:
                meta["archive_timestamp"] = iso()
        for key in ("name", "topic", "applied_tags", "rate_limit_per_user", "nsfw", "flags"):
            if key in body:
                channel[key] = body[key]
        thread = channel["type"] in (10, 11, 12)
        await self._echo("THREAD_UPDATE" if thread else "CHANNEL_UPDATE", channel, GUILDS)
        return channel

    async def _list_messages(self, call: Call, p: dict[str, str]) -> list[dict[str, Any]]:
        self._channel(p["channel"])
        limit = int(call.query.get("limit", 50))
        return list(reversed(self.messages_in(int(p["channel"]))))[:limit]

    async def _get_message(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._channel(p["channel"])
        return self._message(p["message"], p["channel"])

    async def _create_message(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        channel = self._channel(p["channel"])
        if channel["type"] == 1:
            recipient = self.users.get(int(channel["recipients"][0]["id"]))
            if recipient is not None and not recipient.accepts_dms:
                raise DiscordError(403, "Cannot send messages to this user", 50007)
        elif channel["type"] in (2, 4, 15):
            raise DiscordError(400, "Cannot send messages in a non-text channel", 50008)
        nonce = self._enforced_nonce(call)
        if nonce is not None:
            seen = self._nonces.get(nonce)
            if seen is not None and time.monotonic() - seen[1] < self.nonce_window:
                if seen[0] not in self.messages:
                    raise DiscordError(404, "Unknown Message", 10008)  # deleted shortly after: not re-sent
                return self.messages[seen[0]]  # the same message again, nothing new is created
        message = self._new_message(int(channel["id"]), self.bot_user, call)
        if nonce is not None:
            self._nonces[nonce] = (int(message["id"]), time.monotonic())
        await self._echo_message("MESSAGE_CREATE", message)
        return message

    def _enforced_nonce(self, call: Call) -> tuple[int, str] | None:
        """(author, nonce) when the body asks Discord to enforce its nonce (at most 25 characters)."""
        body = call.json or {}
        if body.get("nonce") is None or not body.get("enforce_nonce"):
            return None
        if len(str(body["nonce"])) > 25:
            raise _invalid(nonce="Must be 25 or fewer in length.")
        return self.bot_user.id, str(body["nonce"])

    async def _edit_message(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._channel(p["channel"])
        message = self._message(p["message"], p["channel"])
        if int(message["author"]["id"]) != self.bot_user.id:
            raise DiscordError(403, "Cannot edit a message authored by another user", 50005)
        self._apply_edit(message, call)
        await self._echo_message("MESSAGE_UPDATE", message)
        return message

    async def _delete_message(self, call: Call, p: dict[str, str]) -> tuple[int, None]:
        self._channel(p["channel"])
        message = self._message(p["message"], p["channel"])
        del self.messages[int(message["id"])]
        self.deleted_message_ids.append(int(message["id"]))
        await self._echo(
            "MESSAGE_DELETE",
            {"id": message["id"], "channel_id": message["channel_id"], "guild_id": str(self.guild_id)},
            GUILD_MESSAGES,
        )
        return 204, None

    async def _thread_from_message(self, call: Call, p: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parent = self._channel(p["channel"])
        message = self._message(p["message"], p["channel"])
        if "thread" in message:
            raise DiscordError(400, "A thread has already been created for this message", 160004)
        body = call.json or {}
        thread = self._add_thread(int(message["id"]), parent, body, thread_type=11)
        message["thread"], message["flags"] = thread, int(message.get("flags", 0)) | HAS_THREAD
        await self._echo("THREAD_CREATE", {**thread, "newly_created": True}, GUILDS)
        return 201, thread

    async def _create_thread(self, call: Call, p: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parent, body = self._channel(p["channel"]), call.json or {}
        if not body.get("name"):
            raise _invalid(name="This field is required")
        if parent["type"] != 15:
            thread = self._add_thread(snowflake(), parent, body, thread_type=int(body.get("type") or 12))
            await self._echo("THREAD_CREATE", {**thread, "newly_created": True}, GUILDS)
            return 201, thread
        known_tags = {t["id"] for t in parent["available_tags"]}
        if any(str(t) not in known_tags for t in body.get("applied_tags") or []):
            raise _invalid(applied_tags="Unknown tag")
        if not body.get("message"):
            raise _invalid(message="This field is required")
        thread = self._add_thread(snowflake(), parent, body, thread_type=11, forum=True)
        starter = _with_body(call, body["message"])
        message = self._new_message(int(thread["id"]), self.bot_user, starter, message_id=int(thread["id"]))
        thread["message_count"] = thread["total_message_sent"] = 1
        await self._echo("THREAD_CREATE", {**thread, "newly_created": True}, GUILDS)
        await self._echo_message("MESSAGE_CREATE", message)
        return 201, {**thread, "message": message}

    async def _open_dm(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        recipient = str((call.json or {}).get("recipient_id", ""))
        if not recipient.isdigit() or int(recipient) not in self.users:
            raise DiscordError(400, "Invalid Recipient(s)", 50033)
        return self.dm_channel_for(int(recipient))

    def _add_thread(
        self,
        thread_id: int,
        parent: dict[str, Any],
        body: dict[str, Any],
        *,
        thread_type: int,
        forum: bool = False,
    ) -> dict[str, Any]:
        thread = thread_json(
            thread_id=thread_id,
            guild_id=self.guild_id,
            parent_id=int(parent["id"]),
            owner_id=self.bot_user.id,
            name=body["name"],
            forum=forum,
            auto_archive_duration=int(body.get("auto_archive_duration") or 4320),
            applied_tags=body.get("applied_tags"),
            thread_type=thread_type,
        )
        self.channels[thread_id] = thread
        return thread

    def _new_message(
        self,
        channel_id: int,
        author: FakeUser,
        call: Call,
        *,
        message_id: int | None = None,
        extra: dict[str, Any] | None = None,
        allow_empty: bool = False,
    ) -> dict[str, Any]:
        body = call.json or {}
        content = body.get("content") or ""
        extras = ("embeds", "components", "sticker_ids", "poll")
        has_body = content or call.files or any(body.get(k) for k in extras)
        if not allow_empty and not has_body:
            raise DiscordError(400, "Cannot send an empty message", 50006)
        if len(content) > 2000:
            raise _invalid(content="Must be 2000 or fewer in length.")
        reference = body.get("message_reference")
        referenced = self.messages.get(int(reference["message_id"])) if reference else None
        message = message_json(
            message_id=message_id or snowflake(),
            channel_id=channel_id,
            author=author,
            body=body,
            users=self.users,
            attachments=self._attachments(channel_id, call),
            referenced=referenced,
            extra=extra,
        )
        self.messages[int(message["id"])] = message
        channel = self.channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = message["id"]
            if channel["type"] in (10, 11, 12) and message_id is None:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1
        return message

    def _attachments(self, channel_id: int, call: Call) -> list[dict[str, Any]]:
        found = []
        for upload in call.files:
            attachment_id = snowflake()
            self.files[attachment_id] = upload["data"]
            url = f"{self.http_base}/attachments/{channel_id}/{attachment_id}/{upload['filename']}"
            found.append(
                {
                    "id": str(attachment_id),
                    "filename": upload["filename"],
                    "url": url,
                    "proxy_url": url,
                    "size": len(upload["data"]),
                    "content_type": upload["content_type"],
                }
            )
        return found

    def _apply_edit(self, message: dict[str, Any], call: Call) -> None:
        body = call.json or {}
        for key in ("content", "embeds", "components"):
            if key in body and body[key] is not None:
                message[key] = [{"type": "rich", **e} for e in body[key]] if key == "embeds" else body[key]
        if "flags" in body and body["flags"] is not None:  # only SUPPRESS_EMBEDS may change on edit
            message["flags"] = (int(message.get("flags", 0)) & ~4) | (int(body["flags"]) & 4)
        if "attachments" in body or call.files:
            kept = {str(a.get("id")) for a in body.get("attachments") or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in kept]
            message["attachments"] += self._attachments(int(message["channel_id"]), call)
        message["flags"] = int(message.get("flags", 0)) & ~LOADING
        message["edited_timestamp"] = iso()

    # --- REST handlers: scheduled events ----------------------------------------------------------

    async def _list_events(self, call: Call, p: dict[str, str]) -> list[dict[str, Any]]:
        self._check_guild(p["guild"])
        return list(self.scheduled_events.values())

    async def _get_event(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._check_guild(p["guild"])
        return self._event(p["event"])

    async def _create_event(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._check_guild(p["guild"])
        body = call.json or {}
        self._validate_event(body)
        event = scheduled_event_json(snowflake(), self.guild_id, self.bot_user, body)
        self.scheduled_events[int(event["id"])] = event
        await self._echo("GUILD_SCHEDULED_EVENT_CREATE", event, GUILD_SCHEDULED_EVENTS)
        return event

    async def _edit_event(self, call: Call, p: dict[str, str]) -> dict[str, Any]:
        self._check_guild(p["guild"])
        event, body = self._event(p["event"]), call.json or {}
        merged = {**event, **body}
        if int(merged["entity_type"]) == 3:
            merged["channel_id"] = None
        else:
            merged["channel_id"], merged["entity_metadata"] = str(merged.get("channel_id") or ""), None
        self._validate_event(merged)
        event.update({k: v for k, v in merged.items() if k in event})
        await self._echo("GUILD_SCHEDULED_EVENT_UPDATE", event, GUILD_SCHEDULED_EVENTS)
        return event

    async def _delete_event(self, call: Call, p: dict[str, str]) -> tuple[int, None]:
        self._check_guild(p["guild"])
        event = self._event(p["event"])
        del self.scheduled_events[int(event["id"])]
        self.deleted_event_ids.append(int(event["id"]))
        await self._echo("GUILD_SCHEDULED_EVENT_DELETE", event, GUILD_SCHEDULED_EVENTS)
        return 204, None

    def _validate_event(self, body: dict[str, Any]) -> None:
        required = ("name", "scheduled_start_time", "entity_type")
        errors = {k: "This field is required" for k in required if not body.get(k)}
        if int(body.get("privacy_level", 2)) != 2:
            errors["privacy_level"] = "Value must be one of (2,)."
        if int(body.get("entity_type") or 0) == 3:
            if not (body.get("entity_metadata") or {}).get("location"):
                errors["entity_metadata.location"] = "This field is required"
            if not body.get("scheduled_end_time"):
                errors["scheduled_end_time"] = "This field is required"
        elif int(body.get("entity_type") or 0) in (1, 2):
            target = self.channels.get(int(body.get("channel_id") or 0))
            if target is None or target["type"] != {1: 13, 2: 2}[int(body["entity_type"])]:
                errors["channel_id"] = "Channel must be a voice/stage channel"
        if errors:
            raise _invalid(**errors)

    # --- REST handlers: interactions --------------------------------------------------------------

    async def _interaction_callback(self, call: Call, p: dict[str, str]) -> tuple[int, Any]:
        record = self.interactions.get(int(p["interaction"])) if p["interaction"].isdigit() else None
        if record is None or record.payload["token"] != p["token"]:
            raise DiscordError(404, "Unknown interaction", 10062)
        if record.acknowledged:
            raise DiscordError(400, "Interaction has already been acknowledged.", 40060)
        body = call.json or {}
        kind, data = int(body.get("type", 0)), body.get("data") or {}
        record.acknowledged = True
        message = None
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) | (LOADING if kind == 5 else 0)
            inner = _with_body(call, {**data, "flags": flags})
            # type 5 creates the empty "thinking" message that follow-ups and @original edits fill in
            message = self._interaction_message(record, inner, allow_empty=kind == 5)
            record.original_id = int(message["id"])
            await self._echo_message("MESSAGE_CREATE", message)
        elif kind in (6, 7) and "message" in record.payload:
            target = self.messages.setdefault(int(record.payload["message"]["id"]), record.payload["message"])
            record.original_id = int(target["id"])
            if kind == 7:
                self._apply_edit(target, _with_body(call, data))
                message = target
                await self._echo_message("MESSAGE_UPDATE", target)
        record.replies.append(Reply("callback", kind, data, message))
        if call.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        interaction = {"id": str(record.payload["id"]), "type": record.payload["type"]}
        response: dict[str, Any] = {"interaction": interaction}
        if message is not None:
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(int(message["flags"]) & EPHEMERAL),
            )
            response["resource"] = {"type": kind, "message": message}
        return 200, response

    def _interaction_message(
        self, record: _Interaction, call: Call, *, allow_empty: bool = False
    ) -> dict[str, Any]:
        payload = record.payload
        invoker = payload.get("member", {}).get("user") or payload.get("user")
        metadata = {
            "id": payload["id"],
            "type": payload["type"],
            "user": invoker,
            "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
        }
        if record.original_id is not None:
            metadata["original_response_message_id"] = str(record.original_id)
        extra = {
            "webhook_id": str(self.application_id),
            "application_id": str(self.application_id),
            "interaction_metadata": metadata,
        }
        return self._new_message(record.channel_id, self.bot_user, call, extra=extra, allow_empty=allow_empty)

    def _webhook_interaction(self, p: dict[str, str]) -> _Interaction:
        record = next((r for r in self.interactions.values() if r.payload["token"] == p["token"]), None)
        if record is None or p["app"] != str(self.application_id) or not record.acknowledged:
            raise _not_found("Webhook", 10015)
        return record

    async def _followup(self, call: Call, p: dict[str, str]) -> tuple[int, Any]:
        record = self._webhook_interaction(p)
        original = self.messages.get(record.original_id or 0)
        if original is not None and int(original.get("flags", 0)) & LOADING:
            # the first follow-up after a deferral fills the "thinking" message instead of posting a new one
            self._apply_edit(original, call)
            message = original
            await self._echo_message("MESSAGE_UPDATE", message)
        else:
            message = self._interaction_message(record, call)
            await self._echo_message("MESSAGE_CREATE", message)
        record.replies.append(Reply("followup", None, call.json or {}, message))
        return (200, message) if call.query.get("wait") in ("1", "true", "True") else (204, None)

    async def _webhook_message(self, call: Call, p: dict[str, str]) -> tuple[int, Any]:
        record = self._webhook_interaction(p)
        message_id = record.original_id if p["message"] == "@original" else int(p["message"])
        message = self.messages.get(message_id or 0)
        if message is None:
            raise _not_found("Message", 10008)
        if call.method == "GET":
            return 200, message
        if call.method == "DELETE":
            del self.messages[int(message["id"])]
            self.deleted_message_ids.append(int(message["id"]))
            record.replies.append(Reply("delete", None, {}, message))
            return 204, None
        self._apply_edit(message, call)
        record.replies.append(Reply("edit", None, call.json or {}, message))
        await self._echo_message("MESSAGE_UPDATE", message)
        return 200, message

    # --- lookups ----------------------------------------------------------------------------------

    def _user(self, user_id: str) -> FakeUser:
        user = self.users.get(int(user_id)) if user_id.isdigit() else None
        if user is None:
            raise _not_found("User", 10013)
        return user

    def _check_guild(self, guild_id: str) -> None:
        if guild_id != str(self.guild_id):
            raise _not_found("Guild", 10004)

    def _channel(self, channel_id: str) -> dict[str, Any]:
        channel = self.channels.get(int(channel_id)) if channel_id.isdigit() else None
        if channel is None:
            raise _not_found("Channel", 10003)
        return channel

    def _message(self, message_id: str, channel_id: str) -> dict[str, Any]:
        message = self.messages.get(int(message_id)) if message_id.isdigit() else None
        if message is None or message["channel_id"] != channel_id:
            raise _not_found("Message", 10008)
        return message

    def _event(self, event_id: str) -> dict[str, Any]:
        event = self.scheduled_events.get(int(event_id)) if event_id.isdigit() else None
        if event is None:
            raise _not_found("Guild Scheduled Event", 10070)
        return event

    def _dm_channel_of(self, user: FakeUser | int) -> dict[str, Any] | None:
        user_id = user.id if isinstance(user, FakeUser) else int(user)
        return next(
            (
                c
                for c in self.channels.values()
                if c["type"] == 1 and int(c["recipients"][0]["id"]) == user_id
            ),
            None,
        )
