"""Discord API v10 JSON shapes for tests/fake_discord.py: users, members, roles, channels, threads,
messages, scheduled events, the guild, and the interaction payloads a test sends through the gateway.

Every builder returns plain JSON-ready dicts in the shape Discord sends (ids as strings, ISO-8601
timestamps), written from Discord's documentation and discord.py 2.7's `discord/types/*.py`.

Option helpers for slash commands and autocomplete:

    move = subcommand_group("event", subcommand("move", option("when", "friday 3pm"), option("notify", True)))
    payload = fake.slash_command("cop", [move], user=fake.admin)
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
_increment = itertools.count(1)

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = 8866461766385663  # discord.Permissions.all().value in discord.py 2.7
# react, view, send, embed, attach, history, external emoji, connect, speak, nickname, app commands, threads
EVERYONE_PERMISSIONS = (
    (1 << 6)
    | (1 << 10)
    | (1 << 11)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 20)
    | (1 << 21)
    | (1 << 26)
    | (1 << 31)
    | (1 << 35)
    | (1 << 38)
)
# + manage messages, manage events, manage threads
COORDINATOR_PERMISSIONS = EVERYONE_PERMISSIONS | (1 << 13) | (1 << 33) | (1 << 34)
BOT_PERMISSIONS = COORDINATOR_PERMISSIONS | (1 << 4) | (1 << 28)  # manage channels, manage roles

EPHEMERAL = 1 << 6
LOADING = 1 << 7
HAS_THREAD = 1 << 5

OPTION_TYPES = {str: 3, int: 4, bool: 5, float: 10}


def snowflake() -> int:
    """A real-looking snowflake: creation time in the top bits, so `discord.Object.created_at` works."""
    now_ms = int(time.time() * 1000)
    return ((now_ms - DISCORD_EPOCH_MS) << 22) | (next(_increment) % (1 << 22))


def iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat()


def interaction_token() -> str:
    return "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)


# --- the cast --------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    roles: list[int] = field(default_factory=list)  # guild role ids besides @everyone
    accepts_dms: bool = True
    permissions: int = EVERYONE_PERMISSIONS  # guild-wide; sent as an interaction's member.permissions

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def user_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    def member_json(
        self, *, joined_at: str, with_user: bool = True, with_permissions: bool = False
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = self.user_json()
        if with_permissions:
            data["permissions"] = str(self.permissions)
        return data


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int  # 0 text, 2 voice, 4 category, 15 forum
    tags: dict[str, int] = field(default_factory=dict)  # forum tag name -> id

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


def role_json(
    role_id: int, name: str, permissions: int, position: int, *, bot_id: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": bot_id is not None,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        data["tags"] = {"bot_id": str(bot_id)}
    return data


def guild_channel_json(
    channel: FakeChannel, guild_id: int, position: int, parent_id: int | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(guild_id),
        "name": channel.name,
        "position": position,
        "permission_overwrites": [],
        "flags": 0,
        "parent_id": str(parent_id) if parent_id and channel.type != 4 else None,
    }
    if channel.type == 4:
        return data
    data.update({"nsfw": False, "rate_limit_per_user": 0, "last_message_id": None})
    if channel.type == 0:
        data.update(
            {"topic": None, "default_auto_archive_duration": 1440, "default_thread_rate_limit_per_user": 0}
        )
    elif channel.type == 2:
        data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None, "video_quality_mode": 1})
    elif channel.type == 15:
        data.update(
            {
                "topic": "Questions and open discussion",
                "default_auto_archive_duration": 4320,
                "default_thread_rate_limit_per_user": 0,
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 1,
                "template": "",
                "available_tags": [
                    {"id": str(tag_id), "name": tag, "moderated": False, "emoji_id": None, "emoji_name": None}
                    for tag, tag_id in channel.tags.items()
                ],
            }
        )
    return data


def thread_json(
    *,
    thread_id: int,
    guild_id: int,
    parent_id: int,
    owner_id: int,
    name: str,
    forum: bool,
    auto_archive_duration: int = 4320,
    applied_tags: list[str] | None = None,
    thread_type: int = 11,
) -> dict[str, Any]:
    now = iso()
    data: dict[str, Any] = {
        "id": str(thread_id),
        "type": thread_type,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": str(thread_id) if forum else None,
        "message_count": 0,
        "member_count": 1,
        "rate_limit_per_user": 0,
        "flags": 0,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now,
            "locked": False,
            "create_timestamp": now,
        },
        "member": {"id": str(thread_id), "user_id": str(owner_id), "join_timestamp": now, "flags": 1},
    }
    if thread_type == 12:
        data["thread_metadata"]["invitable"] = True
    if forum:
        data["applied_tags"] = [str(t) for t in (applied_tags or [])]
    return data


def dm_channel_json(channel_id: int, recipient: FakeUser) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [recipient.user_json()],
    }


_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def message_json(
    *,
    message_id: int,
    channel_id: int,
    author: FakeUser,
    body: dict[str, Any],
    users: dict[int, FakeUser],
    attachments: list[dict[str, Any]] | None = None,
    referenced: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message object as REST returns it (no guild_id/member; the gateway adds those)."""
    content = body.get("content") or ""
    mentioned = [int(m) for m in _MENTION.findall(content) if int(m) in users]
    reference = body.get("message_reference")
    data: dict[str, Any] = {
        "id": str(message_id),
        "type": 19 if reference else 0,
        "content": content,
        "channel_id": str(channel_id),
        "author": author.user_json(),
        "attachments": attachments or [],
        "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
        "mentions": [users[m].user_json() for m in dict.fromkeys(mentioned)],
        "mention_roles": _ROLE_MENTION.findall(content),
        "mention_everyone": "@everyone" in content,
        "pinned": False,
        "tts": bool(body.get("tts")),
        "timestamp": iso(),
        "edited_timestamp": None,
        "flags": int(body.get("flags") or 0),
        "components": body.get("components") or [],
    }
    if body.get("nonce") is not None:
        data["nonce"] = body["nonce"]
    if reference:
        data["message_reference"] = {"type": 0, "channel_id": str(channel_id), **reference}
        data["referenced_message"] = referenced
    if extra:
        data.update(extra)
    return data


def scheduled_event_json(
    event_id: int, guild_id: int, creator: FakeUser, body: dict[str, Any]
) -> dict[str, Any]:
    entity_type = int(body["entity_type"])
    return {
        "id": str(event_id),
        "guild_id": str(guild_id),
        "name": body["name"],
        "description": body.get("description"),
        "scheduled_start_time": body["scheduled_start_time"],
        "scheduled_end_time": body.get("scheduled_end_time"),
        "privacy_level": int(body.get("privacy_level", 2)),
        "status": 1,
        "entity_type": entity_type,
        "entity_id": None,
        "channel_id": str(body["channel_id"]) if entity_type != 3 and body.get("channel_id") else None,
        "entity_metadata": body.get("entity_metadata") if entity_type == 3 else None,
        "creator_id": str(creator.id),
        "creator": creator.user_json(),
        "user_count": 0,
        "image": body.get("image"),
        "recurrence_rule": None,
    }


def invalid_form_body(errors: dict[str, str]) -> dict[str, Any]:
    """Discord's 400 body (code 50035) for fields that failed validation."""
    return {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            name: {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": text}]}
            for name, text in errors.items()
        },
    }


# --- interaction option helpers -----------------------------------------------------------------


def option(name: str, value: Any, type: int | None = None, *, focused: bool = False) -> dict[str, Any]:
    """A leaf option. The type is inferred from the Python value (str 3, int 4, bool 5, float 10); for
    the others pass type=6 (user), 7 (channel), 8 (role), 9 (mentionable) or 11 (attachment) and an id."""
    if type is None:
        type = OPTION_TYPES[builtin_type(value)]
    data: dict[str, Any] = {
        "name": name,
        "type": type,
        "value": str(value) if type in (6, 7, 8, 9, 11) else value,
    }
    if focused:
        data["focused"] = True
    return data


def _as_registered(where: str, sent: list[dict[str, Any]], registered: list[dict[str, Any]]) -> None:
    """Discord's client sends only options the registered command has, each of its registered type (a
    member cannot type "P12" into a number option): a test that sends anything else is refused here."""
    for opt in sent:
        known = next((r for r in registered if r["name"] == opt["name"]), None)
        if known is None:
            raise ValueError(f"/{where} has no option {opt['name']!r} registered")
        if int(known["type"]) != int(opt["type"]):
            raise ValueError(
                f"/{where} {opt['name']}: registered as type {known['type']}, a client cannot send type "
                f"{opt['type']} ({opt.get('value')!r})"
            )
        if not opt.get("focused") and known.get("choices"):
            if opt["value"] not in [c["value"] for c in known["choices"]]:
                raise ValueError(f"/{where} {opt['name']}: {opt['value']!r} is not one of its choices")
        if opt["type"] in (1, 2):
            _as_registered(f"{where} {opt['name']}", opt.get("options") or [], known.get("options") or [])


def builtin_type(value: Any) -> type:
    return bool if isinstance(value, bool) else type(value)


def subcommand(name: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": 1, "options": list(options)}


def subcommand_group(name: str, *subcommands: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": 2, "options": list(subcommands)}


def text_inputs(values: dict[str, str]) -> list[dict[str, Any]]:
    """Modal-submit components: one action row per text input, as Discord sends them back."""
    return [
        {"type": 1, "components": [{"type": 4, "custom_id": custom_id, "value": value}]}
        for custom_id, value in values.items()
    ]


def leaf_options(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten subcommand groups/subcommands down to the value options."""
    found: list[dict[str, Any]] = []
    for opt in options:
        if opt.get("type") in (1, 2):
            found.extend(leaf_options(opt.get("options", [])))
        else:
            found.append(opt)
    return found


# --- interaction payloads ------------------------------------------------------------------------


class InteractionBuilders:
    """Mixin for FakeDiscord: build (not send) interaction payloads as Discord sends them in
    INTERACTION_CREATE. `user` defaults to the plain member, `channel` to the general text channel; a DM
    channel (fake.dm_channel_for(user)) gives a DM interaction with `user` instead of `member`."""

    application_id: int
    guild_id: int
    joined_at: str
    member: FakeUser
    text_channel: FakeChannel
    users: dict[int, FakeUser]
    channels: dict[int, dict[str, Any]]
    roles: list[dict[str, Any]]
    global_commands: list[dict[str, Any]]
    guild_commands: dict[int, list[dict[str, Any]]]
    messages: dict[int, dict[str, Any]]

    def slash_command(
        self,
        name: str,
        options: list[dict[str, Any]] = (),
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
        guild_command: bool | None = None,
    ) -> dict[str, Any]:
        return self._interaction(2, self._command_data(name, 1, list(options), guild_command), user, channel)

    def autocomplete(
        self,
        name: str,
        options: list[dict[str, Any]],
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
    ) -> dict[str, Any]:
        """options must include one leaf option(..., focused=True) holding the partial input."""
        return self._interaction(4, self._command_data(name, 1, list(options), None), user, channel)

    def message_context_menu(
        self,
        name: str,
        target_message: dict[str, Any],
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
    ) -> dict[str, Any]:
        data = self._command_data(name, 3, [], None)
        data.update(
            target_id=target_message["id"], resolved={"messages": {target_message["id"]: target_message}}
        )
        return self._interaction(2, data, user, channel or int(target_message["channel_id"]))

    def user_context_menu(
        self,
        name: str,
        target: FakeUser,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
    ) -> dict[str, Any]:
        data = self._command_data(name, 2, [], None)
        data.update(target_id=str(target.id), resolved=self._resolved([option("user", target.id, 6)]))
        return self._interaction(2, data, user, channel)

    def component(
        self,
        custom_id: str,
        *,
        message: dict[str, Any] | int,
        user: FakeUser | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> dict[str, Any]:
        """A button press (component_type 2) or select (3, values=[...]) on a message the bot sent."""
        message = self.messages[int(message)] if isinstance(message, int) else message
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values or [])
        payload = self._interaction(3, data, user, int(message["channel_id"]))
        payload["message"] = message
        return payload

    def modal_submit(
        self,
        custom_id: str,
        values: dict[str, str] | None = None,
        *,
        components: list[dict[str, Any]] | None = None,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Submit a modal: values={text_input_custom_id: text} or raw Discord `components`."""
        if components is None:
            components = text_inputs(values or {})
        data = {"custom_id": custom_id, "components": components}
        payload = self._interaction(5, data, user, channel)
        if message is not None:
            payload["message"] = message
        return payload

    def _command_data(
        self, name: str, kind: int, options: list[dict[str, Any]], guild_command: bool | None
    ) -> dict[str, Any]:
        registered = next((c for c in self.guild_commands.get(self.guild_id, []) if c["name"] == name), None)
        global_ = next((c for c in self.global_commands if c["name"] == name), None)
        if guild_command is None:  # a guild command unless only a global one by that name was synced
            guild_command = registered is not None or global_ is None
        command = registered if guild_command else global_
        command_id = command["id"] if command else str(snowflake())
        if command is not None and kind == 1:
            _as_registered(name, options, command.get("options") or [])
        data: dict[str, Any] = {"id": command_id, "name": name, "type": kind}
        if options:
            data["options"] = options
            resolved = self._resolved(leaf_options(options))
            if resolved:
                data["resolved"] = resolved
        if guild_command:
            data["guild_id"] = str(self.guild_id)
        return data

    def _resolved(self, options: list[dict[str, Any]]) -> dict[str, Any]:
        resolved: dict[str, dict[str, Any]] = {}
        for opt in options:
            key = opt["value"] if opt["type"] in (6, 7, 8, 9) else None
            if key is None:
                continue
            if opt["type"] in (6, 9) and int(key) in self.users:
                user = self.users[int(key)]
                resolved.setdefault("users", {})[key] = user.user_json()
                resolved.setdefault("members", {})[key] = user.member_json(
                    joined_at=self.joined_at, with_user=False, with_permissions=True
                )
            elif opt["type"] == 7 and int(key) in self.channels:
                ch = self.channels[int(key)]
                resolved.setdefault("channels", {})[key] = {**ch, "permissions": str(ALL_PERMISSIONS)}
            elif opt["type"] in (8, 9):
                role = next((r for r in self.roles if r["id"] == key), None)
                if role:
                    resolved.setdefault("roles", {})[key] = role
        return resolved

    def _interaction(
        self, kind: int, data: dict[str, Any], user: FakeUser | None, channel: FakeChannel | int | None
    ) -> dict[str, Any]:
        user = user or self.member
        channel_id = channel.id if isinstance(channel, FakeChannel) else int(channel or self.text_channel.id)
        channel_json = self.channels[channel_id]
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": interaction_token(),
            "version": 1,
            "locale": "en-US",
            "app_permissions": str(BOT_PERMISSIONS),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": str(channel_id),
            "channel": {**channel_json, "permissions": str(user.permissions)},
        }
        if channel_json["type"] in (1, 3):  # in the bot's DMs: `user`, no guild
            payload.update(user=user.user_json(), context=1, authorizing_integration_owners={"0": "0"})
        else:
            payload.update(
                guild_id=str(self.guild_id),
                guild={"id": str(self.guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                context=0,
                authorizing_integration_owners={"0": str(self.guild_id)},
                member=user.member_json(joined_at=self.joined_at, with_permissions=True),
            )
        return payload
