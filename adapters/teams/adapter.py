"""The Teams adapter: Bot Framework activities in at POST /api/messages on `copbot serve`'s HTTP server,
the core's replies out through the Bot Connector REST API, in the one event loop.

Built on the documented Bot Framework REST protocol with aiohttp rather than Microsoft's `microsoft-teams-apps`
SDK: that SDK gets the bot's token only through MSAL, which accepts nothing but an https login authority and,
for a host it does not know, asks login.microsoftonline.com where that authority is; it serves its own
FastAPI/uvicorn server; and it fetches signing keys with blocking calls. So it cannot be pointed at a local
test server, nor share this process's aiohttp server. The protocol it wraps is small and documented: a
signed JWT on every activity (adapters/teams/auth.py), a few Bot Connector calls (adapters/teams/messenger.py).

Thin by design, like the Slack and Discord adapters:
- Every request is checked first: no or bad token -> 401 (nothing else happens; the body is never logged),
  unreadable JSON -> 400, more than 1 MiB -> 413, an activity from a tenant other than TEAMS_TENANT_ID ->
  403 with a log line. An activity Teams delivers again is recognised by its id and handled once.
- `@copbot <command>` in a channel or group chat (the mention is stripped), anything in the personal chat;
  replies go into the conversation (in a channel, the thread of the message). Private replies asked for in a
  channel go to the member's personal chat with copbot, with a one-line note in the thread.
- A card button (Action.Submit carrying {"copbot_command": ...}) runs its command as the member who pressed
  it; a form card's submit ({"copbot_form": ...} with the inputs) runs the form's command. A mistake comes
  back on the same card (the card is updated in place, filled in as submitted, the error under the field).
- A channel message that does not mention the bot (Teams delivers those only with the ChannelMessage.Read.Group
  permission the manifest asks for) is offered to the core as a thread message: a reply in the open forum's
  thread is recorded.
- A member is (tenant id, AAD object id); members of TEAMS_COORDINATOR_GROUPS (Entra groups, checked with
  Microsoft Graph's checkMemberGroups and kept for ten minutes) are coordinators; the core checks every command.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web

from adapters.teams.auth import BotTokens, Certificate, TokenError, Unauthorized, Verifier
from adapters.teams.cloud import cloud_of
from adapters.teams.messenger import PLATFORM, Connector, Refused, TeamsMessenger
from adapters.teams.render import (
    COMMAND_KEY,
    FIXED_KEY,
    FORM_KEY,
    clip,
    form_card,
    message,
    plain_text,
    submitted,
)
from bot.errors import StartError
from bot.messages import Incoming, Member, Place, Reply, Visibility, error, render_members
from bot.messenger import DeliveryError, render_times
from bot.permissions import Role
from bot.ports import Core

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
ANSWER_WITHIN = 10.0  # seconds to work on an activity before answering 200 and finishing in the background
GROUPS_TTL = 600.0
INLINE_FILE_MAX = 8 * 1024
TEXT_TYPES = ("text/", "application/json", "application/yaml")
PRIVATE_NOTE = "I sent you the answer in our personal chat."
CANNOT_DM_NOTE = (
    "I could not message you privately: add copbot as a personal app (Apps → copbot → Add, or ask your "
    "Teams administrator to install it for everyone), then ask me in our personal chat."
)


class TeamsAdapter:
    platform = PLATFORM

    def __init__(self, core: Core) -> None:
        settings = core.settings
        if not settings.teams_tenant_id:
            raise StartError(
                "Teams: TEAMS_TENANT_ID is required: the Entra tenant (directory) id the bot serves, "
                "from the app registration's Overview page"
            )
        self.core, self.settings = core, settings
        self.cloud = cloud_of(settings)
        self.app_id, self.tenant = settings.teams_app_id, settings.teams_tenant_id.strip()
        certificate = None
        if settings.teams_app_certificate:
            try:
                certificate = Certificate.from_file(settings.teams_app_certificate)
            except TokenError as exc:
                raise StartError(f"Teams: {exc}") from None
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        self.tokens = BotTokens(
            self.session, self.cloud, self.app_id, settings.teams_app_password, self.tenant, certificate
        )
        self.verifier = Verifier(self.session, self.cloud, self.app_id)
        self.connector = Connector(self.session, self.tokens, self.cloud, self.app_id, self.tenant)
        self.messenger = TeamsMessenger(core, self.connector)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._groups: dict[str, tuple[float, bool]] = {}
        self._command_words = {c.group for c in core.registry} | set(core.registry.groups)

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve the configured tenant, and check the credentials now rather than at the first message."""
        try:
            await self.tokens.get()
        except TokenError as exc:
            await self.session.close()
            raise StartError(f"Teams: {exc}") from None
        await self.core.serve_workspace(PLATFORM, self.tenant)
        log.info("Teams: ready at /api/messages for tenant %s (%s cloud)", self.tenant, self.cloud.name)

    async def stop(self) -> None:
        await self.drain()
        await self.session.close()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for activities still being worked on (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # ---- HTTP -----------------------------------------------------------------------------------------

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /api/messages."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="Request too large.")
        authorization = request.headers.get("Authorization")
        if not authorization:
            log.warning("Teams: refused an activity without a token")
            return web.Response(status=401, text="Unauthorized.")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return web.Response(status=413, text="Request too large.")
        activity = well_formed(raw)
        try:  # the token first: a forged request learns nothing about what else was wrong with it
            await self.verifier.verify(authorization, activity["serviceUrl"] if activity else None)
        except Unauthorized as exc:
            log.warning("Teams: refused an activity: %s", exc)
            return web.Response(status=401, text="Unauthorized.")
        if activity is None:
            return web.Response(
                status=400,
                text="Expected a Bot Framework activity: JSON with type, id, serviceUrl, from and conversation.",
            )
        tenant = tenant_of(activity)
        if tenant != self.tenant:
            log.warning(
                "Teams: refused an activity from tenant %s (this installation serves %s)",
                tenant or "unknown",
                self.tenant,
            )
            return web.Response(status=403, text="This app does not serve this tenant; nothing was done.")
        if activity.get("channelId", "msteams") != "msteams":
            return web.Response(status=200)
        if activity.get("type") == "conversationUpdate" and self._installed_personally(activity):
            await self._welcome(activity)
            return web.Response(status=200)
        if activity.get("type") != "message":
            return web.Response(status=200)  # other conversation updates, typing, reactions: nothing to do
        service_url = str(activity.get("serviceUrl") or "")
        if service_url:
            self.connector.service_url = service_url
        sender = activity.get("from") or {}
        if sender.get("aadObjectId") and sender.get("id"):
            self.messenger.teams_ids[str(sender["aadObjectId"])] = str(sender["id"])
        if not await self.core.claim_event(PLATFORM, event_key(activity)):
            log.info("Teams: ignored an activity delivered again")
            return web.Response(status=200)
        task = asyncio.create_task(self._work(activity))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=ANSWER_WITHIN)  # usually done: the answer follows the replies
        return web.Response(status=200)

    def _installed_personally(self, activity: dict[str, Any]) -> bool:
        """A member added copbot as a personal app (Teams tells the bot it joined a personal chat)."""
        added = activity.get("membersAdded")
        bot_id = str(activity["recipient"].get("id") or "")
        return (
            activity["conversation"].get("conversationType") == "personal"
            and isinstance(added, list)
            and any(isinstance(m, dict) and str(m.get("id")) == bot_id for m in added)
        )

    async def _welcome(self, activity: dict[str, Any]) -> None:
        """Now reminders can reach them: off the coordinators' unreachable list, and a first hello."""
        member = self._member(activity)
        if member is None or not await self.core.claim_event(PLATFORM, event_key(activity)):
            return
        self.messenger.teams_ids[member.user_id] = str(activity["from"].get("id", ""))
        self.messenger.forget_chat(member.user_id)
        await self.core.reachable(PLATFORM, member.user_id)
        hello = Reply(
            "Hi, I'm copbot, the community of practice's bot. Reminders and answers meant only for you come "
            "here. Say help to see what you can do, or home for what is coming up."
        )
        try:
            await self.messenger.send_to(
                activity["conversation"]["id"], message(hello, self.settings.timezone), activity["serviceUrl"]
            )
        except DeliveryError as exc:
            log.warning("Teams: could not say hello: %s", exc)

    async def _work(self, activity: dict[str, Any]) -> None:
        try:
            await self._message(activity)
        except DeliveryError as exc:  # Teams would not take the answer (throttled twice, refused): logged
            log.warning("Teams: could not answer a message: %s", exc)
        except Exception:  # noqa: BLE001 - one failed activity must not take the adapter down
            log.exception("Teams: a message activity failed")
            try:
                await self._reply(
                    activity,
                    message(
                        error(
                            "Something went wrong on our side. Please try again; if it keeps happening, tell an admin."
                        ),
                        self.settings.timezone,
                    ),
                )
            except DeliveryError:
                pass

    # ---- translating in -------------------------------------------------------------------------------

    def _member(self, activity: dict[str, Any]) -> Member | None:
        sender = activity.get("from") or {}
        object_id = str(sender.get("aadObjectId") or "")
        if not object_id:
            return None
        return Member(PLATFORM, object_id, str(sender.get("name") or ""), workspace=self.tenant)

    @staticmethod
    def _place(activity: dict[str, Any]) -> Place:
        conversation = activity.get("conversation") or {}
        channel_id, _, root = str(conversation.get("id", "")).partition(";messageid=")
        return Place(PLATFORM, channel_id, root or None, conversation.get("conversationType") == "personal")

    async def _message(self, activity: dict[str, Any]) -> None:
        member = self._member(activity)
        if member is None:
            return  # another bot, or a sender Teams gives no Entra identity
        place = self._place(activity)
        role = await self._platform_role(member)
        value = activity.get("value")
        if isinstance(value, dict) and (FORM_KEY in value or COMMAND_KEY in value):
            await self._submitted(activity, member, place, role, value)
            return
        said, mentioned_bot = self._said(activity)
        conversation_type = activity["conversation"].get("conversationType")
        link = self.messenger.link(place.channel_id, str(activity.get("id", ""))) if place.thread_id else None
        if conversation_type != "personal" and not mentioned_bot:
            if place.thread_id and said:  # a reply in a thread: the forum's is recorded
                await self.core.heard(member, place, said, link)
            return
        if place.thread_id and conversation_type == "channel" and said and not self._is_command(said):
            if await self.core.heard(member, place, said, link):  # "@copbot we tried…" in the forum thread
                return
        text, mentions = await self._command_text(activity)
        incoming = Incoming(
            member=member, place=place, text=text or "help", mentions=mentions, platform_role=role
        )
        await self._deliver(activity, member, await self.core.dispatch(incoming))

    def _is_command(self, text: str) -> bool:
        return text.split(maxsplit=1)[0].lower() in self._command_words if text.strip() else False

    def _bot_mention(self, activity: dict[str, Any]) -> tuple[str, bool]:
        """The raw text without the bot's own mention, and whether it was there."""
        raw = str(activity.get("text") or "")
        bot_id = str(activity["recipient"].get("id") or f"28:{self.app_id}")
        for entity in mention_entities(activity):
            if str(entity["mentioned"].get("id")) in (bot_id, self.app_id):
                shown = str(entity.get("text") or "")
                return (raw.replace(shown, " ", 1) if shown else raw), True
        return raw, False

    def _said(self, activity: dict[str, Any]) -> tuple[str, bool]:
        """What the member wrote, as a reader sees it (other members' mentions as their names)."""
        raw, mentioned_bot = self._bot_mention(activity)
        return tidy(plain_text(raw)), mentioned_bot

    async def _command_text(self, activity: dict[str, Any]) -> tuple[str, dict[str, Member]]:
        """The message as command text: other members' mentions as their stable ids
        (`teams:<tenant>:<object id>`, which the core reads as that member, via `mentions`)."""
        raw, _ = self._bot_mention(activity)
        bot_id = str(activity["recipient"].get("id") or f"28:{self.app_id}")
        mentions: dict[str, Member] = {}
        conversation_id = str(activity["conversation"].get("id", ""))
        for entity in mention_entities(activity):
            who, shown = entity["mentioned"], str(entity.get("text") or "")
            if str(who.get("id")) in (bot_id, self.app_id) or not shown:
                continue
            object_id = str(who.get("aadObjectId") or "") or await self.messenger.member_object_id(
                conversation_id, str(who.get("id", "")), str(activity.get("serviceUrl") or "")
            )
            if object_id:
                mentioned = Member(PLATFORM, object_id, str(who.get("name") or ""), workspace=self.tenant)
                raw = raw.replace(shown, f" {mentioned.ref} ", 1)
                mentions[mentioned.ref] = mentioned
        return tidy(plain_text(raw)), mentions

    async def _platform_role(self, member: Member) -> Role | None:
        """Coordinator when the member is in one of TEAMS_COORDINATOR_GROUPS (Graph checkMemberGroups),
        member when not (a coordinator role that followed the group is then taken back); None when no group
        is configured or Graph could not answer (the stored role stands)."""
        groups = self.settings.teams_groups
        if not groups:
            return None
        held = self._groups.get(member.user_id)
        if held is None or held[0] < time.monotonic():
            try:
                token = await self.tokens.get(self.cloud.graph_scope)
                async with self.session.post(
                    f"{self.cloud.graph_url}/v1.0/users/{member.user_id}/checkMemberGroups",
                    json={"groupIds": list(groups)},
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    if response.status != 200:
                        raise ValueError(f"Graph answered {response.status}")
                    body = await response.json(content_type=None)
            except (TokenError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("Teams: could not check coordinator groups (%s)", exc)
                return None
            inside = bool(set(body.get("value") or []) & set(groups)) if isinstance(body, dict) else False
            held = (time.monotonic() + GROUPS_TTL, inside)
            self._groups[member.user_id] = held
        return Role.COORDINATOR if held[1] else Role.MEMBER

    async def _submitted(
        self, activity: dict[str, Any], member: Member, place: Place, role: Role | None, value: dict[str, Any]
    ) -> None:
        if COMMAND_KEY in value:
            incoming = Incoming(member=member, place=place, text=str(value[COMMAND_KEY]), platform_role=role)
            await self._deliver(activity, member, await self.core.dispatch(incoming))
            return
        command = self.core.registry.commands.get(str(value.get(FORM_KEY)))
        if command is None:
            await self._deliver(activity, member, [error("That form is out of date. Run the command again.")])
            return
        given = value.get(FIXED_KEY)
        fixed: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        form = command.to_form(fixed=fixed)
        values = submitted(form.fields, value)
        incoming = Incoming(
            member=member, place=place, command=command.path, values={**values, **fixed}, platform_role=role
        )
        replies = await self.core.dispatch(incoming) or [Reply("Done.")]
        card_id = str(activity.get("replyToId") or "")
        conversation_id = str((activity.get("conversation") or {}).get("id", ""))
        service_url = str(activity.get("serviceUrl") or "")
        first = replies[0]
        tz = await self.core.member_zone(member)
        if card_id:
            if first.is_error:  # the mistake on the card itself, filled in as submitted
                text = render_members(render_times(first.text, tz)).replace("**", "")
                card = form_card(form, values=values, error=text, error_field=first.error_field)
                await self.messenger.update(
                    conversation_id, card_id, message(first, tz, card=card), service_url
                )
                await self._deliver(activity, member, replies[1:])
                return
            done = Reply(f"{form.title}: sent.")  # the card cannot be submitted twice
            await self.messenger.update(conversation_id, card_id, message(done, tz), service_url)
        await self._deliver(activity, member, replies)

    # ---- answering ------------------------------------------------------------------------------------

    async def _reply(self, activity: dict[str, Any], rendered: dict[str, Any]) -> None:
        conversation_id = str((activity.get("conversation") or {}).get("id", ""))
        await self.messenger.reply_to(
            conversation_id, str(activity.get("id", "")), rendered, str(activity.get("serviceUrl") or "")
        )

    async def _deliver(self, activity: dict[str, Any], member: Member, replies: list[Reply]) -> None:
        """Replies where the request came from; private ones asked for in a channel or group chat go to the
        member's personal chat (a note says so in the thread)."""
        if not replies:
            return
        personal = (activity.get("conversation") or {}).get("conversationType") == "personal"
        tz = await self.core.member_zone(member)
        noted: set[str] = set()
        for reply in replies:
            reply = with_files(reply)
            rendered = message(reply, tz)
            private = reply.visibility is Visibility.PRIVATE and not reply.is_error
            if personal or not private:
                await self._reply(activity, rendered)
                continue
            try:
                chat = await self.messenger.personal_chat(member.user_id)
                await self.messenger.send_to(chat, rendered, str(activity.get("serviceUrl") or ""))
                note = PRIVATE_NOTE
            except Refused as exc:
                if exc.status not in (403, 404):
                    raise
                note = CANNOT_DM_NOTE
            if note not in noted:  # one note in the thread per request, however many answers
                noted.add(note)
                await self._reply(activity, message(Reply(note), tz))


def with_files(reply: Reply) -> Reply:
    """Teams bots cannot attach files to a message without SharePoint/OneDrive access: a small text file
    (an export, a calendar file) is shown inline in the fallback text; a larger one is named with a hint."""
    if not reply.attachments:
        return reply
    parts: list[str] = [reply.footer] if reply.footer else []
    for a in reply.attachments:
        if a.mime_type.startswith(TEXT_TYPES) and len(a.content) <= INLINE_FILE_MAX:
            body = a.content.decode("utf-8", errors="replace")
            parts.append(f"{a.filename}:\n```\n{clip(body, INLINE_FILE_MAX)}\n```")
        else:
            parts.append(f"{a.filename} is too large to show in Teams; run this command from the console.")
    return replace(reply, attachments=(), footer="\n".join(parts))


def mention_entities(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for e in activity.get("entities") or []
        if isinstance(e, dict) and e.get("type") == "mention" and isinstance(e.get("mentioned"), dict)
    ]


def tidy(text: str) -> str:
    """Runs of spaces made one, line breaks kept (a practice's text may have paragraphs)."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def well_formed(raw: bytes) -> dict[str, Any] | None:
    """The activity, when it has the shape copbot reads (signed activities from Teams always do)."""
    try:
        activity = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(activity, dict) or not isinstance(activity.get("serviceUrl"), str):
        return None
    for part in ("from", "conversation", "recipient", "channelData"):
        if not isinstance(activity.setdefault(part, {}), dict):
            return None
    if not isinstance(activity.get("entities", []), list) or not isinstance(activity.get("id", ""), str):
        return None
    return activity


def tenant_of(activity: dict[str, Any]) -> str:
    conversation = activity.get("conversation") or {}
    channel_data = activity.get("channelData") or {}
    named = channel_data.get("tenant")
    return str(conversation.get("tenantId") or (named.get("id") if isinstance(named, dict) else "") or "")


def event_key(activity: dict[str, Any]) -> str:
    """One activity's id across conversations (Teams message ids are only unique within a conversation)."""
    conversation = str((activity.get("conversation") or {}).get("id", ""))
    digest = hashlib.sha256(f"{conversation}|{activity.get('id', '')}".encode()).hexdigest()[:40]
    return f"activity:{digest}"
