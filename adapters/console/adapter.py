"""The console adapter: try every feature locally, interactively or from piped input.

Interactive: a prompt with line editing and history (readline), forms asked field by field, numbered
options you can pick by typing their number. Piped: one command per line, each reply printed, then what
the command made due (a DM, a post in a thread), no prompt; at the end of input what is still due is
delivered and printed, and the exit code is 0. Like every adapter it only translates: text in, replies
out; `settle` (the scheduler's) is how it asks for due posts to go out before it goes on.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from bot.commands import SAY_HELP
from bot.members.files import member_folder
from bot.messages import (
    Choice,
    FieldKind,
    Form,
    Incoming,
    Member,
    Place,
    Reply,
    list_head,
    plain_name,
    render_members,
)
from bot.messenger import Posted, PostTags, render_times

PLATFORM = "console"
Dispatch = Callable[[Incoming], Awaitable[list[Reply]]]
RoleSwitch = Callable[[Member, str], Awaitable[str | None]]
Settle = Callable[[], Awaitable[None]]
_CANCEL = object()
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]+)")

BANNER = """copbot console: you are {name}. Type help for commands, a number to pick an option,
:as NAME [ROLE] to become someone else, :quit (or Ctrl-D) to leave."""


def console_member(name: str) -> Member:
    return Member(PLATFORM, name, name)


def console_name(member: Member) -> str:
    """How the console shows a member: as they are mentioned here (@ana), anyone else by name."""
    return f"@{member.user_id}" if member.platform == PLATFORM else plain_name(member)


class ConsoleAdapter:
    def __init__(
        self,
        dispatch: Dispatch,
        *,
        user: str,
        export_dir: Path,
        timezone: str = "UTC",
        switch_role: RoleSwitch | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
        history_file: Path | None = None,
        settle: Settle | None = None,
    ) -> None:
        self.dispatch = dispatch
        self.settle = settle
        self.member = console_member(user)
        self.export_dir = export_dir
        self.switch_role = switch_role
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        self.history_file = history_file
        self.place = Place(PLATFORM, "console")
        self.last_choices: list[Choice] = []
        self._readline: Any = None
        self.timezone = timezone
        self.messenger = ConsoleMessenger(self)
        self._prompt: str | None = None  # set while waiting at an interactive prompt

    # ---- input -------------------------------------------------------------------------------
    def _setup_readline(self) -> None:
        if not self.interactive:
            return
        try:
            import readline
        except ImportError:  # pragma: no cover - Windows without pyreadline
            return
        self._readline = readline
        if self.history_file is not None:
            self.history_file.parent.mkdir(parents=True, exist_ok=True)
            try:
                readline.read_history_file(self.history_file)
            except OSError:
                pass
            readline.set_history_length(1000)

    def _save_history(self) -> None:
        if self._readline is not None and self.history_file is not None:
            try:
                self._readline.write_history_file(self.history_file)
            except OSError:
                pass

    async def _read(self, prompt: str) -> str | None:
        loop = asyncio.get_running_loop()
        if self.interactive and self.stdin is sys.stdin:
            self._prompt = prompt
            try:
                return await loop.run_in_executor(None, input, prompt)  # readline editing and history
            except EOFError:
                return None
            finally:
                self._prompt = None
        if self.interactive:
            self.stdout.write(prompt)
            self.stdout.flush()
        line = await loop.run_in_executor(None, self.stdin.readline)
        return None if line == "" else line.rstrip("\r\n")

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def announce(self, text: str) -> None:
        """Print something that arrived on its own (a scheduled post) without mangling a half-typed line:
        clear the prompt line, print, then draw the prompt and what was typed so far again."""
        if self._prompt is None or self._readline is None:
            self.say(text)
            return
        typed = self._readline.get_line_buffer()
        self.stdout.write("\r\x1b[K" + text + "\n" + self._prompt + typed)
        self.stdout.flush()

    # ---- the loop ----------------------------------------------------------------------------
    async def run(self) -> int:
        self._setup_readline()
        if self.interactive:
            self.say(BANNER.format(name=self.member.name))
        try:
            while True:
                line = await self._read(f"{self.member.name}> ")
                if line is None:
                    break
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if line in (":quit", ":q", "quit", "exit"):
                    break
                await self.handle_line(line)
                if not self.interactive:
                    await self._settle()  # piped: what this command made due is printed before the next
            await self._settle()  # what is due when the session ends is delivered in it, not the next one
        finally:
            self._save_history()
        if self.interactive:
            self.say("Bye.")
        return 0

    async def _settle(self) -> None:
        if self.settle is not None:
            await self.settle()

    async def handle_line(self, line: str) -> None:
        if line.startswith(":"):
            await self._meta(line)
            return
        if line.isdigit():
            n = int(line)
            if not self.last_choices:
                self.say(f"Error: there are no numbered options to pick right now. {SAY_HELP}")
                return
            if not 1 <= n <= len(self.last_choices):
                self.say(f"Error: pick an option from 1 to {len(self.last_choices)}.")
                return
            line = self.last_choices[n - 1].command
            self.say(f"> {line}")
        await self.send(
            Incoming(member=self.member, place=self.place, text=line, mentions=self.mentions(line))
        )

    def mentions(self, text: str) -> dict[str, Member]:
        return {f"@{m}": console_member(m) for m in _MENTION.findall(text)}

    async def send(self, incoming: Incoming) -> None:
        for reply in await self.dispatch(incoming):
            await self.show(reply)

    async def _meta(self, line: str) -> None:
        words = line[1:].split()
        if words and words[0] == "as" and len(words) in (2, 3):
            self.member = console_member(words[1].lstrip("@"))
            note = ""
            if len(words) == 3 and self.switch_role is not None:
                problem = await self.switch_role(self.member, words[2])
                if problem:
                    self.say(f"Error: {problem}")
                    return
                note = f" ({words[2]})"
            self.say(f"You are now {self.member.name}{note}.")
            return
        self.say("Console commands: :as NAME [member|coordinator|admin], :quit. Bot commands: help")

    # ---- output ------------------------------------------------------------------------------
    async def show(self, reply: Reply) -> None:
        self.say(self.render(reply))
        for attachment in reply.attachments:
            folder = member_folder(self.export_dir, self.member)  # each member's own; `me forget` deletes it
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / Path(attachment.filename).name
            path.write_bytes(attachment.content)
            self.say(f"Saved {attachment.filename} to {path}")
        if reply.form is not None:
            if self.interactive:
                await self.fill_form(reply.form)
            else:
                self.say(self.form_hint(reply.form))

    def render(self, reply: Reply) -> str:
        lines: list[str] = []
        if reply.text:
            lines.append(("Error: " if reply.is_error else "") + render_times(reply.text, self.timezone))
        for label, value in reply.fields:
            lines.append(f"  {label}: {value}")
        choices: list[Choice] = []
        for n, item in enumerate(reply.items, 1):
            lines.append("")
            lines.append(list_head(n, item, gap="  "))
            for body_line in item.body.splitlines():
                lines.append(f"   {body_line}")
            for label, value in item.fields:
                lines.append(f"   {label}: {value}")
            if item.choices:
                labels = []
                for c in item.choices:
                    choices.append(c)
                    labels.append(f"({len(choices)}) {c.label}")
                lines.append("   " + "  ".join(labels))
        for chart in reply.charts:  # a chart is its table here
            lines.append("")
            lines.append(chart.title)
            lines.extend("   " + row for row in chart.text_table().splitlines())
        if reply.choices:
            labels = []
            for c in reply.choices:
                choices.append(c)
                labels.append(f"({len(choices)}) {c.label}")
            lines.append("Options: " + "  ".join(labels))
        if reply.footer:
            lines.append(reply.footer)
        self.last_choices = choices
        return render_members(render_times("\n".join(lines), self.timezone), console_name)

    def form_hint(self, form: Form) -> str:
        lines = [f"{form.title}: give the fields as options on one line."]
        for f in form.fields:
            req = "required" if f.required else "optional"
            extra = f" ({'|'.join(f.choices)})" if f.choices else ""
            lines.append(f"  --{f.name.replace('_', '-')}{extra}: {f.help or f.label} [{req}]")
        example = " ".join(f'--{f.name.replace("_", "-")} "..."' for f in form.fields if f.required)
        given = " ".join(str(v) for v in form.fixed.values())  # fixed values are positional (whose message)
        lines.append(" ".join(part for part in ("Example:", form.command, given, example) if part))
        return "\n".join(lines)

    async def fill_form(self, form: Form) -> None:
        """Ask for each field in turn, then submit. A field the core rejects is asked again; the other
        answers are kept. Enter keeps the shown value or skips an optional field."""
        self.say(
            f"{form.title} — Enter skips an optional field (or keeps the shown value), '-' clears it, "
            ":cancel stops."
        )
        values: dict[str, Any] = {}
        to_ask = list(form.fields)
        while True:
            for f in to_ask:
                answer = await self._ask_field(f, values.get(f.name, form.prefilled.get(f.name, f.initial)))
                if answer is _CANCEL:
                    self.say("Cancelled; nothing was saved.")
                    return
                if answer is None:
                    values.pop(f.name, None)
                else:
                    values[f.name] = answer
            replies = await self.dispatch(
                Incoming(
                    member=self.member,
                    place=self.place,
                    command=form.command,
                    values={**values, **form.fixed},
                )
            )
            failed = [r for r in replies if r.is_error]
            for reply in replies:
                await self.show(reply)
            if not failed:
                return
            wrong = [f for f in form.fields if f.name == failed[0].error_field]
            if wrong:
                self.say("Fix that field; your other answers are kept.")
                to_ask = wrong
            else:
                self.say("Your answers are kept; Enter accepts each one, or change what needs changing.")
                to_ask = list(form.fields)

    async def _ask_field(self, f: Any, initial: Any) -> Any:
        shown = ", ".join(initial) if isinstance(initial, list) else (initial or "")
        head = f"{f.label}{' (required)' if f.required else ''}"
        if f.help and f.help.lower() != f.label.lower():
            head += f" — {f.help}"
        self.say(head)
        if f.choices:
            self.say(
                "   "
                + "  ".join(f"{i}) {c}" for i, c in enumerate(f.choices, 1))
                + ("   (several: 1,3)" if f.kind is FieldKind.MULTI_CHOICE else "")
            )
        while True:
            answer = await self._read(f"  [{shown}]: " if shown else "  : ")
            if answer is None or answer.strip() == ":cancel":
                return _CANCEL
            answer = answer.strip()
            if not answer:
                if initial not in (None, "", []):
                    return initial
                if f.required:
                    self.say("  This field is required.")
                    continue
                return None
            if answer == "-" and not f.required:
                return None  # clear a prefilled optional value
            if f.choices:
                picked = self._pick(answer, f.choices, f.kind is FieldKind.MULTI_CHOICE)
                if picked is None:
                    self.say(f"  Pick a number from 1 to {len(f.choices)} or type a choice.")
                    continue
                return picked
            return answer

    @staticmethod
    def _pick(answer: str, choices: tuple[str, ...], multiple: bool) -> Any:
        picked = []
        for part in [p.strip() for p in answer.split(",") if p.strip()] if multiple else [answer]:
            if part.isdigit() and 1 <= int(part) <= len(choices):
                picked.append(choices[int(part) - 1])
            else:
                picked.append(part)  # the core validates names and explains a bad one
        return picked if multiple else (picked[0] if picked else None)


class ConsoleMessenger:
    """The console's outbound side: scheduled posts, threads and DMs appear in the session as they happen."""

    platform = PLATFORM

    def __init__(self, console: ConsoleAdapter) -> None:
        self.console = console
        self._n = 0

    def _show(self, where: str, reply: Reply) -> Posted:
        self._n += 1
        body = self.console.render(reply)
        self.console.announce(f"[{where}] " + body.replace("\n", "\n    "))
        return Posted(PLATFORM, where, f"c{self._n}", None, None)

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        return self._show(f"#{channel_id}", reply)  # a console channel has no tags

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        self._n += 1
        thread = f"thread-{self._n}"
        self.console.announce(f"[#{channel_id} › new thread: {render_members(title, console_name)}]")
        posted = self._show(f"#{channel_id} › {thread}", reply)
        return Posted(PLATFORM, channel_id, posted.message_id, thread, None)

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        posted = self._show(f"#{channel_id} › {thread_id}", reply)
        return Posted(PLATFORM, channel_id, posted.message_id, thread_id, None)

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        return self._show(f"DM to {user_id}", reply)
