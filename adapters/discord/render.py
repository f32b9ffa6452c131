"""Render the core's neutral replies, forms and commands as discord.py objects and Discord payloads.

Pure: it builds real discord.py objects (embeds, views, modals) and never touches the network or a
client. The application commands are in adapters/discord/commands.py. The Discord adapter sends what this module builds.

Button ids: a Choice becomes a button whose custom_id is ``"cop:" + command`` so that a press after a
restart (the view is persistent, ``timeout=None``) maps straight back to the command text through
`command_for_custom_id`. Discord caps custom_id at 100 characters; a longer command gets
``"cop#" + sha1 prefix``, which this module cannot resolve: the adapter must remember those commands in
the store (id -> command) when it sends the message and look them up on a press.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.messages import (
    Chart,
    Choice,
    FieldKind,
    Form,
    FormField,
    Item,
    Member,
    Reply,
    Visibility,
    plain_name,
    render_members,
)

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

ID_PREFIX = "cop:"
HASHED_ID_PREFIX = "cop#"
MODAL_PREFIX = "copform:"

_TIME = re.compile(r"⟨time:(-?\d+)⟩")
_STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}


@dataclass(frozen=True)
class RenderedMessage:
    content: str
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None
    ephemeral: bool = False


# --- text helpers --------------------------------------------------------------------------------------


def discord_times(text: str) -> str:
    """``⟨time:UNIX⟩`` -> ``<t:UNIX:f>``: Discord shows the date and time in each reader's own zone. Member
    marks (bot.messages.mention) become mentions of Discord members and names of anyone else."""
    return render_members(_TIME.sub(lambda m: f"<t:{m.group(1)}:f>", text), discord_name)


def discord_name(member: Member) -> str:
    return f"<@{member.user_id}>" if member.platform == "discord" else plain_name(member)


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
        return custom_id[len(ID_PREFIX) :]
    return None


def _embed_size(embed: discord.Embed) -> int:
    return len(embed)  # discord.Embed.__len__ counts title, description, fields, footer and author


def _fields_embeds(fields: tuple[tuple[str, str], ...]) -> list[discord.Embed]:
    embeds: list[discord.Embed] = []
    for start in range(0, len(fields), EMBED_FIELDS_MAX):
        embed = discord.Embed()
        for label, value in fields[start : start + EMBED_FIELDS_MAX]:
            embed.add_field(
                name=_text(label, FIELD_NAME_MAX, "\u200b"),
                value=_text(value, FIELD_VALUE_MAX, "—"),
                inline=True,
            )
        embeds.append(embed)
    return embeds


def _item_embed(item: Item) -> discord.Embed:
    embed = discord.Embed(
        title=clip(render_members(_TIME.sub(lambda m: f"<t:{m.group(1)}:f>", item.title)), EMBED_TITLE_MAX)
        or "\u200b",
        description=_text(item.body, EMBED_DESCRIPTION_MAX) or None,
    )
    for label, value in item.fields[:EMBED_FIELDS_MAX]:
        embed.add_field(
            name=_text(label, FIELD_NAME_MAX, "\u200b"), value=_text(value, FIELD_VALUE_MAX, "—"), inline=True
        )
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
        view.add_item(
            discord.ui.Button(
                label=clip(choice.label, BUTTON_LABEL_MAX) or "…",
                custom_id=cid,
                style=_STYLES.get(choice.style, discord.ButtonStyle.secondary),
                row=shown // 5,
            )
        )
        shown += 1
    return view, len({custom_id_for(c.command) for c in choices}) - shown


def hashed_buttons(reply: Reply) -> dict[str, str]:
    """custom_id -> command for the buttons whose command is too long for a custom_id (``cop#...``):
    the adapter stores these before sending, and looks them up when one is pressed."""
    choices = list(reply.choices) + [c for item in reply.items for c in item.choices]
    return {cid: c.command for c in choices if (cid := custom_id_for(c.command)).startswith(HASHED_ID_PREFIX)}


def _chart_embed(chart: Chart) -> discord.Embed:
    """A chart as its table, in a code block (Discord draws no charts)."""
    table = chart.text_table()
    return discord.Embed(title=clip(chart.title, 256), description=clip(f"```\n{table}\n```", 4096))


def render_reply(reply: Reply) -> RenderedMessage:
    """One Discord message: content (with the plain text), embeds for fields and items, a button view."""
    embeds = _fields_embeds(reply.fields) + [_item_embed(item) for item in reply.items]
    embeds += [_chart_embed(chart) for chart in reply.charts]
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
    return RenderedMessage(
        content=clip(text, CONTENT_MAX),
        embeds=kept,
        view=view,
        ephemeral=reply.visibility is Visibility.PRIVATE,
    )


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
            custom_id=f.name,
            required=f.required,
            min_values=1 if f.required else 0,
            max_values=len(choices) if multi else 1,
            options=[
                discord.SelectOption(label=clip(c, 100), value=c, default=c in initial) for c in choices
            ],
        )
    else:
        placeholder = f"One of: {', '.join(choices)}" if choices else f.help
        if f.kind is FieldKind.MULTI_CHOICE:
            placeholder = f"Comma-separated: {', '.join(choices)}"
        long = f.kind is FieldKind.LONG_TEXT
        max_length = min(f.max_length or TEXT_INPUT_MAX, TEXT_INPUT_MAX)
        default = ", ".join(initial) or None
        component = discord.ui.TextInput(
            custom_id=f.name,
            style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
            required=f.required,
            max_length=max_length,
            placeholder=clip(placeholder, PLACEHOLDER_MAX) or None,
            default=clip(default, max_length) if default else None,
        )
    return discord.ui.Label(
        text=clip(f.label, LABEL_TEXT_MAX),
        description=clip(f.help, LABEL_DESCRIPTION_MAX) or None,
        component=component,
    )


def form_pages(form: Form) -> list[tuple[FormField, ...]]:
    """The form's fields in pages of at most five (one modal each)."""
    return [form.fields[i : i + MODAL_CHILDREN_MAX] for i in range(0, len(form.fields), MODAL_CHILDREN_MAX)]


def modal_custom_id(key: str, page: int, command: str) -> str:
    """``copform:<key>:<page>:<command>``: the form a submission belongs to, even after a restart."""
    return clip(f"{MODAL_PREFIX}{key}:{page}:{command}", CUSTOM_ID_MAX)


def parse_modal_custom_id(custom_id: str) -> tuple[str, int, str] | None:
    """(key, page, command) from a modal's custom_id, or None when it is not one of ours."""
    if not custom_id.startswith(MODAL_PREFIX):
        return None
    key, _, rest = custom_id[len(MODAL_PREFIX) :].partition(":")
    page, _, command = rest.partition(":")
    return (key, int(page), command) if page.isdigit() and command else None


def form_to_modals(form: Form, key: str = "0") -> list[discord.ui.Modal]:
    """Pages of at most five fields. Each input's custom_id is its field name; each modal's is
    `modal_custom_id(key, page, command)`, so the adapter finds the form (and its earlier pages) again.

    discord.py 2.7 modals hold Labels wrapping a TextInput or a Select, so choices and flags are
    selects (text inputs listing the values only when there are more than 25 choices).
    """
    pages = form_pages(form)
    modals: list[discord.ui.Modal] = []
    for n, page in enumerate(pages, 1):
        suffix = f" ({n}/{len(pages)})" if len(pages) > 1 else ""
        modal = discord.ui.Modal(
            title=clip(form.title, MODAL_TITLE_MAX - len(suffix)) + suffix,
            timeout=None,
            custom_id=modal_custom_id(key, n, form.command),
        )
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


def submitted_values(form: Form, components: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Field name -> value from a raw modal-submit payload (its ``data.components``), typed by the form.

    Works without the modal objects (a submission after a restart): selects give their values (a list
    for a multi-choice field), text inputs their stripped text (split at commas for a multi-choice
    field), and empty inputs None so `bind_values` uses the parameter's default.
    """
    kinds = {f.name: f.kind for f in form.fields}
    out: dict[str, Any] = {}

    def walk(nodes: Iterable[dict[str, Any]]) -> None:
        for node in nodes:
            if node.get("type") == 1:
                walk(node.get("components") or [])
            elif node.get("type") == 18 and isinstance(node.get("component"), dict):
                walk([node["component"]])
            elif node.get("custom_id") in kinds:
                name = node["custom_id"]
                multi = kinds[name] is FieldKind.MULTI_CHOICE
                if "values" in node:
                    values = [str(v) for v in node.get("values") or []]
                    out[name] = values if multi else (values[0] if values else None)
                else:
                    text = str(node.get("value") or "").strip()
                    out[name] = (
                        [v.strip() for v in text.split(",") if v.strip()]
                        if multi and text
                        else (text or None)
                    )

    walk(components)
    return out


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
