"""The seam between adapters and features: small, frozen, platform-neutral types.

Adapters translate a platform's events into `Incoming` and render `Reply` back. Features never see a
raw payload and never hold a reference to an adapter. A member's identity is always the triple
(platform, workspace, user_id): the same Slack user id in another workspace is another person. A display
name is only for showing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from bot.permissions import Role


@dataclass(frozen=True)
class Member:
    """A person on one platform. Identity is (platform, workspace, user_id); display_name is cosmetic.

    `workspace` is where the platform scopes its user ids: a Slack team id (or the Enterprise Grid org id
    for an org-wide install). It is "" where the platform has no such scope (the console, Discord).
    """

    platform: str
    user_id: str
    display_name: str = ""
    workspace: str = ""

    def __post_init__(self) -> None:
        if unstorable_character(self.display_name) is not None:  # cosmetic: a stray control character goes
            object.__setattr__(self, "display_name", printable(self.display_name))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.workspace, self.user_id)

    @property
    def ref(self) -> str:
        """The stable id as text, accepted wherever @member is: `slack:T123:U456`, `console:ana`."""
        return ":".join(part for part in self.key if part)

    @classmethod
    def from_ref(cls, ref: str) -> Member | None:
        """Read a stable id: `platform:user_id` or `platform:workspace:user_id`; None when it is neither."""
        parts = [part.strip() for part in ref.split(":")]
        if len(parts) == 2 and all(parts):
            return cls(parts[0], parts[1])
        if len(parts) == 3 and all(parts):
            return cls(parts[0], parts[2], workspace=parts[1])
        return None

    @property
    def name(self) -> str:
        return self.display_name or self.user_id

    def __str__(self) -> str:
        return self.name


# A member named in a message. Each adapter shows it as its platform shows people (a Slack or Discord mention
# for one of its own members, the display name otherwise); `render_members` gives the plain form. Like the
# time marks of bot/messenger.py, the core writes the mark and never a platform's mention syntax.
_MEMBER_MARK = re.compile(r"⟨@([^|⟩]+)\|([^⟩]*)⟩")


def mention(member: Member) -> str:
    """How the core names a member in text: a mark each adapter renders (never a raw platform id)."""
    name = member.display_name.replace("⟩", ")").replace("|", "/")
    return f"⟨@{member.ref}|{name}⟩"


def plain_name(member: Member) -> str:
    """A member's name where no mention can be shown: their display name, else a neutral description."""
    return member.display_name or (member.user_id if member.platform == "console" else "a member")


def render_members(text: str, show: Callable[[Member], str] = plain_name) -> str:
    """Replace each member mark in `text` with `show(member)`; by default the member's plain name."""

    def one(m: re.Match[str]) -> str:
        found = Member.from_ref(m.group(1))
        if found is None:
            return m.group(2) or "a member"
        return show(Member(found.platform, found.user_id, m.group(2), found.workspace))

    return _MEMBER_MARK.sub(one, text)


@dataclass(frozen=True)
class Place:
    """Where a message was said or should go: a channel, optionally a thread in it, or a DM."""

    platform: str
    channel_id: str
    thread_id: str | None = None
    is_direct: bool = False


@dataclass(frozen=True)
class Incoming:
    """One request from a member: either command text or a submitted form/button (command + values).

    `mentions` maps a mention token exactly as it appears in `text` (for example ``<@U123>`` on Slack or
    ``@bob`` in the console) to the member it names, so the core can resolve member arguments without
    knowing any platform's mention syntax.
    """

    member: Member
    place: Place
    text: str = ""
    command: str | None = None
    values: Mapping[str, Any] | None = None
    mentions: Mapping[str, Member] = field(default_factory=dict)
    link: str | None = None  # a permalink to the message, when the platform gives one
    # What the platform itself says this member may do (a Discord role mapped to coordinator, a guild
    # administrator): a hint the core combines with its own grants. The core still checks every command.
    platform_role: Role | None = None
    # The member belongs to another organisation than the one the request came through: a channel shared
    # with it (Slack Connect). They use copbot as any member does, except the commands a coordinator keeps
    # to the host organisation (`role guests host-only`; commands declared host_only).
    guest: bool = False


class FieldKind(str, Enum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    NUMBER = "number"
    FLAG = "flag"


@dataclass(frozen=True)
class FormField:
    """One field of a form; `name` is the command parameter it fills."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    initial: str | None = None


@dataclass(frozen=True)
class Form:
    """Fields to fill. Submitting it runs `command` with the field values as named arguments."""

    title: str
    command: str
    fields: tuple[FormField, ...]
    submit_label: str = "Submit"
    prefilled: Mapping[str, Any] = field(default_factory=dict)
    # Values submitted with the form that the member does not edit (say, whose message it is): adapters
    # show them as text and send them back with the fields.
    fixed: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """A button. Pressing it runs `command` (full command text) as the member who pressed it."""

    label: str
    command: str
    style: str = "default"  # default | primary | danger


@dataclass(frozen=True)
class Item:
    """One entry of a list: a title, a short body and a few labelled facts."""

    title: str
    body: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    ref: str | None = None  # a stable id the member can type, e.g. "P12"
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file the reply carries (an export, a calendar file)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Series:
    """One named row of numbers in a chart, a value per label."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    """Figures to draw: `kind` is "bar" (series side by side), "stacked" (series on top of each other) or
    "line". Every chart is also its table (labels down, series across): what chat shows, what a screen
    reader reads, what the CSV holds. The web draws it with the table beside it."""

    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    kind: str = "bar"
    unit: str = ""  # what the numbers count, e.g. "members"
    description: str = ""  # one sentence: what is counted and how

    def rows(self) -> list[list[str]]:
        """The table, header first."""
        head = ["", *(s.name for s in self.series)]
        return [head] + [
            [label, *(_number(s.values[i]) if i < len(s.values) else "" for s in self.series)]
            for i, label in enumerate(self.labels)
        ]

    def text_table(self) -> str:
        """The table in fixed-width text, for chat and the console."""
        if not self.labels:
            return "(nothing in this period)"
        rows = self.rows()
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = [
            "  ".join(
                cell.ljust(widths[c]) if c == 0 else cell.rjust(widths[c]) for c, cell in enumerate(r)
            ).rstrip()
            for r in rows
        ]
        return "\n".join(lines)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class Visibility(str, Enum):
    PUBLIC = "public"  # everyone in the place sees it
    PRIVATE = "private"  # only the asker (Slack ephemeral, Discord ephemeral, console: same)


@dataclass(frozen=True)
class Reply:
    """What the core says back. `text` is always meaningful on its own; the rest is rich intent."""

    text: str
    items: tuple[Item, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    choices: tuple[Choice, ...] = ()
    form: Form | None = None
    attachments: tuple[Attachment, ...] = ()
    visibility: Visibility = Visibility.PRIVATE
    is_error: bool = False
    footer: str = ""
    error_field: str | None = None  # the form field a member must fix, when the error is about one
    charts: tuple[Chart, ...] = ()

    def plain_text(self) -> str:
        """The whole reply as plain text: for screen readers, notifications and the console."""
        lines: list[str] = [self.text] if self.text else []
        for label, value in self.fields:
            lines.append(f"{label}: {value}")
        for n, item in enumerate(self.items, 1):
            head = list_head(n, item)
            lines.append(head)
            if item.body:
                lines.extend("   " + line for line in item.body.splitlines())
            for label, value in item.fields:
                lines.append(f"   {label}: {value}")
        if self.form is not None:
            lines.append(f"Form: {self.form.title}")
            for f in self.form.fields:
                req = " (required)" if f.required else ""
                lines.append(f"  --{f.name.replace('_', '-')}: {f.label}{req}")
        choices = list(self.choices) + [c for item in self.items for c in item.choices]
        if choices:
            lines.append("Options: " + "; ".join(f"{c.label} ({c.command})" for c in choices))
        for chart in self.charts:
            lines.append(f"{chart.title}:")
            lines.extend("   " + line for line in chart.text_table().splitlines())
        for a in self.attachments:
            lines.append(f"File: {a.filename}")
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)


def names_shown(reply: Reply, show: Callable[[Member], str] = plain_name) -> Reply:
    """The reply with every member mark replaced by `show(member)` (a plain name by default): what an
    adapter without rich rendering shows, and what tests of the core read."""

    def r(text: str) -> str:
        return render_members(text, show)

    def pairs(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple((r(label), r(value)) for label, value in fields)

    items = tuple(
        replace(item, title=r(item.title), body=r(item.body), fields=pairs(item.fields))
        for item in reply.items
    )
    return replace(reply, text=r(reply.text), footer=r(reply.footer), fields=pairs(reply.fields), items=items)


def list_head(n: int, item: Item, gap: str = " ") -> str:
    """An item's first line in a plain list: numbered, unless it has its own ref (P12, slot 2), which is the
    one number a member types; a second number beside it would only mislead."""
    if item.ref:
        return f"- {item.title}{gap}[{item.ref}]"
    return f"{n}. {item.title}"


def error(text: str) -> Reply:
    return Reply(text=text, is_error=True, visibility=Visibility.PRIVATE)


# ---- what text the core stores ---------------------------------------------------------------------------

_KEPT_CONTROLS = frozenset("\n\t")


def _unstorable(ch: str) -> bool:
    """A control character other than line break and tab (NUL cannot be stored in PostgreSQL text at all),
    or half of a surrogate pair (not a character; no database encoding can hold it)."""
    return ch not in _KEPT_CONTROLS and unicodedata.category(ch) in ("Cc", "Cs")


def unstorable_character(text: str) -> str | None:
    """The first character of `text` copbot will not store, as `U+0000`, or None when there is none."""
    found = next((ch for ch in text if _unstorable(ch)), None)
    return None if found is None else f"U+{ord(found):04X}"


def printable(text: str) -> str:
    """`text` with Windows line breaks made plain and every character `unstorable_character` names removed
    (for text nobody can be asked to fix: a chat message heard in a thread, a platform display name)."""
    text = text.replace("\r\n", "\n")
    return text if unstorable_character(text) is None else "".join(ch for ch in text if not _unstorable(ch))
