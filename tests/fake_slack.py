"""A fake Slack for tests: a Web API server on 127.0.0.1 (random port) that records every call, and
builders for signed requests carrying Slack's real payload shapes (slash command, events, interactions).

The payload shapes follow Slack's documentation (api.slack.com: slash commands, Events API envelopes,
block_actions, message_action, view_submission, url_verification). The server answers the Web API
methods copbot uses with realistic bodies and can answer 429 with Retry-After, once or as a sustained
limit, to test that nothing is dropped.

For OAuth mode it also plays Slack's side of an install: the authorize page (`/oauth/v2/authorize`, which
sends the browser back to the redirect URI with a code), `oauth.v2.access` (a distinct bot token per team)
and `auth.test` per token; every call records the token it used.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM = "T0COMMUN1"
OTHER_TEAM = "T0ELSEWHR"  # a workspace this installation does not serve
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-not-a-real-token"
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fake-client-secret-0123456789"


_SEQUENCE = itertools.count(1)


@dataclass
class Call:
    """One request the fake received: `seq` orders all of them, `at` is when it arrived (time.monotonic)."""

    method: str
    args: dict[str, Any]
    token: str = ""  # the token the call was made with ("" for none)
    seq: int = field(default_factory=lambda: next(_SEQUENCE))
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    """Slack's Web API at http://127.0.0.1:<port>/api/ plus response_url hooks at /respond/<n>."""

    def __init__(self) -> None:
        self.calls: list[Call] = []  # answered
        self.refused: list[Call] = []  # answered 429
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_url
        self.answered: dict[str, float] = {}  # response_url's <n> -> when it was first POSTed (time.time())
        self.users: dict[str, dict[str, Any]] = {}
        # what auth.test says the token belongs to (an org-wide Enterprise Grid install names its org)
        self.installed: dict[str, Any] = {
            "team_id": TEAM,
            "enterprise_id": None,
            "is_enterprise_install": False,
        }
        # OAuth: the tokens oauth.v2.access issued, each with what auth.test says it belongs to; codes the
        # authorize page gave out (code -> team); where the authorize page sends the browser back to when
        # the link names no redirect_uri (Slack then uses the app's configured one)
        self.tokens: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, str] = {}
        self.redirect_uri = ""
        self.expires_in: int | None = (
            None  # set: tokens expire (token rotation) and come with a refresh token
        )
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> team
        self.authorize_requests: list[dict[str, str]] = []
        self._ts = itertools.count(1)
        self._limits: dict[str, int] = {}  # method -> how many more 429s to answer
        self.sustained: dict[str, tuple[int, float]] = {}  # method -> (allowed per window, window seconds)
        self._windows: dict[str, tuple[float, int]] = {}
        self.rate_limited = 0
        self.retry_after = 1
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/respond/{n}", self._respond)
        self.app.router.add_post("/upload/{file}", self._upload)
        self.app.router.add_get("/socket", self._socket)
        self.app.router.add_get("/oauth/v2/authorize", self._authorize)
        self.app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.unknown: list[str] = []
        # Socket Mode: envelopes to push to the connected app, and the acks it sent back
        self.socket_connected = asyncio.Event()
        self.socket_acks: list[dict[str, Any]] = []
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._changed = asyncio.Event()  # set whenever the fake records something; wait_for wakes on it

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, n: int = 1) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{n}"

    async def start(self) -> FakeSlack:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def add_user(self, user_id: str, name: str, tz: str = "America/Chicago") -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name.lower(),
            "real_name": name,
            "tz": tz,
            "profile": {"display_name": name, "real_name": name},
        }

    def limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and Retry-After."""
        self._limits[method] = times
        self.retry_after = retry_after

    def limit_sustained(self, method: str, per_window: int, window: float = 1.0) -> None:
        """Allow `per_window` calls of `method` per window; answer the rest 429 (Retry-After: 1)."""
        self.sustained[method] = (per_window, window)

    # ---- assertions -----------------------------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def posts(self) -> list[dict[str, Any]]:
        return self.called("chat.postMessage")

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """The predicate's first true value, checked each time the fake records something."""

        async def until_true() -> Any:
            while not (value := predicate()):
                self._changed.clear()
                await self._changed.wait()
            return value

        try:
            return await asyncio.wait_for(until_true(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s; calls: {[c.method for c in self.calls]}"
            ) from None

    def _record(self, into: list[Any], item: Any) -> None:
        into.append(item)
        self._changed.set()

    # ---- handlers -------------------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "")
        if "json" in ctype and raw:
            return dict(json.loads(raw))
        if "multipart" in ctype:
            return {"multipart": True}
        args: dict[str, Any] = dict(parse_qsl(raw.decode())) if raw else {}
        args.update(request.query)
        for key in ("blocks", "view", "files"):
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    pass
        return args

    def _throttled(self, method: str) -> bool:
        if self._limits.get(method, 0) > 0:
            self._limits[method] -= 1
            return True
        if method in self.sustained:
            allowed, window = self.sustained[method]
            start, used = self._windows.get(method, (time.monotonic(), 0))
            if time.monotonic() - start >= window:
                start, used = time.monotonic(), 0
            if used >= allowed:
                self._windows[method] = (start, used)
                return True
            self._windows[method] = (start, used + 1)
        return False

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        if self._throttled(method):
            self.rate_limited += 1
            self._record(self.refused, Call(method, args))
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        bearer = request.headers.get("Authorization", "")
        token = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else str(args.get("token", ""))
        self._record(self.calls, Call(method, args, token=token))
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(bearer, args))
        if method == "auth.test" and token in self.tokens:  # a token an OAuth install was given
            return web.json_response({**self._answer(method, args), **self.tokens[token]})
        return web.json_response(self._answer(method, args))

    def tokens_used(self, method: str) -> list[str]:
        """The token each call of `method` was made with, in order."""
        return [c.token for c in self.calls if c.method == method]

    def token_of(self, team: str) -> str:
        """The bot token oauth.v2.access issued to `team` (or to an org installed org-wide)."""
        return next(t for t, who in self.tokens.items() if who["team_id"] == team)

    async def _authorize(self, request: web.Request) -> web.Response:
        """Slack's authorize page, as if the installer clicked Allow: back to the redirect URI with a code
        for the team the link names (`team=`), the state passed through unchanged."""
        query = dict(request.query)
        self._record(self.authorize_requests, query)
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="invalid_client_id")
        code = f"code-{next(self._ts)}"
        self.codes[code] = query.get("team") or TEAM
        back = query.get("redirect_uri") or self.redirect_uri
        raise web.HTTPFound(f"{back}?{urlencode({'code': code, 'state': query.get('state', '')})}")

    def _oauth_access(self, basic: str, args: dict[str, Any]) -> dict[str, Any]:
        """Exchange a code (once) for a bot token of its team; the app authenticates with its client id and
        secret (HTTP Basic, as slack_sdk sends them). A code for an org (`E...`, asked for as `team=E...` on
        the authorize page) is an org-wide Enterprise Grid install: no team, the enterprise named."""
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != f"Basic {expected}":
            return {"ok": False, "error": "invalid_client_id"}
        if args.get("grant_type") == "refresh_token":  # token rotation: a new token for the same team
            team = self.refresh_tokens.pop(str(args.get("refresh_token", "")), None)
        else:
            team = self.codes.pop(str(args.get("code", "")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code" if "code" in args else "invalid_refresh_token"}
        token = f"xoxb-{team.lower()}-{next(self._ts)}"
        org_wide = team.startswith("E")  # an Enterprise Grid org installed org-wide (its admin chose so)
        self.tokens[token] = {
            "team_id": team,
            "enterprise_id": team if org_wide else None,
            "is_enterprise_install": org_wide,
        }
        rotation: dict[str, Any] = {}
        if self.expires_in is not None:
            refresh = f"xoxe-1-{team.lower()}-{next(self._ts)}"
            self.refresh_tokens[refresh] = team
            rotation = {"refresh_token": refresh, "expires_in": self.expires_in}
        if args.get("grant_type") == "refresh_token":
            return {"ok": True, "access_token": token, "token_type": "bot", **rotation}
        return {
            "ok": True,
            **rotation,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": BOT_USER,
            "app_id": "A0COPBOT",
            "team": None if org_wide else {"name": f"Team {team}", "id": team},
            "enterprise": {"name": f"Org {team}", "id": team} if org_wide else None,
            "is_enterprise_install": org_wide,
            "authed_user": {"id": "U0INSTALLER"},
        }

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            return {
                **ok,
                "url": "https://community.slack.com/",
                "team": "Community",
                "user": "copbot",
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                **self.installed,
            }
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._ts)}.000100"
            return {
                **ok,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts, "bot_id": BOT_ID},
            }
        if method == "chat.postEphemeral":
            return {**ok, "message_ts": f"{1700000000 + next(self._ts)}.000200"}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", "")).replace(".", "")
            return {
                **ok,
                "channel": args.get("channel"),
                "permalink": f"https://community.slack.com/archives/{args.get('channel')}/p{ts}",
            }
        if method == "conversations.open":
            return {**ok, "channel": {"id": "D" + str(args.get("users", "X")).lstrip("UW")}}
        if method == "users.info":
            uid = str(args.get("user"))
            user = self.users.get(uid) or (
                {
                    "id": uid,
                    "name": uid.lower(),
                    "real_name": f"Member {uid}",
                    "tz": "America/New_York",
                    "profile": {"display_name": f"Member {uid}"},
                }
                if uid.startswith("U0000")
                else None
            )
            return {**ok, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in ("views.open", "views.publish", "views.update"):
            return {**ok, "view": {"id": f"V{next(self._ts)}", **(args.get("view") or {})}}
        if method == "apps.connections.open":
            return {**ok, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "files.getUploadURLExternal":
            n = next(self._ts)
            return {**ok, "upload_url": f"http://127.0.0.1:{self.port}/upload/F{n}", "file_id": f"F{n}"}
        if method == "files.completeUploadExternal":
            files = args.get("files") or []
            return {**ok, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}
        return ok

    async def push(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Send a Socket Mode envelope (events_api, slash_commands, interactive) to the connected app."""
        envelope_id = f"env-{next(self._ts)}"
        await self._outbox.put(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "payload": payload,
                "accepts_response_payload": envelope_type != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0COPBOT"},
            }
        )
        self.socket_connected.set()

        async def sender() -> None:
            while True:
                await ws.send_json(await self._outbox.get())

        task = asyncio.get_running_loop().create_task(sender())
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self._record(self.socket_acks, json.loads(msg.data))
        finally:
            task.cancel()
        return ws

    async def _respond(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        self.answered.setdefault(request.match_info["n"], time.time())
        self._record(self.calls, Call("response_url", body))
        self._record(self.responses, body)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        await request.read()
        self._record(self.calls, Call("upload", {"file": request.match_info["file"]}))
        return web.Response(text="OK - 1")

    async def _unknown(self, request: web.Request) -> web.Response:
        self._record(self.unknown, f"{request.method} {request.path}")
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)


# ---- signed requests --------------------------------------------------------------------------------


def sign(body: str | bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers: HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body if isinstance(body, bytes) else body.encode()
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Request:
    body: str
    content_type: str


def slash_command(
    text: str,
    *,
    user: str = "U0ANA",
    user_name: str = "ana",
    channel: str = "C0GENERAL",
    response_url: str = "",
    trigger_id: str | None = None,
    command: str = "/cop",
    team: str = TEAM,
    enterprise: str | None = None,
    org_wide: bool = False,
) -> Request:
    """A slash command from `user` of `team`; `enterprise` names their Enterprise Grid org, and `org_wide`
    says the app is installed org-wide there (Slack then sends is_enterprise_install=true)."""
    fields = {
        "token": "deprecated-verification-token",
        "team_id": team,
        "team_domain": "community",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "A0COPBOT",
        "is_enterprise_install": "true" if org_wide else "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger(),
    }
    if enterprise:
        fields.update(enterprise_id=enterprise, enterprise_name="State Government")
    return Request(urlencode(fields), "application/x-www-form-urlencoded")


_EVENT_IDS = itertools.count(1)
_TRIGGERS = itertools.count(1)


def _trigger() -> str:
    """A fresh trigger id, as Slack gives every slash command and interaction its own."""
    return f"13345224609.738474920.{next(_TRIGGERS):012x}"


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team: str = TEAM,
    enterprise: str | None = None,
    shared: bool = False,
) -> Request:
    """An Events API envelope; `team` (and `enterprise`) are the installation's the event was sent for;
    `shared`: it happened in a channel shared with another organisation (Slack Connect)."""
    envelope = {
        "token": "deprecated",
        "team_id": team,
        "enterprise_id": enterprise,
        "api_app_id": "A0COPBOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev0{next(_EVENT_IDS):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": enterprise,
                "team_id": team,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": shared,
        "event_context": "4-eyJldCI6ImFwcF9tZW50aW9uIn0",
    }
    return Request(json.dumps(envelope), "application/json")


def app_mention(
    text: str,
    *,
    user: str = "U0ANA",
    channel: str = "C0GENERAL",
    ts: str = "1700000100.000200",
    thread_ts: str | None = None,
    event_id: str | None = None,
    team: str = TEAM,
    user_team: str | None = None,
    user_name: str = "",
) -> Request:
    """A mention of the bot; `user_team` set: by a member of that other organisation, in a channel `team`
    shares with it (Slack Connect), as Slack then says in the event (user_team, user_profile)."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": user_team or team,
        "blocks": [{"type": "rich_text", "block_id": "b1", "elements": []}],
    }
    if user_team:
        event["user_team"] = user_team
        event["source_team"] = user_team
        event["user_profile"] = {"display_name": user_name, "real_name": user_name, "team": user_team}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, event_id=event_id, team=team, shared=user_team is not None)


def link_shared(
    urls: list[str],
    *,
    user: str = "U0ANA",
    channel: str = "C0GENERAL",
    message_ts: str = "1700000300.000100",
    event_id: str | None = None,
    team: str = TEAM,
) -> Request:
    """Links in a posted message to a domain the app unfurls (Slack sends only those, by domain)."""
    event: dict[str, Any] = {
        "type": "link_shared",
        "channel": channel,
        "is_bot_user_member": True,
        "user": user,
        "message_ts": message_ts,
        "unfurl_id": f"C{message_ts.replace('.', '')}.{user}",
        "source": "conversations_history",
        "event_ts": message_ts,
        "links": [{"domain": url.split("/")[2].split(":")[0], "url": url} for url in urls],
    }
    return event_callback(event, event_id=event_id, team=team)


def message(
    text: str,
    *,
    user: str = "U0ANA",
    channel: str = "D0ANA",
    channel_type: str = "im",
    ts: str = "1700000200.000300",
    thread_ts: str | None = None,
    event_id: str | None = None,
    bot_id: str | None = None,
    team: str = TEAM,
) -> Request:
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        "team": team,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if bot_id:
        event["bot_id"] = bot_id
    return event_callback(event, event_id=event_id, team=team)


def home_opened(user: str = "U0ANA", event_id: str | None = None, team: str = TEAM) -> Request:
    return event_callback(
        {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0ANA",
            "tab": "home",
            "event_ts": "1700000300.000100",
        },
        event_id=event_id,
        team=team,
    )


def url_verification(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> Request:
    return Request(
        json.dumps({"token": "deprecated", "challenge": challenge, "type": "url_verification"}),
        "application/json",
    )


def _interactive(payload: dict[str, Any]) -> Request:
    return Request(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def _user(user: str, name: str, team: str = TEAM) -> dict[str, Any]:
    return {"id": user, "username": name, "name": name, "team_id": team}


def block_action(
    value: str,
    *,
    user: str = "U0ANA",
    name: str = "ana",
    channel: str = "C0GENERAL",
    message_ts: str = "1700000001.000100",
    response_url: str = "",
    ephemeral: bool = False,
    trigger_id: str | None = None,
    team: str = TEAM,
    user_team: str | None = None,
) -> Request:
    """A button pressed; `user_team` set: by a member of that other organisation, on a message in a
    channel `team` shares with it (Slack Connect)."""
    container = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    return _interactive(
        {
            "type": "block_actions",
            "user": _user(user, name, user_team or team),
            "api_app_id": "A0COPBOT",
            "token": "deprecated",
            "container": container,
            "trigger_id": trigger_id or _trigger(),
            "team": {"id": team, "domain": "community"},
            "channel": {"id": channel, "name": "general"},
            "message": {"type": "message", "ts": message_ts, "bot_id": BOT_ID, "text": "…", "user": BOT_USER},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": "copbot:1",
                    "block_id": "xYz1",
                    "text": {"type": "plain_text", "text": "Go"},
                    "value": value,
                    "type": "button",
                    "action_ts": "1700000002.000100",
                }
            ],
        }
    )


def home_action(value: str, *, user: str = "U0ANA", name: str = "ana") -> Request:
    return _interactive(
        {
            "type": "block_actions",
            "user": _user(user, name),
            "api_app_id": "A0COPBOT",
            "token": "deprecated",
            "container": {"type": "view", "view_id": "V0HOME"},
            "trigger_id": _trigger(),
            "team": {"id": TEAM, "domain": "community"},
            "view": {"id": "V0HOME", "type": "home", "blocks": []},
            "actions": [
                {
                    "action_id": "copbot:2",
                    "block_id": "h1",
                    "value": value,
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Go"},
                    "action_ts": "1700000002.000200",
                }
            ],
        }
    )


def message_action(
    text: str,
    *,
    user: str = "U0ANA",
    name: str = "ana",
    author: str = "U0ANA",
    channel: str = "C0GENERAL",
    ts: str = "1700000400.000500",
    response_url: str = "",
    callback_id: str = "practice.from-message",
    team: str = TEAM,
) -> Request:
    return _interactive(
        {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": _trigger(),
            "message_ts": ts,
            "response_url": response_url,
            "user": _user(user, name, team),
            "team": {"id": team, "domain": "community"},
            "channel": {"id": channel, "name": "general"},
            "message": {"type": "message", "user": author, "ts": ts, "text": text},
            "token": "deprecated",
        }
    )


def global_shortcut(
    callback_id: str = "practice.share", *, user: str = "U0ANA", name: str = "ana", team: str = TEAM
) -> Request:
    return _interactive(
        {
            "type": "shortcut",
            "callback_id": callback_id,
            "user": _user(user, name, team),
            "trigger_id": _trigger(),
            "team": {"id": team, "domain": "community"},
            "token": "deprecated",
            "action_ts": "1700000500.000100",
        }
    )


def view_submission(
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    *,
    user: str = "U0ANA",
    name: str = "ana",
    team: str = TEAM,
) -> Request:
    """Submit a modal the bot opened (`view` as sent to views.open) with `values` as Slack's view.state."""
    submitted = {
        **view,
        "id": "V0MODAL",
        "team_id": team,
        "state": {"values": values},
        "hash": "156772938.1827394",
    }
    return _interactive(
        {
            "type": "view_submission",
            "team": {"id": team, "domain": "community"},
            "user": _user(user, name, team),
            "view": submitted,
            "api_app_id": "A0COPBOT",
            "token": "deprecated",
            "trigger_id": _trigger(),
            "response_urls": [],
        }
    )


def text_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def select_value(value: str) -> dict[str, Any]:
    return {
        "value": {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
        }
    }
