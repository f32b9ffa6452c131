"""Commands, declared once.

A feature declares a command with a decorator on an async function. The function's signature gives the
parameters (positional parameters are typed in order, keyword-only ones are ``--flags``), its type hints
give their types, ``Annotated[..., Opt(...)]`` adds help, limits and an example, and its docstring is
the help text (first line: summary; lines starting with ``Example:``: examples). From that one
declaration come the text parser, forms, help, the Discord/Slack command shapes and README's reference.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from bot import vocabulary
from bot.errors import ArgumentError, CommandError
from bot.messages import FieldKind, Form, FormField, Member, unstorable_character
from bot.permissions import Role
from bot.words import Word, as_typed, split_words

if TYPE_CHECKING:
    from bot.context import Context

DEFAULT_MAX_TEXT = 200
DEFAULT_MAX_LONG_TEXT = 4000
# Every number a command takes fits the database's INTEGER, the narrower of the two stores: 32 bits on
# PostgreSQL (SQLite's is 64). Ids are stored there, so a larger one could never match.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
MAX_LINE = 20_000  # characters in one command line, checked before it is read into words


@dataclass(frozen=True)
class Opt:
    """Metadata for a parameter, used as ``Annotated[str, Opt(help=...)]``."""

    help: str = ""
    example: str | None = None
    label: str | None = None
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    long: bool = False
    converter: Callable[[str], Any] | None = None
    metavar: str | None = None
    item_max_length: int = 60
    verbatim: bool = False  # the last text parameter keeps "a phrase" in quotes even alone (search queries)
    suggest: str | None = None  # what to suggest while a member types (a kind some feature supplies)
    # ("attribution", "role"): this parameter must be given when that parameter has that value. Declared
    # here, it is checked wherever both are known: a whole command, or one page of a form in pages.
    needed_if: tuple[str, str] | None = None


# The one wording for "that is not a command": every adapter, typed text, buttons and forms end with it.
SAY_HELP = "Say help to see every command."
OUT_OF_DATE = f"That button or form is out of date. {SAY_HELP}"


def slug(text: str) -> str:
    """Normalise a choice typed by a person: case, spaces and underscores do not matter."""
    return "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


@dataclass
class Param:
    name: str
    base: type
    positional: bool
    required: bool
    default: Any
    multiple: bool
    opt: Opt

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def is_bool(self) -> bool:
        return self.base is bool

    @property
    def choices(self) -> tuple[str, ...]:
        if isinstance(self.base, type) and issubclass(self.base, Enum):
            return tuple(str(m.value) for m in self.base)
        return ()

    @property
    def metavar(self) -> str:
        if self.opt.metavar:
            return self.opt.metavar
        if self.choices and len("|".join(self.choices)) <= 30:
            return "|".join(self.choices)
        if self.choices:
            return self.name.upper()
        if self.base is int:
            return "N"
        if self.base is Member:
            return "@MEMBER"
        return self.name.upper()

    @property
    def label(self) -> str:
        return self.opt.label or self.name.replace("_", " ").capitalize()

    @property
    def max_length(self) -> int:
        if self.opt.max_length is not None:
            return self.opt.max_length
        return DEFAULT_MAX_LONG_TEXT if self.opt.long else DEFAULT_MAX_TEXT

    def display(self) -> str:
        return self.name.upper() if self.positional else self.flag

    def convert_one(self, raw: Any, cmd: Command, mentions: Mapping[str, Member]) -> Any:
        where = self.display()
        if isinstance(raw, str):
            raw = raw.replace("\r\n", "\n")
            bad = unstorable_character(raw)
            if bad is not None:
                raise ArgumentError(
                    f"{where} contains a control character ({bad}) that copbot cannot store. "
                    "Remove it and try again; line breaks and tabs are fine."
                )
        if self.opt.converter is not None:
            try:
                converted = self.opt.converter(str(raw).strip())
            except (ValueError, TypeError) as exc:
                raise ArgumentError(f"{where}: {exc}. {cmd.example_hint()}") from None
            return self._in_range(converted, where) if isinstance(converted, int) else converted
        if self.base is bool:
            if isinstance(raw, bool):
                return raw
            value = slug(str(raw))
            if value in ("yes", "true", "on", "1"):
                return True
            if value in ("no", "false", "off", "0"):
                return False
            raise ArgumentError(f"{where}: expected yes or no, got {str(raw)!r}. {cmd.example_hint()}")
        if self.base is int:
            try:
                number = int(str(raw).strip())
            except ValueError:
                raise ArgumentError(
                    f"{where}: expected a whole number, got {_clip(str(raw))!r}. {cmd.example_hint()}"
                ) from None
            return self._in_range(number, where)
        if self.choices:
            value = vocabulary.canonical(slug(str(raw)), self.choices)
            for member in self.base:  # type: ignore[attr-defined]
                if value == slug(str(member.value)) or value == slug(member.name):
                    return member
            close = difflib.get_close_matches(value, self.choices, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ArgumentError(
                f"{where}: {_clip(str(raw))!r} is not allowed.{hint} Allowed: {', '.join(self.choices)}."
            )
        if self.base is Member:
            token = str(raw).strip()
            if token in mentions:
                return mentions[token]
            stable = None if token.startswith("@") else Member.from_ref(token)
            if stable is not None:  # a stable id (forms and buttons carry these): the stored name stays
                return stable
            raise ArgumentError(
                f"{where}: {token!r} is not a member mention. Mention them, for example @ana. "
                f"{cmd.example_hint()}"
            )
        text = str(raw).strip()
        limit = self.opt.item_max_length if self.multiple else self.max_length
        if len(text) > limit:
            raise ArgumentError(
                f"{where} is too long: {len(text):,} characters, the limit is {limit:,}. "
                "Shorten it and try again."
            )
        if self.required and not text:
            raise ArgumentError(f"{where} cannot be empty. {cmd.example_hint()}")
        return text

    def _in_range(self, value: int, where: str) -> int:
        """Within the parameter's limits, and always within the database's INTEGER (ids are stored there):
        a larger number could never match anything and would only make the database complain."""
        low = max(self.opt.min, INT_MIN) if self.opt.min is not None else INT_MIN
        high = min(self.opt.max, INT_MAX) if self.opt.max is not None else INT_MAX
        if value < low:
            raise ArgumentError(f"{where}: must be at least {low}, got {_clip(str(value))}.")
        if value > high:
            raise ArgumentError(f"{where}: must be at most {high}, got {_clip(str(value))}.")
        return value

    def convert(self, raw: Any, cmd: Command, mentions: Mapping[str, Member]) -> Any:
        try:
            return self._convert(raw, cmd, mentions)
        except ArgumentError as exc:
            exc.field = exc.field or self.name
            raise

    def _convert(self, raw: Any, cmd: Command, mentions: Mapping[str, Member]) -> Any:
        if self.multiple:
            values: list[Any] = []
            raws = raw if isinstance(raw, (list, tuple)) else [raw]
            for item in raws:
                # A list can be given as repeated flags or comma-separated.
                parts = [p for p in str(item).split(",")] if not isinstance(item, Enum) else [item]
                for part in parts:
                    if isinstance(part, str) and not part.strip():
                        continue
                    converted = self.convert_one(part, cmd, mentions)
                    if converted not in values:
                        values.append(converted)
            return values
        if isinstance(raw, (list, tuple)):
            if len(raw) != 1:
                raise ArgumentError(f"{self.display()} takes one value, got {len(raw)}.")
            raw = raw[0]
        return self.convert_one(raw, cmd, mentions)

    def form_field(self) -> FormField:
        if self.choices:
            kind = FieldKind.MULTI_CHOICE if self.multiple else FieldKind.CHOICE
        elif self.is_bool:
            kind = FieldKind.FLAG
        elif self.base is int and self.opt.converter is None:
            kind = FieldKind.NUMBER  # an id with a converter (P12, R12) is typed as text, as it is shown
        elif self.opt.long:
            kind = FieldKind.LONG_TEXT
        else:
            kind = FieldKind.TEXT
        initial = None
        if self.default not in (None, inspect.Parameter.empty, [], ()):
            initial = str(self.default.value if isinstance(self.default, Enum) else self.default)
        return FormField(
            name=self.name,
            label=self.label,
            kind=kind,
            required=self.required,
            help=self.opt.help,
            choices=self.choices,
            max_length=None if kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE) else self.max_length,
            initial=initial,
        )


Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Scope:
    """Who may run a command besides its role: for example "the coordinators of the network that the
    `network` parameter names". The feature that owns the idea supplies the checks (bot/networks); the
    dispatcher runs `allows` before the handler, and help and README show the command by `label`."""

    label: str  # "network coordinators"
    param: str  # the parameter whose value says where the right is needed
    allows: Callable[[Context, Any], Awaitable[None]]  # raises NotAllowed or NotFound, with the reason
    held_by: Callable[[Context], Awaitable[bool]]  # does the asker hold it anywhere (help lists it then)


@dataclass(frozen=True)
class Entry:
    """A way into a command from a platform's own menus besides typing it, declared with ``entry=``.

    `label` is what the menu shows, `description` the line under it; `command` (the path) is filled in
    by the declaration, and `id` derives from it, so a platform can store it (a Slack callback id).
    Declare one of its kinds, MessageAction or GlobalAction; `needs` names the parameters it fills.
    """

    needs: typing.ClassVar[tuple[str, ...]] = ()
    label: str
    description: str
    command: str = ""

    @property
    def id(self) -> str:
        return self.command.replace(" ", ".")


class MessageAction(Entry):
    """On a chat message's menu (a Slack message shortcut, a Discord message context menu): the command
    runs with the message's author as `author`, its text as `text` and a link to it as `link`."""

    needs = ("author", "text", "link")


class GlobalAction(Entry):
    """In the platform's own shortcut menu, not tied to a message (a Slack global shortcut; Discord has
    none, its slash command is the way in): runs the bare command, so a form command opens its form."""


@dataclass
class Command:
    path: str
    func: Handler
    role: Role
    params: list[Param]
    summary: str
    description: str
    examples: list[str]
    form: bool = False
    audited: bool = True
    scope: Scope | None = None
    entry: Entry | None = None
    host_only: bool = (
        False  # exports and attendance: a coordinator can keep them from guests (Incoming.guest)
    )

    @property
    def group(self) -> str:
        return self.path.split(" ")[0]

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def usage(self) -> str:
        parts = [self.path]
        for p in self.params:
            if p.positional:
                parts.append(f"<{p.metavar.lower()}>" if p.required else f"[{p.metavar.lower()}]")
        for p in self.params:
            if p.positional:
                continue
            token = p.flag if p.is_bool else f"{p.flag} {p.metavar}"
            if p.multiple:
                token += " ..."
            parts.append(token if p.required else f"[{token}]")
        return " ".join(parts)

    def example_hint(self) -> str:
        if self.examples:
            return f"Example: {self.examples[0]}"
        return f"Usage: {self.usage()}"

    def to_form(
        self, prefilled: Mapping[str, Any] | None = None, fixed: Mapping[str, Any] | None = None
    ) -> Form:
        """The command as a form; `fixed` values go with it unedited (their fields are left out)."""
        fixed = dict(fixed or {})
        return Form(
            title=self.summary.rstrip("."),
            command=self.path,
            fields=tuple(p.form_field() for p in self.params if p.name not in fixed),
            prefilled=dict(prefilled or {}),
            fixed=fixed,
        )

    def help_text(self) -> str:
        lines = [f"{self.path} — {self.summary}", f"Usage: {self.usage()}"]
        if self.description:
            lines += ["", self.description]
        if self.params:
            lines.append("")
            for p in self.params:
                detail = p.opt.help or p.label
                if p.choices:
                    detail += f" (one of: {', '.join(p.choices)})"
                if p.multiple:
                    detail += "; repeat or separate with commas"
                if p.required:
                    detail += "; required"
                elif p.default not in (None, inspect.Parameter.empty, [], (), "") and not p.is_bool:
                    default = p.default.value if isinstance(p.default, Enum) else p.default
                    detail += f"; default {default}"
                lines.append(
                    f"  {p.display() if not p.positional else '<' + p.metavar.lower() + '>'}: {detail}"
                )
        for ex in self.examples:
            lines.append(f"Example: {ex}")
        if isinstance(self.entry, MessageAction):
            lines.append(f"Also in a chat message's menu: {self.entry.label}.")
        elif isinstance(self.entry, GlobalAction):
            lines.append(f"Also in the app's shortcuts: {self.entry.label}.")
        if self.role > Role.MEMBER:
            lines.append(f"For {self.role.label}s and above.")
        elif self.scope is not None:
            lines.append(f"For {self.scope.label} (and community coordinators and admins).")
        if self.host_only:
            lines.append(
                "Coordinators can keep it to the host organisation, away from guests in shared channels "
                "(role guests host-only)."
            )
        return "\n".join(lines)


@dataclass
class Parsed:
    command: Command
    args: dict[str, Any]
    given: set[str] = field(default_factory=set)


class CommandGroup:
    """A feature's commands, collected by decorator and added to a registry by the app wiring."""

    def __init__(self, name: str, summary: str = "", about: str = "") -> None:
        self.name = name
        self.summary = summary
        self.about = about  # plain words `help <group>` shows above the group's commands
        self.commands: list[Command] = []

    def command(
        self,
        name: str = "",
        *,
        role: Role = Role.MEMBER,
        form: bool = False,
        audited: bool | None = None,
        scope: Scope | None = None,
        entry: Entry | None = None,
        host_only: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare a command. `audited=False` only where the handler writes its own, richer audit entry
        in the same transaction as the change; role- and scope-gated commands are audited otherwise."""
        path = f"{self.name} {name}".strip() if self.name else name

        def decorate(func: Handler) -> Handler:
            gated = role > Role.MEMBER or scope is not None
            cmd = build_command(
                path, func, role=role, form=form, audited=gated if audited is None else audited
            )
            if scope is not None:
                if cmd.param(scope.param) is None:
                    raise TypeError(
                        f"command {path!r}: its scope names a parameter it lacks: {scope.param!r}"
                    )
                cmd.scope = scope
            if entry is not None:
                cmd.entry = _bound_entry(cmd, entry)
            cmd.host_only = host_only
            self.commands.append(cmd)
            return func

        return decorate


def _bound_entry(cmd: Command, entry: Entry) -> Entry:
    """The entry with its command's path; its command must take what the entry hands it."""
    if not isinstance(entry, (MessageAction, GlobalAction)):  # what every adapter knows how to offer
        raise TypeError(f"command {cmd.path!r}: declare its entry as a MessageAction or a GlobalAction")
    missing = [name for name in entry.needs if cmd.param(name) is None]
    if missing:
        raise TypeError(
            f"command {cmd.path!r}: a {type(entry).__name__} hands it {', '.join(entry.needs)}; "
            f"add the parameter(s) {', '.join(missing)}"
        )
    if not entry.label.strip() or not entry.description.strip():
        raise TypeError(f"command {cmd.path!r}: its entry needs a label and a description")
    return replace(entry, command=cmd.path)


def _unwrap(annotation: Any) -> tuple[type, bool, bool, Opt]:
    """(base type, multiple, optional, Opt) from a parameter's annotation."""
    opt = Opt()
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, Opt):
                opt = extra
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
        if typing.get_origin(annotation) is typing.Annotated:  # `Alias | None` where Alias is Annotated
            annotation, *extras = typing.get_args(annotation)
            opt = next((e for e in extras if isinstance(e, Opt)), opt)
        origin = typing.get_origin(annotation)
    multiple = False
    if origin in (list, tuple):
        multiple = True
        annotation = typing.get_args(annotation)[0]
    return annotation, multiple, optional, opt


def build_command(path: str, func: Handler, *, role: Role, form: bool, audited: bool) -> Command:
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"command {path!r}: handler must be async")
    hints = typing.get_type_hints(func, include_extras=True)
    sig = inspect.signature(func)
    params: list[Param] = []
    for i, (name, p) in enumerate(sig.parameters.items()):
        if i == 0:
            continue  # the context
        base, multiple, optional, opt = _unwrap(hints.get(name, str))
        positional = p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        required = p.default is inspect.Parameter.empty
        default = None if required else p.default
        if multiple and default is None:
            default = []
        params.append(Param(name, base, positional, required, default, multiple, opt))
    for p in params:
        if p.opt.needed_if is not None and not any(q.name == p.opt.needed_if[0] for q in params):
            raise TypeError(
                f"command {path!r}: {p.name} is needed_if a parameter it lacks: {p.opt.needed_if[0]!r}"
            )
    doc = inspect.cleandoc(func.__doc__ or "").strip()
    if not doc:
        raise TypeError(f"command {path!r}: the docstring is the help text and must not be empty")
    doc_lines = doc.splitlines()
    summary = doc_lines[0].strip()
    examples = [
        ln.strip()[len("Example:") :].strip() for ln in doc_lines if ln.strip().startswith("Example:")
    ]
    body = [ln for ln in doc_lines[1:] if not ln.strip().startswith("Example:")]
    description = "\n".join(body).strip()
    return Command(path, func, role, params, summary, description, examples, form=form, audited=audited)


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class CommandRegistry:
    """Every command the app offers, looked up by its words."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.groups: dict[str, str] = {}
        self.about: dict[str, str] = {}  # a group's plain-words explanation, for `help <group>`
        self.absent: dict[str, str] = {}  # a group left out of this registry -> why (said when it is typed)

    def include(self, group: CommandGroup) -> None:
        if group.name and (group.summary or group.name not in self.groups):
            # A group may be extended by another feature (`me interests`); an empty summary keeps the first.
            self.groups[group.name] = group.summary
        if group.name and group.about:
            self.about[group.name] = group.about
        for cmd in group.commands:
            if cmd.path in self.commands:
                raise ValueError(f"command {cmd.path!r} declared twice")
            if cmd.entry is not None and any(
                e.label.casefold() == cmd.entry.label.casefold() for e in self.entries()
            ):
                raise ValueError(f"two commands offer the menu entry {cmd.entry.label!r}; rename one")
            self.commands[cmd.path] = cmd

    def __iter__(self) -> typing.Iterator[Command]:
        return iter(sorted(self.commands.values(), key=lambda c: c.path))

    def entries(self, kind: type[Entry] = Entry) -> list[Entry]:
        """The platform menu entries commands declare (`entry=`), of one kind if given."""
        return [c.entry for c in self if isinstance(c.entry, kind)]

    def visible_to(self, role: Role) -> list[Command]:
        return [c for c in self if c.role <= role]

    def lookup(self, words: Sequence[str]) -> tuple[Command | None, int]:
        """The command named by the longest prefix of `words`, and how many words that took."""
        lowered = [w.lower() for w in words]
        for n in range(min(len(lowered), 3), 0, -1):
            cmd = self.commands.get(" ".join(lowered[:n]))
            if cmd is not None:
                return cmd, n
        return None, 0

    def suggest(self, words: Sequence[str], role: Role, n: int = 3) -> list[str]:
        names = [c.path for c in self.visible_to(role)]
        typed = " ".join(w.lower() for w in words[:2])
        first = words[0].lower() if words else ""
        found = difflib.get_close_matches(typed, names, n=n, cutoff=0.5)
        if not found:
            found = difflib.get_close_matches(first, names, n=n, cutoff=0.5)
        if not found and first in self.groups:
            found = [c for c in names if c.split(" ")[0] == first][:n]
        if not found:
            groups = {c.split(" ")[0] for c in names}
            for g in difflib.get_close_matches(first, sorted(groups), n=1, cutoff=0.6):
                found = [c for c in names if c.split(" ")[0] == g][:n]
        return found

    def read(self, line: str) -> list[Word]:
        """The words of a command line. Its length is checked first, so a huge line costs nothing; a line
        that cannot be used is refused with an example of the command it starts with. (Control characters
        are refused per field, naming it, when the words are converted.)"""
        problem = ""
        if len(line) > MAX_LINE:
            problem = (
                f"That command is {len(line):,} characters long; the limit is {MAX_LINE:,}. "
                "Shorten it, or share long text as a file or a link."
            )
        if problem:
            cmd, _ = self.lookup(line[:200].split()[:3])
            raise ArgumentError(problem + (f" {cmd.example_hint()}" if cmd is not None else ""))
        return split_words(line)

    def parse(self, text: str, role: Role, mentions: Mapping[str, Member] | None = None) -> Parsed:
        words = self.read(text)
        if not words:
            raise CommandError("Say a command, for example: help")
        cmd, used = self.lookup(words)
        if cmd is None:
            raise CommandError(self.unknown_message(words, role))
        return self.bind(cmd, words[used:], mentions or {}, line=text)

    def unknown_message(self, words: Sequence[str], role: Role) -> str:
        if words[0].lower() in self.absent:
            return self.absent[words[0].lower()]
        typed = " ".join(words[:2]) if words[0].lower() in self.groups else words[0]
        message = f"I don't know the command {_clip(typed)!r}."
        suggestions = self.suggest(words, role)
        if suggestions:
            message += " Did you mean: " + ", ".join(suggestions) + "?"
        return f"{message} {SAY_HELP}"

    def bind(
        self, cmd: Command, words: Sequence[str], mentions: Mapping[str, Member], line: str = ""
    ) -> Parsed:
        """Arguments from the words after the command's name. With the `line` they came from (see
        `read`), the last free-text parameter gets its part of the line exactly as typed."""
        raw: dict[str, Any] = {}
        positionals: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word.startswith("--") and len(word) > 2 and not getattr(word, "quote", ""):
                name, eq, value = word[2:].partition("=")
                param = cmd.param(name.replace("-", "_").lower())
                if param is None:
                    flags = [p.flag for p in cmd.params]
                    close = difflib.get_close_matches("--" + name, flags, n=1)
                    hint = f" Did you mean {close[0]}?" if close else ""
                    known = f" It takes: {', '.join(flags)}." if flags else " It takes no options."
                    raise ArgumentError(f"{cmd.path} has no option --{name}.{hint}{known}")
                if param.is_bool and not eq:
                    value = "yes"
                elif not eq:
                    if i + 1 >= len(words):
                        raise ArgumentError(f"{param.flag} needs a value. {cmd.example_hint()}")
                    i += 1
                    value = words[i]
                if param.multiple:
                    raw.setdefault(param.name, []).append(value)
                elif param.name in raw:
                    raise ArgumentError(f"{param.flag} was given twice; give it once.")
                else:
                    raw[param.name] = value
            else:
                positionals.append(word)
            i += 1
        pos_params = [p for p in cmd.params if p.positional and p.name not in raw]
        for n, p in enumerate(pos_params):
            if not positionals:
                break
            last = n == len(pos_params) - 1
            if last and p.base is str and not p.multiple:
                raw[p.name] = as_typed(positionals, line, keep_quotes=p.opt.verbatim)  # the rest of the line
                positionals = []
            elif p.multiple:
                raw[p.name] = positionals
                positionals = []
            else:
                raw[p.name] = positionals.pop(0)
        if positionals:
            raise ArgumentError(
                f"{cmd.path} did not expect {_clip(' '.join(positionals))!r}. Usage: {cmd.usage()}"
            )
        return self.convert(cmd, raw, mentions)

    def bind_values(self, cmd: Command, values: Mapping[str, Any], mentions: Mapping[str, Member]) -> Parsed:
        """Arguments from a submitted form or a button: names map straight to parameters."""
        raw: dict[str, Any] = {}
        for name, value in values.items():
            param = cmd.param(name)
            if param is None:
                raise ArgumentError(f"{cmd.path} has no field {name!r}.")
            if value is None or value == "" or value == []:
                continue
            raw[name] = value
        return self.convert(cmd, raw, mentions)

    def check_values(self, cmd: Command, values: Mapping[str, Any], mentions: Mapping[str, Member]) -> None:
        """Check some of a form's fields as submitting the whole form would, before the rest is filled in
        (a form in pages checks each page as it comes): the same ArgumentError, naming the field. A rule
        between two fields (`Opt(needed_if=...)`) is checked when both are among `values`; the rules in a
        command's handler, when the whole form is submitted."""
        args: dict[str, Any] = {}
        for name, value in values.items():
            param = cmd.param(name)
            if param is None:
                raise ArgumentError(f"{cmd.path} has no field {name!r}.")
            if value is None or value == "" or value == []:
                if param.required:
                    raise _missing(cmd, param)
                args[name] = None
                continue
            args[name] = param.convert(value, cmd, mentions)
        _check_needed(cmd, args)

    def convert(self, cmd: Command, raw: Mapping[str, Any], mentions: Mapping[str, Member]) -> Parsed:
        args: dict[str, Any] = {}
        for p in cmd.params:
            if p.name in raw:
                args[p.name] = p.convert(raw[p.name], cmd, mentions)
            elif p.required:
                raise _missing(cmd, p)
            else:
                args[p.name] = list(p.default) if p.multiple else p.default
        _check_needed(cmd, args)
        return Parsed(cmd, args, set(raw))


def _check_needed(cmd: Command, args: Mapping[str, Any]) -> None:
    """Each parameter declared `needed_if` another's value is given when that value is chosen (checked
    when both are among `args`)."""
    for p in cmd.params:
        if p.opt.needed_if is None or p.name not in args:
            continue
        other, value = p.opt.needed_if
        if other not in args or args[p.name] not in (None, "", []):
            continue
        chosen = args[other]
        chosen = chosen.value if isinstance(chosen, Enum) else chosen
        if chosen is not None and slug(str(chosen)) == slug(value):
            q = cmd.param(other)
            raise ArgumentError(
                f"{p.display()} is needed when {q.display() if q else other} is {value}: "
                f"{p.opt.help or p.label}.",
                field=p.name,
            )


def _missing(cmd: Command, p: Param) -> ArgumentError:
    return ArgumentError(
        f"Missing {p.display() if not p.positional else '<' + p.metavar.lower() + '>'}"
        f" ({p.opt.help or p.label}). {cmd.example_hint()}",
        field=p.name,
    )


def with_page(command_text: str, page: int) -> str:
    """The same command line asking for another page (for "Next page" buttons)."""
    words = command_text.split()
    if "--page" in words:
        i = words.index("--page")
        words = words[:i] + words[i + 2 :]
    return " ".join([w for w in words if not w.startswith("--page=")] + ["--page", str(page)])


def describe_commands(commands: Iterable[Command], groups: Mapping[str, str]) -> str:
    """README's command reference, in Markdown, from the declarations."""
    lines: list[str] = []
    current = None
    for cmd in sorted(commands, key=lambda c: c.path):
        if cmd.group != current:
            current = cmd.group
            title = groups.get(current, "")
            lines += ["", f"### {current}" + (f" — {title}" if title else ""), ""]
        who = (
            f" *({cmd.role.label})*"
            if cmd.role > Role.MEMBER
            else f" *({cmd.scope.label})*"
            if cmd.scope is not None
            else ""
        )
        lines.append(f"- `{cmd.usage()}`{who}: {cmd.summary}")
        for ex in cmd.examples:
            lines.append(f"  - e.g. `{ex}`")
    return "\n".join(lines).strip() + "\n"
