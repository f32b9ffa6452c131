"""Render the core's neutral replies, forms and commands as discord.py objects and Discord payloads.

Pure: it builds real discord.py objects (embeds, views, modals) and plain application-command payloads,
and never touches the network or a client. The Discord adapter sends what this module builds.

Button ids: a Choice becomes a button whose custom_id is ``"cop:" + command`` so that a press after a
restart (the view is persistent, ``timeout=None``) maps straight back to the command text through
`command_for_custom_id`. Discord caps custom_id at 100 characters; a longer command gets
``"cop#" + sha1 prefix``, which this module cannot resolve: the adapter must remember those commands in
the store (id -> command) when it sends the message and look them up on a press.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import discord

from bot.commands import Command, CommandRegistry, Param
from bot.messages import Choice, FieldKind, Form, FormField, Item, Reply, Visibility

# Discord's limits (https://discord.com/developers/docs/resources/message, .../interactions).
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
BUTTONS_MAX = 25
BUTTON_LABEL_MAX = 80
CUSTOM_ID_MAX = 100
MODAL_CHILDREN_MAX = 5
MODAL_TITLE_MAX = 45
LABEL_TEXT_MAX = 45
LABEL_DESCRIPTION_MAX = 100
TEXT_INPUT_MAX = 4000
PLACEHOLDER_MAX = 100
SELECT_OPTIONS_MAX = 25
OPTIONS_MAX = 25  # options per command / subcommands per group / groups per command
CHOICES_MAX = 25
NAME_MAX = 32
DESCRIPTION_MAX = 100
STRING_OPTION_MAX_LENGTH = 6000
COMMAND_CHARS_MAX = 8000  # names + descriptions + choice names/values of one top-level command

TOP_COMMAND = "cop"
ID_PREFIX = "cop:"
HASHED_ID_PREFIX = "cop#"

# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER = 1, 2, 3, 4, 5, 6

_TIME = re.compile(r"⟨time:(-?\d+)⟩")
_STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}


class DiscordLimitError(ValueError):
    """The registry cannot be expressed as one Discord command tree without splitting something."""


@dataclass(frozen=True)
class RenderedMessage:
    content: str
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None
    ephemeral: bool = False


# --- text helpers --------------------------------------------------------------------------------------


def discord_times(text: str) -> str:
    """``⟨time:UNIX⟩`` -> ``<t:UNIX:F>``: Discord shows it in each reader's own zone."""
    return _TIME.sub(lambda m: f"<t:{m.group(1)}:F>", text)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(text: str, limit: int, empty: str = "") -> str:
    return clip(discord_times(text), limit) or empty


# --- replies -------------------------------------------------------------------------------------------


def custom_id_for(command: str) -> str:
    cid = ID_PREFIX + command
    if len(cid) <= CUSTOM_ID_MAX:
        return cid
    return HASHED_ID_PREFIX + hashlib.sha1(command.encode()).hexdigest()[:40]


def command_for_custom_id(custom_id: str) -> str | None:
    """The command a button runs. Only ``cop:`` ids resolve; ``cop#`` ids need the adapter's store."""
    if custom_id.startswith(ID_PREFIX):
        return custom_id[len(ID_PREFIX):]
    return None


def _embed_size(embed: discord.Embed) -> int:
    return len(embed)  # discord.Embed.__len__ counts title, description, fields, footer and author


def _fields_embeds(fields: tuple[tuple[str, str], ...]) -> list[discord.Embed]:
    embeds: list[discord.Embed] = []
    for start in range(0, len(fields), EMBED_FIELDS_MAX):
        embed = discord.Embed()
        for label, value in fields[start:start + EMBED_FIELDS_MAX]:
            embed.add_field(name=_text(label, FIELD_NAME_MAX, "\u200b"),
                            value=_text(value, FIELD_VALUE_MAX, "—"), inline=True)
        embeds.append(embed)
    return embeds


def _item_embed(item: Item) -> discord.Embed:
    embed = discord.Embed(title=_text(item.title, EMBED_TITLE_MAX, "\u200b"),
                          description=_text(item.body, EMBED_DESCRIPTION_MAX) or None)
    for label, value in item.fields[:EMBED_FIELDS_MAX]:
        embed.add_field(name=_text(label, FIELD_NAME_MAX, "\u200b"),
                        value=_text(value, FIELD_VALUE_MAX, "—"), inline=True)
    if item.ref:
        embed.set_footer(text=clip(item.ref, FOOTER_MAX))
    return embed


def _view(choices: list[Choice]) -> tuple[discord.ui.View | None, int]:
    """A persistent view of up to 25 buttons (5 rows of 5); also how many choices did not fit."""
    if not choices:
        return None, 0
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    shown = 0
    for choice in choices:
        cid = custom_id_for(choice.command)
        if cid in seen:  # Discord rejects two components with one custom_id in a message
            continue
        if shown == BUTTONS_MAX:
            break
        seen.add(cid)
        view.add_item(discord.ui.Button(label=clip(choice.label, BUTTON_LABEL_MAX) or "…", custom_id=cid,
                                        style=_STYLES.get(choice.style, discord.ButtonStyle.secondary),
                                        row=shown // 5))
        shown += 1
    return view, len({custom_id_for(c.command) for c in choices}) - shown


def render_reply(reply: Reply) -> RenderedMessage:
    """One Discord message: content (with the plain text), embeds for fields and items, a button view."""
    embeds = _fields_embeds(reply.fields) + [_item_embed(item) for item in reply.items]
    kept: list[discord.Embed] = []
    total = 0
    for embed in embeds:
        size = _embed_size(embed)
        if len(kept) == EMBEDS_MAX or total + size > EMBED_TOTAL_MAX:
            break
        kept.append(embed)
        total += size
    choices = list(reply.choices) + [c for item in reply.items for c in item.choices]
    view, hidden_choices = _view(choices)
    notes: list[str] = []
    if len(embeds) > len(kept):
        notes.append(f"…and {len(embeds) - len(kept)} more")
    if hidden_choices:
        notes.append(f"({hidden_choices} more options: type the command instead)")
    if reply.footer:
        notes.append(reply.footer)
    tail = discord_times("\n".join(notes))
    text = discord_times(reply.text)
    if tail:
        text = clip(text, CONTENT_MAX - len(tail) - 1) + "\n" + tail if text else tail
    return RenderedMessage(content=clip(text, CONTENT_MAX), embeds=kept, view=view,
                           ephemeral=reply.visibility is Visibility.PRIVATE)


# --- forms ---------------------------------------------------------------------------------------------


def _initial(form: Form, f: FormField) -> list[str]:
    value = form.prefilled.get(f.name, f.initial)
    if value is None or value == "":
        return []
    values = value if isinstance(value, (list, tuple, set)) else [value]
    out = []
    for v in values:
        v = getattr(v, "value", v)  # an Enum member
        if isinstance(v, bool):
            v = "yes" if v else "no"
        out.append(str(v))
    return out


def _field_item(form: Form, f: FormField) -> discord.ui.Label:
    initial = _initial(form, f)
    choices = ("yes", "no") if f.kind is FieldKind.FLAG else f.choices
    select_kinds = (FieldKind.CHOICE, FieldKind.MULTI_CHOICE, FieldKind.FLAG)
    component: discord.ui.Item[Any]
    if f.kind in select_kinds and 0 < len(choices) <= SELECT_OPTIONS_MAX:
        multi = f.kind is FieldKind.MULTI_CHOICE
        component = discord.ui.Select(
            custom_id=f.name, required=f.required, min_values=1 if f.required else 0,
            max_values=len(choices) if multi else 1,
            options=[discord.SelectOption(label=clip(c, 100), value=c, default=c in initial) for c in choices],
        )
    else:
        placeholder = f"One of: {', '.join(choices)}" if choices else f.help
        if f.kind is FieldKind.MULTI_CHOICE:
            placeholder = f"Comma-separated: {', '.join(choices)}"
        long = f.kind is FieldKind.LONG_TEXT
        max_length = min(f.max_length or TEXT_INPUT_MAX, TEXT_INPUT_MAX)
        default = ", ".join(initial) or None
        component = discord.ui.TextInput(
            custom_id=f.name, style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
            required=f.required, max_length=max_length, placeholder=clip(placeholder, PLACEHOLDER_MAX) or None,
            default=clip(default, max_length) if default else None,
        )
    return discord.ui.Label(text=clip(f.label, LABEL_TEXT_MAX),
                            description=clip(f.help, LABEL_DESCRIPTION_MAX) or None, component=component)


def form_to_modals(form: Form) -> list[discord.ui.Modal]:
    """Pages of at most five fields. Each input's custom_id is its field name.

    discord.py 2.7 modals hold Labels wrapping a TextInput or a Select, so choices and flags are
    selects (text inputs listing the values only when there are more than 25 choices).
    """
    pages = [form.fields[i:i + MODAL_CHILDREN_MAX] for i in range(0, len(form.fields), MODAL_CHILDREN_MAX)]
    modals: list[discord.ui.Modal] = []
    for n, page in enumerate(pages, 1):
        suffix = f" ({n}/{len(pages)})" if len(pages) > 1 else ""
        modal = discord.ui.Modal(title=clip(form.title, MODAL_TITLE_MAX - len(suffix)) + suffix, timeout=None,
                                 custom_id=clip(f"copform:{n}:{form.command}", CUSTOM_ID_MAX))
        for f in page:
            modal.add_item(_field_item(form, f))
        modals.append(modal)
    return modals


def _inputs(children: Iterable[Any]) -> Iterable[Any]:
    for child in children:
        if isinstance(child, discord.ui.Modal):
            yield from _inputs(child.children)
        elif isinstance(child, discord.ui.Label):
            yield child.component
        else:
            yield child


def modal_values(modals_children: Iterable[Any]) -> dict[str, Any]:
    """Field name -> submitted value, from modals or their children (Labels, TextInputs, Selects).

    Multi-selects give lists; a text input with a comma list for a multi-choice field is split. Empty
    inputs map to None so `bind_values` uses the parameter's default.
    """
    out: dict[str, Any] = {}
    for item in _inputs(modals_children):
        if isinstance(item, discord.ui.Select):
            values = list(item.values)
            out[item.custom_id] = values if item.max_values > 1 else (values[0] if values else None)
        elif isinstance(item, discord.ui.TextInput):
            value = item.value.strip()
            if value and (item.placeholder or "").startswith("Comma-separated:"):
                out[item.custom_id] = [v.strip() for v in value.split(",") if v.strip()]
            else:
                out[item.custom_id] = value or None
    return out


# --- application commands ------------------------------------------------------------------------------


def _option_type(param: Param) -> int:
    if param.is_bool:
        return BOOLEAN
    if param.base is int:
        return INTEGER
    if getattr(param.base, "__name__", "") == "Member" and param.base.__module__ == "bot.messages":
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

    Lists (``multiple`` parameters) are a STRING the member separates with commas; a list of choices
    offers its choices, so a slash invocation picks one of them (the text command takes several).
    """
    if len(command.params) > OPTIONS_MAX:
        raise DiscordLimitError(f"{command.path!r} has {len(command.params)} parameters; Discord allows "
                                f"{OPTIONS_MAX}. Split it into two commands or move some into its form.")
    options: list[dict[str, Any]] = []
    for p in sorted(command.params, key=lambda p: not p.required):
        kind = _option_type(p)
        description = p.opt.help or p.label
        if p.multiple and not p.choices:
            description += " (comma-separated)"
        option: dict[str, Any] = {"type": kind, "name": _name(p.name),
                                  "description": _description(description, p.label), "required": p.required}
        if p.choices and len(p.choices) <= CHOICES_MAX:
            option["choices"] = [{"name": clip(c, 100), "value": c} for c in p.choices]
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
    return {"type": SUB_COMMAND, "name": _name(name), "description": _description(command.summary, command.path),
            "options": slash_options(command)}


def _chars(node: Any) -> int:
    """Characters Discord counts against the 8000 limit: names, descriptions and choice values."""
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
            + ", ".join(f"{n} ({c})" for c, n in biggest) + "."
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
            raise DiscordLimitError(f"group {name!r} has {len(subs)} commands; Discord allows {OPTIONS_MAX} "
                                    "per group. Split it into two groups.")
        group_nodes.append({"type": SUB_COMMAND_GROUP, "name": _name(name),
                            "description": _description(registry.groups.get(name, ""), f"{name} commands"),
                            "options": subs})
    if per_group:
        payloads = [{"type": 1, "name": TOP_COMMAND, "description": "Community of practice commands",
                     "options": top}]
        payloads += [{"type": 1, "name": g["name"], "description": g["description"], "options": g["options"]}
                     for g in group_nodes]
        if len({p["name"] for p in payloads}) != len(payloads):
            raise DiscordLimitError(f"a group is named {TOP_COMMAND!r}; rename it.")
        if len(payloads) > 100:
            raise DiscordLimitError("Discord allows 100 top-level commands; merge some groups.")
    else:
        options = top + group_nodes
        if len(options) > OPTIONS_MAX:
            raise DiscordLimitError(f"/{TOP_COMMAND} would have {len(options)} groups and commands; Discord "
                                    f"allows {OPTIONS_MAX}. Use per_group=True or merge groups.")
        payloads = [{"type": 1, "name": TOP_COMMAND, "description": "Community of practice commands",
                     "options": options}]
    for payload in payloads:
        _check_size(payload, payload["options"])
    return payloads
