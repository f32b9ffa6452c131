"""copbot's Discord application commands, and reading an interaction back into the core's terms.

Layout (Discord caps one top-level command at 8,000 characters; one `/cop` holding every group would
be about 26,000): one top-level command per registry group (`/practice search`, `/convening rsvp`), the
group-less commands on their own (`/help`, `/home`, `/search`), `/cop command:<text>` that runs any
command exactly as typed in Slack or the console, the admin-only `/copbot-sync`, and a message context
menu entry for each MessageAction a command declares (`practice from-message`). Everything but `/cop` and
`/copbot-sync` is generated from the command registry. (Discord has no global shortcuts: a GlobalAction's
command is reached by its slash command.) Each top-level command stays within COMMAND_CHARS_BUDGET,
well under Discord's cap: long lists of choices are suggested as typed rather than listed in the command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import discord

from adapters.discord.render import clip
from bot.commands import Command, CommandRegistry, MessageAction, Param
from bot.messages import Member, Place
from bot.permissions import Role
from bot.words import quote

OPTIONS_MAX = 25  # options per command / subcommands per group / groups per command
CHOICES_MAX = 25  # also suggestions in one autocomplete answer
CHOICE_VALUE_MAX = 100  # characters of a choice's (or a suggestion's) name and string value
NAME_MAX = 32  # also a context menu entry's name (which may have capitals and spaces)
DESCRIPTION_MAX = 100
STRING_OPTION_MAX_LENGTH = 6000
COMMAND_CHARS_MAX = 8000  # names + descriptions + choice names/values of one top-level command
# What copbot allows itself, so that a new option or a longer description never comes near Discord's cap
# (a test holds every top-level command to it; registration fails only beyond COMMAND_CHARS_MAX).
COMMAND_CHARS_BUDGET = 6000
# A single choice among at most this many is a fixed menu in the option; a longer list, or a list the
# member may pick several of (comma-separated), is suggested as they type instead (autocomplete), which
# also keeps the long lists out of the command's size.
MENU_CHOICES_MAX = 8
TOP_COMMAND = "cop"
# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER = 1, 2, 3, 4, 5, 6
SYNC_COMMAND = "copbot-sync"
TEXT_OPTION = "command"
CHAT_INPUT, MESSAGE_MENU = 1, 3
ADMINISTRATOR = 1 << 3
_MENTION = re.compile(r"<@!?(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")


class DiscordLimitError(ValueError):
    """The registry cannot be expressed as Discord commands without splitting something."""


# --- application commands ------------------------------------------------------------------------------


def autocomplete_kind(param: Param) -> str | None:
    """What to suggest while a member types this parameter (the kind its declaration names), or None."""
    return param.opt.suggest if not param.choices else None


def menu_choices(param: Param) -> bool:
    """Whether the option offers its declared choices as a fixed menu (one of a few)."""
    return bool(param.choices) and not param.multiple and len(param.choices) <= MENU_CHOICES_MAX


def autocompleted(param: Param) -> bool:
    """Whether Discord asks copbot what to suggest while the member types this option."""
    if param.choices:
        return not menu_choices(param)
    return autocomplete_kind(param) is not None


def _option_type(param: Param) -> int:
    if param.is_bool:
        return BOOLEAN
    if param.base is int and param.opt.converter is None:
        return INTEGER  # a number with a converter is an id such as P12: the member types it as shown
    if param.base is Member:
        return USER
    return STRING


def _name(text: str) -> str:
    name = text.lower().replace(" ", "-")
    if len(name) > NAME_MAX:
        raise DiscordLimitError(f"Discord names are at most {NAME_MAX} characters; shorten {name!r}.")
    return name


def _description(text: str, fallback: str) -> str:
    return clip(text.strip() or fallback, DESCRIPTION_MAX)


def slash_options(command: Command) -> list[dict[str, Any]]:
    """Option payloads for a command's parameters, required ones first as Discord requires.

    Lists (``multiple`` parameters) are a STRING the member separates with commas. A choice among a few
    is a menu; a longer list of choices, or several of them, is suggested as the member types. An id
    with a converter (``P12``, ``T3``) is a STRING, so it is typed as members see it everywhere else.
    """
    if len(command.params) > OPTIONS_MAX:
        raise DiscordLimitError(
            f"{command.path!r} has {len(command.params)} parameters; Discord allows "
            f"{OPTIONS_MAX}. Split it into two commands or move some into its form."
        )
    options: list[dict[str, Any]] = []
    for p in sorted(command.params, key=lambda p: not p.required):
        kind = _option_type(p)
        description = p.opt.help or p.label
        if p.multiple:
            description += " (comma-separated)"
        option: dict[str, Any] = {
            "type": kind,
            "name": _name(p.name),
            "description": _description(description, p.label),
            "required": p.required,
        }
        if menu_choices(p):
            option["choices"] = [{"name": clip(c, 100), "value": c} for c in p.choices]
        elif autocompleted(p):
            option["autocomplete"] = True
        if kind == INTEGER:
            if p.opt.min is not None:
                option["min_value"] = p.opt.min
            if p.opt.max is not None:
                option["max_value"] = p.opt.max
        if kind == STRING and not p.choices and not p.multiple and p.opt.converter is None and p.base is str:
            option["max_length"] = min(p.max_length, STRING_OPTION_MAX_LENGTH)
        options.append(option)
    return options


def _subcommand(name: str, command: Command) -> dict[str, Any]:
    return {
        "type": SUB_COMMAND,
        "name": _name(name),
        "description": _description(command.summary, command.path),
        "options": slash_options(command),
    }


def _chars(node: Any) -> int:
    """Characters Discord counts against the 8,000 limit: the name, description and value of the command,
    of its options (subcommands and groups included) and of their choices (names and values), all the way
    down (Discord's docs, application commands, "Limits"; copbot sets no localizations, of which only
    the longest would count)."""
    if isinstance(node, list):
        return sum(_chars(n) for n in node)
    if not isinstance(node, dict):
        return 0
    total = sum(len(str(node[k])) for k in ("name", "description", "value") if k in node)
    return total + _chars(node.get("options", [])) + _chars(node.get("choices", []))


def _check_size(payload: dict[str, Any], options: list[dict[str, Any]]) -> None:
    size = _chars(payload)
    if size > COMMAND_CHARS_MAX:
        biggest = sorted(((_chars(o), o["name"]) for o in options), reverse=True)[:3]
        raise DiscordLimitError(
            f"/{payload['name']} has {size} characters of names, descriptions and choices; Discord allows "
            f"{COMMAND_CHARS_MAX} per top-level command. Split the largest parts into their own top-level "
            "commands (command_tree_payload(..., per_group=True)): "
            + ", ".join(f"{n} ({c})" for c, n in biggest)
            + "."
        )


def command_tree_payload(registry: CommandRegistry, *, per_group: bool = False) -> list[dict[str, Any]]:
    """Discord application-command payloads for the registry.

    Default: ONE chat-input command ``/cop`` with a SUB_COMMAND_GROUP per group and SUB_COMMANDs inside,
    and group-less commands as top-level SUB_COMMANDs. A three-word path (``me interests add``) becomes
    the subcommand ``interests-add`` of group ``me``. `per_group=True`: ``/cop`` keeps the group-less
    commands and each group becomes its own top-level command (``/practice search``), for registries
    too big for one command. Raises DiscordLimitError naming what to split.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    top: list[dict[str, Any]] = []
    for cmd in registry:
        words = cmd.path.split(" ")
        if len(words) == 1:
            top.append(_subcommand(words[0], cmd))
        else:
            groups.setdefault(words[0], []).append(_subcommand("-".join(words[1:]), cmd))
    clash = {s["name"] for s in top} & set(groups)
    if clash:
        raise DiscordLimitError(f"{sorted(clash)} are both a command and a group; rename one.")
    group_nodes = []
    for name, subs in groups.items():
        if len(subs) > OPTIONS_MAX:
            raise DiscordLimitError(
                f"group {name!r} has {len(subs)} commands; Discord allows {OPTIONS_MAX} "
                "per group. Split it into two groups."
            )
        group_nodes.append(
            {
                "type": SUB_COMMAND_GROUP,
                "name": _name(name),
                "description": _description(registry.groups.get(name, ""), f"{name} commands"),
                "options": subs,
            }
        )
    if per_group:
        payloads = [
            {"type": 1, "name": TOP_COMMAND, "description": "Community of practice commands", "options": top}
        ]
        payloads += [
            {"type": 1, "name": g["name"], "description": g["description"], "options": g["options"]}
            for g in group_nodes
        ]
        if len({p["name"] for p in payloads}) != len(payloads):
            raise DiscordLimitError(f"a group is named {TOP_COMMAND!r}; rename it.")
        if len(payloads) > 100:
            raise DiscordLimitError("Discord allows 100 top-level commands; merge some groups.")
    else:
        options = top + group_nodes
        if len(options) > OPTIONS_MAX:
            raise DiscordLimitError(
                f"/{TOP_COMMAND} would have {len(options)} groups and commands; Discord "
                f"allows {OPTIONS_MAX}. Use per_group=True or merge groups."
            )
        payloads = [
            {
                "type": 1,
                "name": TOP_COMMAND,
                "description": "Community of practice commands",
                "options": options,
            }
        ]
    for payload in payloads:
        _check_size(payload, payload["options"])
    return payloads


def application_commands(registry: CommandRegistry) -> list[dict[str, Any]]:
    """Every command payload copbot puts in a guild (one bulk overwrite)."""
    payloads: list[dict[str, Any]] = []
    for top in command_tree_payload(registry, per_group=True):
        if top["name"] != TOP_COMMAND:
            payloads.append(top)
            continue
        for sub in top["options"]:  # /help, /home, /search: their options directly
            payloads.append(
                {
                    "type": CHAT_INPUT,
                    "name": sub["name"],
                    "description": sub["description"],
                    "options": sub["options"],
                }
            )
    payloads.append(
        {
            "type": CHAT_INPUT,
            "name": TOP_COMMAND,
            "description": "Run any copbot command, typed as in Slack or the console",
            "options": [
                {
                    "type": STRING,
                    "name": TEXT_OPTION,
                    "required": True,
                    "autocomplete": True,
                    "max_length": 4000,
                    "description": 'The command and its options, e.g. practice search "town halls" --level local',
                }
            ],
        }
    )
    payloads.append(
        {
            "type": CHAT_INPUT,
            "name": SYNC_COMMAND,
            "options": [],
            "description": "Admins: register copbot's slash commands in this server again",
            "default_member_permissions": str(ADMINISTRATOR),
        }
    )
    payloads += message_menu(registry)
    names = [p["name"] for p in payloads if p["type"] == CHAT_INPUT]
    if len(names) != len(set(names)):
        raise DiscordLimitError(
            f"two Discord commands share a name: {sorted(n for n in names if names.count(n) > 1)}"
        )
    return payloads


def message_menu(registry: CommandRegistry) -> list[dict[str, Any]]:
    """A message context menu entry per MessageAction a command declares, named by its label."""
    payloads = []
    for entry in registry.entries(MessageAction):
        if len(entry.label) > NAME_MAX:
            raise DiscordLimitError(
                f"Discord menu entries are at most {NAME_MAX} characters; shorten "
                f"{entry.label!r} (declared on {entry.command!r})."
            )
        payloads.append({"type": MESSAGE_MENU, "name": entry.label})
    return payloads


def message_actions(registry: CommandRegistry) -> dict[str, MessageAction]:
    """A message menu entry's name, as an interaction names it -> its declaration."""
    return {e.label: e for e in registry.entries(MessageAction) if isinstance(e, MessageAction)}


def command_paths(registry: CommandRegistry) -> dict[tuple[str, ...], str]:
    """(top-level name[, subcommand name]) as an interaction names it -> the registry's command path."""
    paths: dict[tuple[str, ...], str] = {}
    for cmd in registry:
        words = cmd.path.split(" ")
        key = (words[0],) if len(words) == 1 else (words[0], "-".join(words[1:]))
        paths[key] = cmd.path
    return paths


# --- reading an interaction -----------------------------------------------------------------------------


def leaf_options(data: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The subcommand names under the top-level command, and the value options at the bottom."""
    names = [str(data.get("name", ""))]
    options = list(data.get("options") or [])
    while options and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
        names.append(str(options[0]["name"]))
        options = list(options[0].get("options") or [])
    return names, options


def _resolved_member(data: dict[str, Any], user_id: str) -> Member:
    resolved = data.get("resolved") or {}
    user = (resolved.get("users") or {}).get(user_id) or {}
    member = (resolved.get("members") or {}).get(user_id) or {}
    name = member.get("nick") or user.get("global_name") or user.get("username") or ""
    return Member("discord", user_id, str(name))


def option_values(
    data: dict[str, Any], options: Iterable[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Member]]:
    """Option name -> value (a user as a mention token), and the members those tokens name."""
    values: dict[str, Any] = {}
    mentions: dict[str, Member] = {}
    for opt in options:
        value = opt.get("value")
        if opt.get("type") == USER and value is not None:
            token = f"<@{value}>"
            mentions[token] = _resolved_member(data, str(value))
            value = token
        elif isinstance(value, str):
            value = plain_channels(value)
        values[str(opt["name"])] = value
    return values, mentions


def plain_channels(text: str) -> str:
    """A channel picked with # arrives as `<#id>`; the core names channels by id."""
    return _CHANNEL.sub(lambda m: m.group(1), text)


def command_line(path: str, values: dict[str, Any], types: dict[str, int] | None = None) -> str:
    """The text command equivalent to typed options (kept as the request's text, e.g. for next-page buttons)."""
    parts = [path]
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool) or (types or {}).get(name) == BOOLEAN:
            parts.append(f"{flag}={'yes' if value else 'no'}")
        elif value is not None and value != "":
            parts += [flag, quote(str(value))]
    return " ".join(parts)


def text_mentions(text: str, client: discord.Client | None) -> dict[str, Member]:
    """Members named by `<@id>` tokens typed into `/cop command:` (names from the cache when known)."""
    found: dict[str, Member] = {}
    for match in _MENTION.finditer(text):
        user = client.get_user(int(match.group(1))) if client is not None else None
        found[match.group(0)] = Member("discord", match.group(1), user.display_name if user else "")
    return found


def member_of(user: discord.abc.User) -> Member:
    return Member("discord", str(user.id), user.display_name)


def place_of(channel: Any, channel_id: int | None, guild_id: int | None) -> Place:
    """Where an interaction or message happened: a thread is (its parent, itself); no guild is a DM."""
    if isinstance(channel, discord.Thread):
        return Place("discord", str(channel.parent_id), str(channel.id), False)
    return Place("discord", str(channel_id or getattr(channel, "id", "")), None, guild_id is None)


def platform_role(
    user: discord.abc.User, permissions: discord.Permissions | None, coordinator_role: str
) -> Role | None:
    """Guild administrators -> admin; holders of DISCORD_COORDINATOR_ROLE (a name or an id) -> coordinator;
    other server members -> member (which ends a role that only followed their Discord role). Outside a
    server (a DM) Discord says nothing: None."""
    if not isinstance(user, discord.Member):
        return None
    if (permissions is not None and permissions.administrator) or user.guild_permissions.administrator:
        return Role.ADMIN
    wanted = coordinator_role.strip()
    if wanted:
        for role in user.roles:
            if (wanted.isdigit() and role.id == int(wanted)) or role.name.casefold() == wanted.casefold():
                return Role.COORDINATOR
    return Role.MEMBER
