"""A fake Microsoft Teams / Bot Framework for tests, on 127.0.0.1 at a random port. It plays every party
the Teams adapter talks to:

- the Bot Framework's OpenID metadata and JWKS (`/botframework/v1/.well-known/openidconfiguration`, `/keys`),
  publishing a test RSA key (endorsed for msteams) with which it signs the activities it sends, so the
  adapter's JWT validation stays on;
- the Entra login endpoint (`/login/<tenant>/oauth2/v2.0/token`): client credentials in, bot tokens out;
- the Bot Connector service (`/svc/v3/conversations...`): creating conversations (channel posts, personal
  chats), sending, replying, updating activities and reading a member, each checked for an issued bot token;
- Microsoft Graph's checkMemberGroups (`/graph/v1.0/users/<id>/checkMemberGroups`).

It records every outgoing call, can answer 429 with Retry-After, and refuses a personal chat with a member
the app is not installed for (403), as Teams does. Activity shapes follow the Bot Framework / Teams docs
(message activities with `from.aadObjectId`, `conversation.conversationType`, mention entities,
Action.Submit `value`, `replyToId`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import aiohttp
import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

APP_ID = "00000000-0000-4000-8000-00000000b07a"
APP_PASSWORD = "test-teams-client-secret"
TENANT = "11111111-1111-4111-8111-111111111111"
OTHER_TENANT = "99999999-9999-4999-8999-999999999999"
ISSUER = "https://api.botframework.com"  # the commercial cloud's issuer: the adapter's own setting is checked
KID = "test-key-1"
CHANNEL = "19:forum0channel@thread.tacv2"
NOTICES = "19:notices0channel@thread.tacv2"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # one per test session
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # a forger's
_SEQ = itertools.count(1)


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    seq: int = field(default_factory=lambda: next(_SEQ))


@dataclass
class User:
    object_id: str
    name: str
    teams_id: str
    installed: bool = True  # the app is installed for them (a personal chat can be made)


class FakeTeams:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.refused: list[Call] = []  # answered 429
        self.tokens: dict[str, str] = {}  # issued token -> scope
        self.token_requests: list[str] = []  # how each token was asked for: "secret" or "certificate"
        self.password = APP_PASSWORD
        self.certificate: x509.Certificate | None = None  # registered for certificate credentials
        self.users: dict[str, User] = {}
        self.groups: dict[str, set[str]] = {}  # group id -> member object ids
        self._limits: dict[str, int] = {}
        self.retry_after = 0
        self._ids = itertools.count(1000)
        self._changed = asyncio.Event()
        self.app = web.Application()
        r = self.app.router
        r.add_get("/botframework/v1/.well-known/openidconfiguration", self._metadata)
        r.add_get("/botframework/v1/keys", self._keys)
        r.add_post("/login/{tenant}/oauth2/v2.0/token", self._token)
        r.add_post("/graph/v1.0/users/{user}/checkMemberGroups", self._groups)
        r.add_post("/svc/v3/conversations", self._create)
        r.add_post("/svc/v3/conversations/{conversation}/activities", self._send)
        r.add_post("/svc/v3/conversations/{conversation}/activities/{activity}", self._send)
        r.add_put("/svc/v3/conversations/{conversation}/activities/{activity}", self._update)
        r.add_get("/svc/v3/conversations/{conversation}/members/{member}", self._member)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle and settings -------------------------------------------------------------------------

    async def start(self) -> FakeTeams:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTeams:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.base}/svc/"

    def settings(self) -> dict[str, Any]:
        """The settings that point the adapter at this fake (every endpoint on 127.0.0.1)."""
        return {
            "teams_app_id": APP_ID,
            "teams_app_password": APP_PASSWORD,
            "teams_tenant_id": TENANT,
            "teams_login_url": f"{self.base}/login",
            "teams_openid_metadata_url": f"{self.base}/botframework/v1/.well-known/openidconfiguration",
            "teams_service_url": self.service_url,
            "teams_graph_url": f"{self.base}/graph",
        }

    def add_user(self, object_id: str, name: str, *, installed: bool = True) -> User:
        user = User(object_id, name, f"29:{object_id[:8]}-teams", installed)
        self.users[object_id] = user
        return user

    def limit(self, kind: str, times: int = 1, retry_after: int = 0) -> None:
        """Answer the next `times` calls of `kind` (create, send, reply, update) with 429 and Retry-After."""
        self._limits[kind] = times
        self.retry_after = retry_after

    # ---- what the adapter sent ----------------------------------------------------------------------------

    def sent(self, kind: str | None = None) -> list[Call]:
        return [c for c in self.calls if kind is None or c.method == kind]

    def texts(self, kind: str | None = None) -> list[str]:
        """Each recorded activity as the text a member would read: its text, or its card's summary and card."""
        out = []
        for c in self.sent(kind):
            activity = c.body.get("activity", c.body)
            out.append(
                "\n".join(
                    [str(activity.get("text", "")), str(activity.get("summary", ""))]
                    + [json.dumps(a.get("content", {})) for a in activity.get("attachments") or []]
                )
            )
        return out

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        async def until() -> Any:
            while not (value := predicate()):
                self._changed.clear()
                await self._changed.wait()
            return value

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out; calls: {[(c.method, c.path) for c in self.calls]}") from None

    # ---- activities to the bot ------------------------------------------------------------------------------

    def token(
        self,
        *,
        key: Any = None,
        issuer: str = ISSUER,
        audience: str = APP_ID,
        expires_in: int = 3600,
        service_url: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "nbf": now - 5,
            "exp": now + expires_in,
            "serviceurl": service_url or self.service_url,
        }
        return jwt.encode(claims, key or _KEY, algorithm="RS256", headers={"kid": KID})

    @staticmethod
    def forged_token(**kw: Any) -> dict[str, Any]:
        return {"key": _OTHER_KEY, **kw}

    def activity(
        self,
        user: User,
        text: str = "",
        *,
        conversation_type: str = "channel",
        conversation_id: str | None = None,
        mention_bot: bool = True,
        mentions: tuple[User, ...] = (),
        value: dict[str, Any] | None = None,
        reply_to: str | None = None,
        tenant: str = TENANT,
    ) -> dict[str, Any]:
        """A message activity as Teams sends it. In a channel the text starts with the bot's <at> mention."""
        if conversation_id is None:
            conversation_id = (
                f"a:personal-{user.object_id}"
                if conversation_type == "personal"
                else f"{CHANNEL};messageid=1"
            )
        entities: list[dict[str, Any]] = []
        if mention_bot and conversation_type != "personal" and value is None:
            text = f"<at>copbot</at> {text}"
            entities.append(
                {
                    "type": "mention",
                    "text": "<at>copbot</at>",
                    "mentioned": {"id": f"28:{APP_ID}", "name": "copbot"},
                }
            )
        for other in mentions:
            entities.append(
                {
                    "type": "mention",
                    "text": f"<at>{other.name}</at>",
                    "mentioned": {"id": other.teams_id, "name": other.name},
                }
            )
        activity: dict[str, Any] = {
            "type": "message",
            "id": str(next(self._ids)),
            "timestamp": "2026-12-03T09:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": user.teams_id, "name": user.name, "aadObjectId": user.object_id},
            "conversation": {
                "conversationType": conversation_type,
                "id": conversation_id,
                "tenantId": tenant,
            },
            "recipient": {"id": f"28:{APP_ID}", "name": "copbot"},
            "text": text,
            "textFormat": "plain",
            "locale": "en-US",
            "entities": entities,
            "channelData": {"tenant": {"id": tenant}},
        }
        if conversation_type == "channel":
            activity["channelData"].update({"teamsChannelId": CHANNEL, "channel": {"id": CHANNEL}})
        if value is not None:
            activity["value"] = value
            activity.pop("text")
        if reply_to is not None:
            activity["replyToId"] = reply_to
        return activity

    def installed(self, user: User) -> dict[str, Any]:
        """The conversationUpdate Teams sends when a member adds the app as a personal app."""
        user.installed = True
        activity = self.activity(user, conversation_type="personal")
        activity.pop("text", None)
        activity.update(type="conversationUpdate", membersAdded=[{"id": f"28:{APP_ID}"}], entities=[])
        return activity

    async def deliver(
        self,
        url: str,
        activity: dict[str, Any],
        *,
        token: str | None = "",
        headers: dict[str, str] | None = None,
    ) -> int:
        """POST the activity to the bot's /api/messages, signed (token "" = a good one, None = no header)."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token or self.token()}"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=activity, headers=sent) as response:
                return response.status

    # ---- handlers --------------------------------------------------------------------------------------------

    def _record(self, into: list[Call], call: Call) -> None:
        into.append(call)
        self._changed.set()

    async def _metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{self.base}/botframework/v1/auth",
                "jwks_uri": f"{self.base}/botframework/v1/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(_KEY.public_key()))
        jwk.update({"kid": KID, "use": "sig", "endorsements": ["msteams"]})
        return web.json_response({"keys": [jwk]})

    def _assertion_ok(self, request: web.Request, assertion: str) -> bool:
        """A certificate credential: the client assertion is signed by the registered certificate's key,
        names it by thumbprint, and is for this token endpoint and this app."""
        if self.certificate is None:
            return False
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self.certificate.public_key(),
                algorithms=["PS256", "RS256"],
                audience=str(request.url),
                options={"require": ["exp", "nbf", "jti"]},
            )
        except jwt.InvalidTokenError:
            return False
        thumbprint = (
            base64.urlsafe_b64encode(self.certificate.fingerprint(hashes.SHA256())).rstrip(b"=").decode()
        )
        return header.get("x5t#S256") == thumbprint and claims.get("iss") == claims.get("sub") == APP_ID

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assertion = str(form.get("client_assertion", ""))
        proven = (
            self._assertion_ok(request, assertion)
            if assertion
            else form.get("client_secret") == self.password and bool(self.password)
        )
        if (
            request.match_info["tenant"] != TENANT
            or form.get("grant_type") != "client_credentials"
            or form.get("client_id") != APP_ID
            or not proven
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        self.token_requests.append("certificate" if assertion else "secret")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = str(form.get("scope", ""))
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def _authorised(self, request: web.Request, scope_part: str = "botframework") -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return scope_part in self.tokens.get(token, "")

    def _throttled(self, kind: str, body: dict[str, Any]) -> web.Response | None:
        if self._limits.get(kind, 0) > 0:
            self._limits[kind] -= 1
            self._record(self.refused, Call(kind, "", body))
            return web.json_response(
                {"error": {"code": "TooManyRequests"}},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        return None

    async def _groups(self, request: web.Request) -> web.Response:
        if not self._authorised(request, "graph"):
            return web.json_response({"error": {"code": "InvalidAuthenticationToken"}}, status=401)
        asked = (await request.json()).get("groupIds", [])
        user = request.match_info["user"]
        return web.json_response({"value": [g for g in asked if user in self.groups.get(g, set())]})

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        body = await request.json()
        if (refused := self._throttled("create", body)) is not None:
            return refused
        if body.get("isGroup"):
            channel = body["channelData"]["channel"]["id"]
            message_id = str(next(self._ids))
            self._record(self.calls, Call("post", channel, body))
            return web.json_response(
                {"id": f"{channel};messageid={message_id}", "activityId": message_id}, status=201
            )
        member = str(body["members"][0]["id"])
        user = next((u for u in self.users.values() if member in (u.object_id, u.teams_id)), None)
        if user is None or not user.installed:
            return web.json_response(
                {"error": {"code": "Forbidden", "message": "The bot is not installed for this user"}},
                status=403,
            )
        self._record(self.calls, Call("chat", user.object_id, body))
        return web.json_response({"id": f"a:personal-{user.object_id}"}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        body = await request.json()
        conversation = unquote(request.match_info["conversation"])
        kind = "reply" if "activity" in request.match_info else "send"
        if (refused := self._throttled(kind, body)) is not None:
            return refused
        self._record(self.calls, Call(kind, conversation, body))
        return web.json_response({"id": str(next(self._ids))}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        body = await request.json()
        body["_activity"] = request.match_info["activity"]
        self._record(self.calls, Call("update", unquote(request.match_info["conversation"]), body))
        return web.json_response({"id": request.match_info["activity"]})

    async def _member(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        wanted = unquote(request.match_info["member"])
        user = next((u for u in self.users.values() if wanted in (u.teams_id, u.object_id)), None)
        if user is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
        return web.json_response({"id": user.teams_id, "name": user.name, "aadObjectId": user.object_id})
