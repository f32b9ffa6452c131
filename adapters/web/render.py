"""The core's neutral replies as HTML: text, fields, items, choices, forms, attachments.

Jinja2 (autoescaping on) renders the pages from `templates/`; this module turns a `Reply` into what the
templates show and knows which commands are pages (a choice "practice show P12" is a link to
/practices/12, not a button). Member marks become plain names, time marks the reader's local time in a
`<time>` element, addresses links. Nothing here knows what a practice or a forum is beyond that mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from adapters.web.charts import render_chart
from bot.messages import Choice, FieldKind, Form, FormField, Item, Reply, plain_name, render_members
from bot.messenger import format_in_zone

TEMPLATES = Path(__file__).with_name("templates")
_TIME = re.compile(r"⟨time:(-?\d+)⟩")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")

# Commands that are pages: the choice becomes a link. (pattern on the command text, the page's path)
_PAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^practice show P?(\d+)$", re.I), "/practices/{0}"),
    (re.compile(r"^convening show (\d+)$", re.I), "/convenings/{0}"),
    (re.compile(r"^convening ics (\d+)$", re.I), "/convenings/{0}.ics"),
    (re.compile(r"^convening list ([\w-]+)$", re.I), "/networks/{0}/convenings"),
    (re.compile(r"^convening list$", re.I), "/convenings"),
    (re.compile(r"^resource show (\S+)$", re.I), "/resources/{0}"),
    (re.compile(r"^forum (?:next|topics|history)\b.*$", re.I), "/forum"),
    (re.compile(r"^(?:home|me show)$", re.I), "/me"),
)


def page_for(command: str) -> str | None:
    """The page that shows what `command` answers, when it is one (a link instead of a button)."""
    text = " ".join(command.split())
    for pattern, path in _PAGES:
        m = pattern.match(text)
        if m:
            return path.format(*m.groups())
    return None


def rich(text: str, zone: str) -> Markup:
    """Reply text as HTML: escaped, members by name, times in the reader's zone, addresses as links,
    line breaks kept."""
    text = render_members(text, plain_name)
    out: list[str] = []
    pos = 0
    for m in _TIME.finditer(text):
        out.append(_linked(text[pos : m.start()]))
        when = datetime.fromtimestamp(int(m.group(1)), UTC)
        out.append(f'<time datetime="{when.isoformat()}">{escape(format_in_zone(when, zone))}</time>')
        pos = m.end()
    out.append(_linked(text[pos:]))
    return Markup("".join(out).replace("\n", "<br>\n"))


def _linked(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:")
        out.append(_marked(text[pos : m.start()]))
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        pos = m.start() + len(url)
    out.append(_marked(text[pos:]))
    return "".join(out)


def _marked(text: str) -> str:
    """Escaped text with the core's **emphasis** (search snippets mark the words found) as <strong>."""
    return _BOLD.sub(r"<strong>\1</strong>", str(escape(text)))


@dataclass
class Action:
    """A choice as the page shows it: a link to a page, or a button that runs the command."""

    label: str
    command: str
    href: str | None
    primary: bool
    danger: bool


def actions(choices: tuple[Choice, ...], can_act: bool = True) -> list[Action]:
    """The choices as links and buttons; a visitor who is not signed in gets only the links."""
    found = [
        Action(c.label, c.command, page_for(c.command), c.style == "primary", c.style == "danger")
        for c in choices
    ]
    return [a for a in found if can_act or a.href is not None]


@dataclass
class ItemView:
    title: str
    href: str | None
    ref: str | None
    body: Markup
    fields: list[tuple[str, Markup]]
    actions: list[Action]


@dataclass
class FieldView:
    name: str
    label: str
    kind: str
    required: bool
    help: str
    choices: tuple[str, ...]
    max_length: int | None
    value: Any
    error: str = ""


@dataclass
class FormView:
    title: str
    command: str
    submit_label: str
    fields: list[FieldView]
    fixed: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReplyView:
    heading: str
    text: Markup
    is_error: bool
    fields: list[tuple[str, Markup]]
    items: list[ItemView]
    actions: list[Action]
    form: FormView | None
    attachments: list[str]
    footer: Markup
    charts: list[Markup] = field(default_factory=list)


def form_view(
    form: Form, values: dict[str, Any] | None = None, error: tuple[str, str] | None = None
) -> FormView:
    values = values if values is not None else dict(form.prefilled)

    def one(f: FormField) -> FieldView:
        value = values.get(f.name, f.initial if f.initial is not None else "")
        if f.kind is FieldKind.MULTI_CHOICE and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif f.kind is not FieldKind.MULTI_CHOICE and isinstance(value, (list, tuple)):
            value = ", ".join(str(getattr(v, "value", v)) for v in value)  # several values, one box
        view = FieldView(f.name, f.label, f.kind.value, f.required, f.help, f.choices, f.max_length, value)
        if error and error[0] == f.name:
            view.error = error[1]
        return view

    return FormView(
        form.title, form.command, form.submit_label, [one(f) for f in form.fields], dict(form.fixed)
    )


def reply_view(reply: Reply, zone: str, heading: str = "", *, can_act: bool = True) -> ReplyView:
    items = [
        ItemView(
            title=render_members(item.title, plain_name),
            href=_item_href(item),
            ref=item.ref,
            body=rich(item.body, zone),
            fields=[(render_members(k, plain_name), rich(v, zone)) for k, v in item.fields],
            actions=[
                a for a in actions(item.choices, can_act) if a.href is None or a.href != _item_href(item)
            ],
        )
        for item in reply.items
    ]
    charts = [render_chart(chart) for chart in reply.charts]
    return ReplyView(
        heading=heading,
        text=rich(reply.text, zone),
        is_error=reply.is_error,
        fields=[(render_members(k, plain_name), rich(v, zone)) for k, v in reply.fields],
        items=items,
        actions=actions(reply.choices, can_act),
        form=form_view(reply.form) if reply.form is not None else None,
        attachments=[a.filename for a in reply.attachments],
        footer=rich(reply.footer, zone),
        charts=charts,
    )


def _item_href(item: Item) -> str | None:
    """An item that is a page of its own links to it (its "Show" choice names the page)."""
    for c in item.choices:
        if c.label.casefold() in ("show", "open", "details"):
            href = page_for(c.command)
            if href:
                return href
    return None


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env
