"""Render the core's neutral replies as Bot Framework activities for Teams: Adaptive Cards with a text
fallback, and read back what a card's inputs submitted.

Pure functions over plain dicts. Accessibility (Teams' card guidance): every card has `fallbackText` and
the activity a `summary` (the reply's plain text, for screen readers, notifications and clients that show
no cards); headings use the `heading` style; an error says "Error" in words, not by colour alone; every
input has a visible `label`, and required inputs say so; buttons say what they do.

Times (⟨time:UNIX⟩) become Adaptive Cards' DATE()/TIME() functions, which Teams shows in each reader's
own zone; the text fallback shows them in the reader's (or the community's) zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.messages import Choice, FieldKind, Form, FormField, Item, Member, Reply, render_members
from bot.messenger import render_times

CARD_VERSION = "1.5"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
COMMAND_KEY = (
    "copbot_command"  # an Action.Submit that runs a command: {"copbot_command": "forum rsvp 3 going"}
)
FORM_KEY = "copbot_form"  # a form's submit: {"copbot_form": "practice share", "copbot_fixed": {...}}
FIXED_KEY = "copbot_fixed"
MAX_ITEMS = 25  # Teams refuses a message over about 28 KB: long lists are cut, the text says how many
MAX_ACTIONS = 6  # Teams shows at most six top-level card buttons
MAX_TEXT = 4000
MAX_CARD_BYTES = 20_000  # Teams refuses a message over about 28 KB; the summary and envelope need room too

_TIME = re.compile(r"⟨time:(-?\d+)⟩")
_TAG = re.compile(r"<[^>]+>")


def card_times(text: str) -> str:
    """⟨time:UNIX⟩ -> "{{DATE(...,SHORT)}} {{TIME(...)}}", shown in each reader's zone by Teams; a member
    mark -> the member's name (Teams' own mentions need the member's Teams id, which other platforms' members
    do not have)."""

    def token(m: re.Match[str]) -> str:
        stamp = datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"

    return render_members(_TIME.sub(token, text))


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": clip(card_times(text)), "wrap": True, **style}


def _table(rows: list[list[str]]) -> dict[str, Any]:
    return {
        "type": "Table",
        "firstRowAsHeader": True,
        "columns": [{"width": 1} for _ in rows[0]],
        "rows": [
            {"type": "TableRow", "cells": [{"type": "TableCell", "items": [_block(c)]} for c in row]}
            for row in rows
        ],
    }


def _facts(fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {
        "type": "FactSet",
        "facts": [{"title": clip(card_times(k), 200), "value": clip(card_times(v), 1000)} for k, v in fields],
    }


def _submit(choice: Choice) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": clip(choice.label, 80),
        "data": {COMMAND_KEY: choice.command},
    }
    if choice.style == "primary":
        action["style"] = "positive"
    elif choice.style == "danger":
        action["style"] = "destructive"
    return action


def _item(n: int, item: Item) -> dict[str, Any]:
    title = f"{n}. {item.title}" + (f" [{item.ref}]" if item.ref else "")
    parts: list[dict[str, Any]] = [_block(title, weight="Bolder")]
    if item.body:
        parts.append(_block(item.body))
    if item.fields:
        parts.append(_facts(item.fields))
    if item.choices:
        parts.append({"type": "ActionSet", "actions": [_submit(c) for c in item.choices[:MAX_ACTIONS]]})
    return {"type": "Container", "items": parts, "separator": n > 1, "spacing": "Medium"}


def _fixed_text(value: Any) -> str:
    member = Member.from_ref(str(value))
    return member.user_id if member is not None and member.platform == "teams" else str(value)


def _input(f: FormField, value: Any, error: str | None) -> list[dict[str, Any]]:
    label = f.label + ("" if f.required else " (optional)")
    base: dict[str, Any] = {"id": f.name, "label": clip(label, 200), "isRequired": f.required}
    if f.required:
        base["errorMessage"] = f"{f.label} is required."
    shown = "" if value is None else value
    if f.kind is FieldKind.FLAG:
        element = {
            "type": "Input.Toggle",
            "title": clip(f.label, 200),
            "valueOn": "true",
            "valueOff": "false",
            "value": "true" if shown in (True, "true", "yes") else "false",
            **base,
        }
    elif f.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE):
        multi = f.kind is FieldKind.MULTI_CHOICE
        picked = ",".join(str(v) for v in shown) if isinstance(shown, list | tuple) else str(shown)
        element = {
            "type": "Input.ChoiceSet",
            "choices": [{"title": clip(c, 100), "value": c} for c in f.choices],
            "isMultiSelect": multi,
            # radio buttons for a short required choice; a list that can be left empty otherwise
            "style": "expanded" if len(f.choices) <= 4 and not multi and f.required else "compact",
            "value": picked,
            **base,
        }
    elif f.kind is FieldKind.NUMBER:
        element = {"type": "Input.Number", **base}
        try:
            element["value"] = float(shown) if shown != "" else None
        except (TypeError, ValueError):
            pass  # not a number: the input starts empty
        if element.get("value") is None:
            element.pop("value", None)
    else:
        element = {
            "type": "Input.Text",
            "isMultiline": f.kind is FieldKind.LONG_TEXT,
            "value": str(shown),
            **base,
        }
        if f.max_length:
            element["maxLength"] = f.max_length
        if f.help:
            element["placeholder"] = clip(f.help, 150)
    parts: list[dict[str, Any]] = [element]
    if f.help and f.kind is not FieldKind.TEXT and f.kind is not FieldKind.LONG_TEXT:
        parts.append(_block(f.help, isSubtle=True, size="Small", spacing="None"))
    if error:
        parts.append(_block(f"Error: {error}", color="Attention", weight="Bolder", spacing="Small"))
    return parts


def form_card(
    form: Form,
    *,
    values: Mapping[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
) -> dict[str, Any]:
    """A form as card inputs; with `error`, the card comes back filled in as submitted, the error shown
    under the field to fix (or at the top when it is about no one field)."""
    given = {**form.prefilled, **{k: v for k, v in (values or {}).items() if v not in (None, "")}}
    body: list[dict[str, Any]] = [_block(form.title, style="heading", size="Large", weight="Bolder")]
    if error and not error_field:
        body.append(_block(f"Error: {error}", color="Attention", weight="Bolder"))
    for name, value in form.fixed.items():
        body.append(_block(f"{name.replace('_', ' ').capitalize()}: {_fixed_text(value)}", isSubtle=True))
    for f in form.fields:
        initial = given.get(f.name, f.initial)
        body.extend(_input(f, initial, error if f.name == error_field else None))
    data: dict[str, Any] = {FORM_KEY: form.command}
    if form.fixed:
        data[FIXED_KEY] = dict(form.fixed)
    return _card(
        body,
        [{"type": "Action.Submit", "title": clip(form.submit_label, 80), "style": "positive", "data": data}],
        fallback=f"{form.title}: {error or 'fill in the form in Teams, or type the command with its options.'}",
    )


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]], *, fallback: str) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": clip(fallback),
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def reply_card(reply: Reply, tz: str, *, max_items: int = MAX_ITEMS) -> dict[str, Any] | None:
    """The reply as a card, or None when plain text says it all. At most `max_items` items, and fewer
    when the card would pass Teams' message size limit (the card then says how many more there are)."""
    card = _reply_card(reply, tz, max_items)
    while card is not None and max_items > 1 and len(json.dumps(card)) > MAX_CARD_BYTES:
        max_items //= 2
        card = _reply_card(reply, tz, max_items)
    return card


def _reply_card(reply: Reply, tz: str, max_items: int) -> dict[str, Any] | None:
    if not (reply.items or reply.fields or reply.choices or reply.form or reply.charts):
        return None
    if reply.form is not None and not (reply.items or reply.fields):
        return form_card(reply.form)
    body: list[dict[str, Any]] = []
    if reply.text:
        first, _, rest = reply.text.partition("\n")
        prefix = "Error: " if reply.is_error else ""
        style: dict[str, Any] = {"color": "Attention"} if reply.is_error else {}
        body.append(_block(prefix + first.replace("**", ""), style="heading", weight="Bolder", **style))
        if rest.strip():
            body.append(_block(rest))
    if reply.fields:
        body.append(_facts(reply.fields))
    for n, item in enumerate(reply.items[:max_items], 1):
        body.append(_item(n, item))
    if len(reply.items) > max_items:
        body.append(_block(f"…and {len(reply.items) - max_items} more.", isSubtle=True))
    for chart in reply.charts:  # a chart as its table (Adaptive Cards 1.5 tables; Teams draws no charts)
        body.append(_block(chart.title, weight="Bolder"))
        body.append(_table(chart.rows()))
    if reply.footer:
        body.append(_block(reply.footer, isSubtle=True, size="Small"))
    actions = [_submit(c) for c in reply.choices[:MAX_ACTIONS]]
    if reply.form is not None:
        actions.append(
            {
                "type": "Action.Submit",
                "title": clip(f"Open the form: {reply.form.title}", 80),
                "data": {COMMAND_KEY: reply.form.command},
            }
        )
    return _card(body, actions, fallback=render_members(render_times(reply.plain_text(), tz)))


def message(reply: Reply, tz: str, *, card: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message activity for `reply`: markdown text when that is all, else a card with the plain text
    as `summary` (what notifications and screen readers read) and as the card's own fallback."""
    plain = render_members(render_times(reply.plain_text(), tz))
    card = card if card is not None else reply_card(reply, tz)
    if card is None:
        return {
            "type": "message",
            "text": hard_breaks(clip(plain, 12000)),
            "textFormat": "markdown",
        }
    return {
        "type": "message",
        "summary": clip(plain, 2000),
        "attachments": [{"contentType": CARD_TYPE, "content": card}],
    }


def hard_breaks(text: str) -> str:
    """Teams' markdown joins lines split by a single line break: end each line with two spaces (a hard
    break), except inside ``` code blocks, where line breaks already hold."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            out.append(line)
        else:
            out.append(line if fenced or not line.strip() else line.rstrip() + "  ")
    return "\n".join(out).rstrip()


def submitted(form_fields: tuple[FormField, ...] | None, value: Mapping[str, Any]) -> dict[str, Any]:
    """An Action.Submit's `value` -> {field: value} for the core: empty inputs None, toggles True/False,
    multi-selects lists (Teams sends them comma-separated)."""
    kinds = {f.name: f.kind for f in form_fields or ()}
    out: dict[str, Any] = {}
    for name, raw in value.items():
        if name in (COMMAND_KEY, FORM_KEY, FIXED_KEY) or name == "msteams":
            continue
        kind = kinds.get(name)
        text = raw if not isinstance(raw, str) else raw.strip()
        if text in ("", None):
            out[name] = None
        elif kind is FieldKind.FLAG:
            out[name] = str(text).lower() == "true"
        elif kind is FieldKind.MULTI_CHOICE:
            out[name] = [p.strip() for p in str(text).split(",") if p.strip()]
        else:
            out[name] = text
    return out


def plain_text(html: str) -> str:
    """Teams message text (HTML-ish) -> plain text: tags dropped, entities and non-breaking spaces made plain."""
    import html as html_lib

    text = re.sub(r"<br\s*/?>|</p>|</div>", "\n", html, flags=re.I)
    return html_lib.unescape(_TAG.sub("", text)).replace("\xa0", " ").strip()
