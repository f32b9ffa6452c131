"""Render the core's neutral replies and forms as Slack Block Kit, modals and an app manifest.

Pure functions over plain dicts: no network, no bolt app. The Slack adapter calls these and owns delivery.
Accessibility: every message carries a `text` fallback (the reply's plain text) and no meaning is carried
by button colour alone (the label always says what the button does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.commands import CommandRegistry, MessageAction
from bot.messages import Choice, FieldKind, Form, FormField, Item, Member, Reply, plain_name, render_members
from bot.messenger import format_in_zone, render_times

# Block Kit limits (docs.slack.dev; also slack_sdk.models.blocks / views validators).
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_MODAL = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24
MAX_PRIVATE_METADATA = 3000
MAX_INPUT_LABEL = 2000
MAX_HINT = 2000
MAX_TEXT_INPUT = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_CONTEXT_TEXT = 3000
MAX_ERROR_TEXT = 150  # conservative: Slack shows it under the input; its maximum is not documented

ACTION_PREFIX = "copbot:"
FLAG_VALUE = "yes"

_TIME = re.compile(r"⟨time:(-?\d+)⟩")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


# ---------------------------------------------------------------------------------------------- text


def escape(text: str) -> str:
    """Slack's three control characters, as its formatting docs require."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def time_tokens(text: str, tz_fallback: str = "UTC") -> str:
    """⟨time:UNIX⟩ -> Slack's date token, shown in each reader's own zone; fallback in `tz_fallback`."""

    def token(m: re.Match[str]) -> str:
        ts = int(m.group(1))
        fallback = format_in_zone(datetime.fromtimestamp(ts, UTC), tz_fallback)
        return f"<!date^{ts}^{{date_short_pretty}} {{time}}|{escape(fallback).replace('|', '/')}>"

    return _TIME.sub(token, text)


def slack_name(member: Member) -> str:
    """A Slack member as Slack shows people (a mention, after `escape`); anyone else by name."""
    return f"<@{member.user_id}>" if member.platform == "slack" else plain_name(member)


def members(text: str) -> str:
    """Member marks (bot.messages.mention) -> Slack mentions, in text that is already escaped."""
    return render_members(text, slack_name)


def mrkdwn(text: str, tz_fallback: str = "UTC") -> str:
    """Core text -> Slack mrkdwn: escape user text, `**bold**` -> `*bold*`, time markers -> date tokens,
    member marks -> mentions."""
    return members(time_tokens(_BOLD.sub(r"*\1*", escape(text)), tz_fallback))


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with "…", never inside a `<...>` token or an `&...;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    lt = cut.rfind("<")
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(render_members(text), limit) or " ", "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_CONTEXT_TEXT)}]}


def _chunks(seq: list[Any], n: int) -> list[list[Any]]:
    return [seq[i : i + n] for i in range(0, len(seq), n)]


# ---------------------------------------------------------------------------------------------- replies


class _Buttons:
    """Numbers buttons so every action_id in one message is unique."""

    def __init__(self) -> None:
        self.n = 0

    def button(self, choice: Choice) -> dict[str, Any] | None:
        if len(choice.command) > MAX_BUTTON_VALUE:
            return None  # a cut command would run something else; the fallback text still lists it
        self.n += 1
        element: dict[str, Any] = {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{self.n}",
            "text": _plain(choice.label, MAX_BUTTON_TEXT),
            "value": choice.command,
        }
        if choice.style in ("primary", "danger"):
            element["style"] = choice.style
        return element

    def actions(self, choices: Iterable[Choice]) -> list[dict[str, Any]]:
        elements = [b for b in (self.button(c) for c in choices) if b is not None]
        return [{"type": "actions", "elements": chunk} for chunk in _chunks(elements, MAX_ACTIONS_ELEMENTS)]


def _item_text(item: Item, tz: str) -> str:
    head = f"*{mrkdwn(item.title, tz)}*" + (f" [{escape(item.ref)}]" if item.ref else "")
    lines = [head]
    if item.body:
        lines.append(mrkdwn(item.body, tz))
    lines.extend(f"*{mrkdwn(label, tz)}:* {mrkdwn(value, tz)}" for label, value in item.fields)
    return "\n".join(lines)


def render_reply(reply: Reply, *, tz_fallback: str = "UTC") -> dict[str, Any]:
    """`{"text", "blocks"}` for chat.postMessage / chat.postEphemeral / respond.

    Attachments are not rendered here (the adapter uploads them); a form is opened as a modal by the
    adapter (`form_to_modal`). At most 50 blocks: items that do not fit are summarised as "and N more".
    """
    tz = tz_fallback
    buttons = _Buttons()
    head: list[dict[str, Any]] = []
    if reply.text:
        head.append(_section(mrkdwn(reply.text, tz)))
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{mrkdwn(label, tz)}*\n{mrkdwn(value, tz)}", MAX_FIELD_TEXT)}
        for label, value in reply.fields
    ]
    head.extend({"type": "section", "fields": chunk} for chunk in _chunks(fields, MAX_SECTION_FIELDS))
    for chart in reply.charts:  # a chart is shown as its table, in fixed-width text
        head.append(_section(truncate(f"*{escape(chart.title)}*\n```{escape(chart.text_table())}```", 3000)))

    tail: list[dict[str, Any]] = []
    if reply.footer:
        tail.append(_context(mrkdwn(reply.footer, tz)))

    # Final choices are built after items so action ids follow reading order.
    n_choice_blocks = -(
        -sum(len(c.command) <= MAX_BUTTON_VALUE for c in reply.choices) // MAX_ACTIONS_ELEMENTS
    )
    budget = MAX_BLOCKS_MESSAGE - len(head) - len(tail) - n_choice_blocks
    item_blocks: list[dict[str, Any]] = []
    shown = 0
    for index, item in enumerate(reply.items):
        blocks = [_section(_item_text(item, tz))]
        saved = buttons.n
        blocks += buttons.actions(item.choices)
        remaining = len(reply.items) - index - 1
        room = budget - len(item_blocks) - (1 if remaining else 0)
        if len(blocks) > room:
            buttons.n = saved
            break
        item_blocks += blocks
        shown += 1
    if shown < len(reply.items):
        item_blocks.append(_context(f"…and {len(reply.items) - shown} more"))

    blocks = head + item_blocks + buttons.actions(reply.choices) + tail
    text = members(escape(render_times(reply.plain_text(), tz)))
    return {"text": text, "blocks": blocks[:MAX_BLOCKS_MESSAGE]}


# ---------------------------------------------------------------------------------------------- modals


def _option(value: str) -> dict[str, Any]:
    if len(value) > MAX_OPTION_VALUE:
        raise ValueError(f"choice {value[:40]!r}… is longer than Slack's {MAX_OPTION_VALUE}-character limit")
    return {"text": _plain(value, MAX_OPTION_TEXT), "value": value}


def _as_strings(value: Any) -> list[str]:
    values = value if isinstance(value, (list, tuple, set)) else str(value).split(",")
    out = []
    for v in values:
        s = str(getattr(v, "value", v)).strip()
        if s:
            out.append(s)
    return out


def _element(f: FormField, initial: Any) -> dict[str, Any]:
    has_initial = initial is not None and initial != "" and initial != [] and initial != ()
    if f.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        el: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
        if f.kind is FieldKind.LONG_TEXT:
            el["multiline"] = True
        if f.max_length:
            el["max_length"] = min(f.max_length, MAX_TEXT_INPUT)
        if has_initial:
            text = ", ".join(_as_strings(initial)) if isinstance(initial, (list, tuple)) else str(initial)
            el["initial_value"] = text[: el.get("max_length", MAX_TEXT_INPUT)]
        return el
    if f.kind is FieldKind.NUMBER:
        el = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False}
        if has_initial:
            el["initial_value"] = str(initial)
        return el
    if f.kind is FieldKind.FLAG:
        el = {"type": "checkboxes", "action_id": "value", "options": [_option(FLAG_VALUE)]}
        el["options"][0]["text"] = _plain(f.label, MAX_OPTION_TEXT)
        if has_initial and str(initial).strip().lower() in ("yes", "true", "on", "1"):
            el["initial_options"] = el["options"][:1]
        return el
    if len(f.choices) > MAX_OPTIONS:
        raise ValueError(f"field {f.name!r} has {len(f.choices)} choices; Slack allows {MAX_OPTIONS}")
    options = [_option(c) for c in f.choices]
    chosen = [o for o in options if has_initial and o["value"] in _as_strings(initial)]
    if f.kind is FieldKind.CHOICE:
        el = {"type": "static_select", "action_id": "value", "options": options}
        if chosen:
            el["initial_option"] = chosen[0]
        return el
    el = {"type": "multi_static_select", "action_id": "value", "options": options}
    if chosen:
        el["initial_options"] = chosen
    return el


def _short_title(title: str) -> str:
    if len(title) <= MAX_MODAL_TITLE:
        return title
    cut = title[: MAX_MODAL_TITLE - 1].rsplit(" ", 1)[0].rstrip(" ,.;:-")
    return (cut or title[: MAX_MODAL_TITLE - 1]) + "…"


def form_to_modal(
    form: Form, *, callback_id: str = "copbot_form", private_metadata: str = ""
) -> dict[str, Any]:
    """A `views.open` modal: one input block per field (block_id = field name, action_id = "value")."""
    if len(form.fields) > MAX_BLOCKS_MODAL:
        raise ValueError(
            f"form {form.command!r} has {len(form.fields)} fields; a modal holds {MAX_BLOCKS_MODAL}"
        )
    blocks = []
    for f in form.fields:
        initial = form.prefilled.get(f.name, f.initial)
        block: dict[str, Any] = {
            "type": "input",
            "block_id": f.name,
            "label": _plain(f.label, MAX_INPUT_LABEL),
            "element": _element(f, initial),
            "optional": f.kind is FieldKind.FLAG or not f.required,
        }
        if f.help:
            block["hint"] = _plain(f.help, MAX_HINT)
        blocks.append(block)
    if form.fixed:  # given with the form, not edited: shown first, sent back from the metadata
        shown = "\n".join(
            f"*{escape(name.replace('_', ' ').capitalize())}:* {_fixed_text(value)}"
            for name, value in form.fixed.items()
        )
        blocks.insert(0, _section(shown))
    if not blocks:  # a modal needs at least one block
        blocks.append(_section(f"Nothing to fill in: submit to run *{escape(form.command)}*."))
    meta: dict[str, Any] = {"command": form.command}
    if form.fixed:
        meta["fixed"] = dict(form.fixed)
    if private_metadata:
        meta["meta"] = private_metadata
    encoded = json.dumps(meta, separators=(",", ":"))
    if len(encoded) > MAX_PRIVATE_METADATA:
        raise ValueError(
            f"private_metadata is {len(encoded)} characters; Slack allows {MAX_PRIVATE_METADATA}"
        )
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(_short_title(form.title), MAX_MODAL_TITLE),
        "submit": _plain(form.submit_label, MAX_MODAL_BUTTON),
        "close": _plain("Cancel", MAX_MODAL_BUTTON),
        "private_metadata": encoded,
        "blocks": blocks,
    }


def _fixed_text(value: Any) -> str:
    """A fixed form value for reading: a Slack member's stable id ("slack:T123:U456") becomes a mention."""
    text = str(value)
    member = Member.from_ref(text)
    if member is not None and member.platform == "slack":
        return f"<@{escape(member.user_id)}>"
    return escape(text)


def modal_metadata(private_metadata: str) -> dict[str, Any]:
    """The command (and the caller's own metadata, as "meta") a modal was opened for."""
    return json.loads(private_metadata) if private_metadata else {}


def modal_values(view_state: Mapping[str, Any]) -> dict[str, Any]:
    """`view.state` (or its `values`) of a view_submission -> {field: value}; lists for multi-selects.

    Empty inputs become None (the core skips them); a checkbox flag becomes True/False.
    """
    values = view_state.get("values", view_state)
    out: dict[str, Any] = {}
    for block_id, actions in values.items():
        state = actions.get("value")
        if state is None and actions:
            state = next(iter(actions.values()))
        if state is None:
            continue
        kind = state.get("type")
        if kind == "checkboxes":
            out[block_id] = any(o.get("value") == FLAG_VALUE for o in state.get("selected_options") or [])
        elif kind in ("multi_static_select", "multi_external_select"):
            out[block_id] = [o["value"] for o in state.get("selected_options") or []]
        elif kind in ("static_select", "external_select", "radio_buttons"):
            selected = state.get("selected_option")
            out[block_id] = selected["value"] if selected else None
        else:  # plain_text_input, number_input, and anything else carrying "value"
            out[block_id] = state.get("value")
    return out


def field_errors(reply: Reply) -> dict[str, Any] | None:
    """The view_submission ack body that shows an error under the field a member must fix, or None."""
    if not reply.is_error or not reply.error_field:
        return None
    message = render_members(render_times(reply.text, "UTC")).replace("**", "")
    return {"response_action": "errors", "errors": {reply.error_field: truncate(message, MAX_ERROR_TEXT)}}


# ---------------------------------------------------------------------------------------------- manifest

BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "chat:write",
    "commands",
    "files:write",
    "im:history",
    "im:write",
    "links:read",
    "links:write",
    "users:read",
)
BOT_EVENTS = ("app_home_opened", "app_mention", "link_shared", "message.channels", "message.im")
SHORTCUT_NAME_MAX, SHORTCUT_DESCRIPTION_MAX = 24, 150


def usage_hint(registry: CommandRegistry, limit: int = 100) -> str:
    """A short hint for the slash command, from the registry's groups: `[help|forum|practice|…] …`."""
    names = ["help"] + sorted(g for g in registry.groups if g != "help")
    while len("[" + "|".join(names) + "] …") > limit and len(names) > 1:
        names.pop()
    return "[" + "|".join(names) + "] …"


def shortcuts(registry: CommandRegistry) -> list[dict[str, Any]]:
    """The manifest's shortcuts: one per menu entry a command declares (bot.commands.MessageAction, a
    message shortcut; GlobalAction, a global one), its callback id the entry's id."""
    found = []
    for entry in registry.entries():
        kind = (
            "message" if isinstance(entry, MessageAction) else "global"
        )  # the only other kind: GlobalAction
        if len(entry.label) > SHORTCUT_NAME_MAX:
            raise ValueError(
                f"Slack shortcut names are at most {SHORTCUT_NAME_MAX} characters; shorten "
                f"{entry.label!r} (declared on {entry.command!r})."
            )
        found.append(
            {
                "name": entry.label,
                "type": kind,
                "callback_id": entry.id,
                "description": truncate(entry.description, SHORTCUT_DESCRIPTION_MAX),
            }
        )
    return found


def manifest(
    registry: CommandRegistry,
    *,
    app_name: str = "copbot",
    command: str = "/cop",
    socket_mode: bool = True,
    request_url: str | None = None,
    redirect_url: str | None = None,
    unfurl_domain: str | None = None,
) -> dict[str, Any]:
    """A Slack app manifest with only the scopes and events the adapter uses; `redirect_url` (OAuth mode)
    is where Slack sends an installer back to (`/slack/oauth_redirect`); `unfurl_domain` is the host of
    copbot's web pages, whose links copbot unfurls (link_shared)."""
    if not socket_mode and not request_url:
        raise ValueError("an HTTP (non-Socket Mode) app needs a request_url")
    slash: dict[str, Any] = {
        "command": command,
        "description": "Talk to the community of practice bot (say help)",
        "usage_hint": usage_hint(registry),
        "should_escape": True,  # mentions arrive as <@U123|name>: ids, not display names
    }
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        slash["url"] = request_url
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": app_name,
            "description": "Forum, convenings, resources and shared practices for a community of practice.",
            "background_color": "#2c4a6e",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": app_name, "always_online": True},
            "shortcuts": shortcuts(registry),
            "slash_commands": [slash],
            **({"unfurl_domains": [unfurl_domain]} if unfurl_domain else {}),
        },
        "oauth_config": {
            "scopes": {"bot": list(BOT_SCOPES)},
            **({"redirect_urls": [redirect_url]} if redirect_url else {}),
        },
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": redirect_url is not None,  # OAuth: Grid orgs may install org-wide
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
