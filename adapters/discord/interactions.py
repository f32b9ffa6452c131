"""Discord interactions in, the core's replies out: slash commands, buttons, modals, autocomplete and the
message menu entries commands declare (bot.commands.MessageAction), all read raw from `on_interaction`
(no discord.py view or tree state), so a button or a one-page form keeps working after a restart.

Deadline: Discord wants an answer within 3 s. The core gets `DEFER_AFTER` (2 s); if it has not answered,
the interaction is deferred as private ("thinking…", only the member sees it) and the replies follow. A
public reply then replaces that placeholder. Private by default because most replies are (errors, lists,
confirmations); only a few (a shared practice, a forum setting) are for the whole channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import (
    CHOICE_VALUE_MAX,
    CHOICES_MAX,
    INTEGER,
    MESSAGE_MENU,
    SYNC_COMMAND,
    TEXT_OPTION,
    TOP_COMMAND,
    autocomplete_kind,
    command_line,
    command_paths,
    leaf_options,
    member_of,
    message_actions,
    option_values,
    place_of,
    plain_channels,
    platform_role,
    text_mentions,
)
from adapters.discord.forms import PendingForm, PendingForms, page_button, parse_page_button
from adapters.discord.messenger import outgoing
from adapters.discord.render import (
    HASHED_ID_PREFIX,
    clip,
    command_for_custom_id,
    form_pages,
    parse_modal_custom_id,
    submitted_values,
)
from bot.commands import OUT_OF_DATE, Command, Param, slug
from bot.errors import ArgumentError
from bot.messages import Incoming, Member, Reply, error
from bot.permissions import Role
from bot.ports import Core

log = logging.getLogger(__name__)

DEFER_AFTER = 2.0
SUGGEST_WITHIN = 2.0  # autocomplete: Discord's 3 s, less the way there and back


class Interactions:
    """Handles every interaction of one adapter; `sync` re-registers the commands (for /copbot-sync)."""

    def __init__(
        self, core: Core, client: Callable[[], discord.Client | None], sync: Callable[[], Awaitable[int]]
    ) -> None:
        self.core = core
        self._client = client
        self.sync = sync
        self.paths = command_paths(core.registry)
        self.message_actions = message_actions(core.registry)
        self.forms = PendingForms()
        self.defer_after = DEFER_AFTER
        self.suggest_within = SUGGEST_WITHIN

    async def handle(self, interaction: discord.Interaction) -> None:
        kind = interaction.type
        try:
            if kind is discord.InteractionType.autocomplete:
                await self._autocomplete(interaction)
            elif kind is discord.InteractionType.application_command:
                await self._command(interaction)
            elif kind is discord.InteractionType.component:
                await self._component(interaction)
            elif kind is discord.InteractionType.modal_submit:
                await self._modal(interaction)
        except Exception:  # noqa: BLE001 - the member gets a message, we get the traceback
            log.exception("Discord interaction %s (%s) failed", interaction.id, kind)
            await self._say(
                interaction,
                error(
                    "Something went wrong on our side. Please try again; if it keeps "
                    "happening, tell an admin."
                ),
            )

    # ---- translating in ----------------------------------------------------------------------------------

    def _incoming(self, i: discord.Interaction, **what: Any) -> Incoming:
        role = platform_role(i.user, i.permissions, self.core.settings.discord_coordinator_role)
        return Incoming(
            member=member_of(i.user),
            place=place_of(i.channel, i.channel_id, i.guild_id),
            platform_role=role,
            **what,
        )

    async def _command(self, i: discord.Interaction) -> None:
        data: dict[str, Any] = dict(i.data or {})
        if data.get("type") == MESSAGE_MENU:
            await self._message_action(i, data)
            return
        names, options = leaf_options(data)
        if names[0] == SYNC_COMMAND:
            await self._resync(i)
            return
        values, mentions = option_values(data, options)
        if names[0] == TOP_COMMAND and len(names) == 1:
            text = plain_channels(str(values.get(TEXT_OPTION) or ""))
            await self._run(i, self._incoming(i, text=text, mentions=text_mentions(text, self._client())))
            return
        path = self.paths.get(tuple(names))
        if path is None:
            await self._say(
                i,
                error(
                    f"/{' '.join(names)} is out of date here; an admin can refresh the commands "
                    f"with /{SYNC_COMMAND}."
                ),
            )
            return
        if not values:  # the same as typing the bare command (a form=True command opens its form)
            await self._run(i, self._incoming(i, text=path))
            return
        line = command_line(path, values, {str(o["name"]): int(o.get("type", 0)) for o in options})
        await self._run(i, self._incoming(i, text=line, command=path, values=values, mentions=mentions))

    async def _component(self, i: discord.Interaction) -> None:
        custom_id = str((i.data or {}).get("custom_id", ""))
        page = parse_page_button(custom_id)
        if page is not None:
            pending = self.forms.get(page[0], i.user.id)
            if pending is None:
                await self._say(
                    i, error("This form has expired (forms are kept for 30 minutes). Run the command again.")
                )
                return
            await i.response.send_modal(pending.modal(min(page[1], pending.pages)))
            return
        command = command_for_custom_id(custom_id)
        if command is None and custom_id.startswith(HASHED_ID_PREFIX):
            command = await self.core.button_command(custom_id)
        if command is None:
            await self._say(i, error(OUT_OF_DATE))
            return
        await self._run(i, self._incoming(i, text=command))

    async def _modal(self, i: discord.Interaction) -> None:
        data: dict[str, Any] = dict(i.data or {})
        parsed = parse_modal_custom_id(str(data.get("custom_id", "")))
        cmd = self.core.registry.commands.get(parsed[2]) if parsed else None
        if parsed is None or cmd is None:
            await self._say(i, error("That form is out of date. Run the command again."))
            return
        key, page, _ = parsed
        submitted = data.get("components") or []
        pending = self.forms.get(key, i.user.id)
        if pending is None:  # a restart, or an old form: fine when the submission is the whole form
            form = cmd.to_form()
            given = submitted_values(form, submitted)
            if len(form_pages(form)) != 1 or any(f.required and f.name not in given for f in form.fields):
                await self._say(
                    i,
                    error(
                        "This form has expired (the bot restarted or 30 minutes passed). "
                        "Please start it again."
                    ),
                )
                return
            pending = PendingForm(key, i.user.id, form)
        given = submitted_values(pending.form, submitted)
        pending.values.update(given)
        if pending.pages > 1 and await self._refused_page(i, pending, cmd, page, given):
            return
        pending.done.add(page)
        following = pending.next_page()
        if following is not None:
            view = discord.ui.View(timeout=None)
            view.add_item(page_button(pending.key, following, "Continue"))
            view.stop()
            await i.response.send_message(
                f"Page {page} of {pending.pages} is saved. Continue with the next page.",
                view=view,
                ephemeral=True,
            )
            return
        incoming = self._incoming(
            i,
            command=pending.form.command,
            values=pending.values_to_submit(),
            mentions=pending.mentions,
            link=pending.link,
        )
        await self._run(i, incoming, pending)

    async def _refused_page(
        self, i: discord.Interaction, pending: PendingForm, cmd: Command, page: int, given: dict[str, Any]
    ) -> bool:
        """One page of a form in pages, checked as soon as it is submitted with the core's own rules for
        its fields: a mistake is named now, with a *Fix it* button reopening this page as filled in, rather
        than after the last page. True when the page was refused (it stays to do)."""
        try:
            self.core.registry.check_values(cmd, given, pending.mentions)
        except ArgumentError as exc:
            label = pending.label_of(exc.field or "")
            reply = replace(
                error(f"Please fix “{label}” on page {page} of {pending.pages}: {exc}"),
                error_field=exc.field,
            )
            await self._send(
                i,
                reply,
                first=True,
                deferred=False,
                extra=page_button(pending.key, pending.page_of(exc.field or "") or page, "Fix it"),
            )
            return True
        return False

    async def _message_action(self, i: discord.Interaction, data: dict[str, Any]) -> None:
        """A message menu entry: its command gets the message (author, text, link) and decides. For
        `practice from-message`, your own message opens the practice form; someone else's a proposal, and
        the core asks the author by DM how to be credited, saving nothing until they answer."""
        entry = self.message_actions.get(str(data.get("name", "")))
        if entry is None:
            await self._say(
                i,
                error(
                    "That menu entry is out of date here; an admin can refresh the commands "
                    f"with /{SYNC_COMMAND}."
                ),
            )
            return
        target = str(data.get("target_id", ""))
        message = ((data.get("resolved") or {}).get("messages") or {}).get(target) or {}
        text = str(message.get("content") or "").strip()
        link = f"https://discord.com/channels/{i.guild_id or '@me'}/{message.get('channel_id', i.channel_id)}/{target}"
        user = message.get("author") or {}
        token = f"<@{user.get('id')}>"
        author = Member(
            "discord", str(user.get("id", "")), str(user.get("global_name") or user.get("username") or "")
        )
        await self._run(
            i,
            self._incoming(
                i,
                command=entry.command,
                mentions={token: author},
                link=link,
                values={"author": token, "text": text[:4000], "link": link},
            ),
        )

    async def _resync(self, i: discord.Interaction) -> None:
        """/copbot-sync: guild administrators, and copbot's own admins, register the commands again."""
        allowed = platform_role(i.user, i.permissions, "") is Role.ADMIN
        if not allowed:
            probe = await self.core.dispatch(self._incoming(i, command="audit list", values={"limit": 1}))
            allowed = bool(probe) and not probe[0].is_error
        if not allowed:
            await self._say(i, error(f"Only admins can use /{SYNC_COMMAND}."))
            return
        await i.response.defer(ephemeral=True, thinking=True)
        count = await self.sync()
        await i.followup.send(f"Registered {count} commands again.", ephemeral=True)

    async def _autocomplete(self, i: discord.Interaction) -> None:
        """Suggestions while a member types an option: command paths for `/cop`, a declared list of choices,
        or what a feature supplies for the option's kind (`Opt(suggest=...)`: tags, practices, topics, ...).
        Discord waits 3 s for these and cannot be put off, so the core gets `suggest_within`; later, the
        member sees no suggestions this time rather than an error."""
        data: dict[str, Any] = dict(i.data or {})
        names, options = leaf_options(data)
        focused = next((o for o in options if o.get("focused")), None)
        typed = str(focused.get("value") or "") if focused else ""
        choices: list[app_commands.Choice[Any]] = []
        if focused is not None and names[0] == TOP_COMMAND:
            choices = self._command_choices(typed)
        elif focused is not None:
            cmd = self.core.registry.commands.get(self.paths.get(tuple(names), ""))
            param = cmd.param(str(focused["name"])) if cmd else None
            if param is not None:
                try:
                    choices = await asyncio.wait_for(
                        self._suggestions(param, typed, int(focused.get("type") or 0), i.user),
                        self.suggest_within,
                    )
                except TimeoutError:
                    log.warning(
                        "suggestions for %s %s took too long; none shown", cmd and cmd.path, param.name
                    )
        await i.response.autocomplete(choices[:CHOICES_MAX])

    async def _suggestions(
        self, param: Param, typed: str, option_type: int, user: discord.abc.User
    ) -> list[app_commands.Choice[Any]]:
        """For a list (comma-separated) the last item is completed and the ones before it are kept."""
        head, _, last = typed.rpartition(",") if param.multiple else ("", "", typed)
        taken = {slug(v) for v in head.split(",") if v.strip()}
        if param.choices:
            wanted = slug(last)
            pairs = [(c, c) for c in param.choices if c.startswith(wanted) and c not in taken]
            pairs += [
                (c, c) for c in param.choices if wanted in c and not c.startswith(wanted) and c not in taken
            ]
        elif (kind := autocomplete_kind(param)) is not None:
            pairs = await self.core.suggest(kind, last.strip(), member_of(user), limit=CHOICES_MAX)
        else:
            return []
        choices: list[app_commands.Choice[Any]] = []
        for label, value in pairs:
            if head.strip():
                label, value = f"{head.strip()}, {label}", f"{head.strip()}, {value}"
            if option_type == INTEGER and value.isdigit():
                choices.append(app_commands.Choice(name=clip(label, 100), value=int(value)))
            elif option_type != INTEGER and len(value) <= CHOICE_VALUE_MAX:
                choices.append(app_commands.Choice(name=clip(label, 100), value=value))
        return choices

    def _command_choices(self, typed: str) -> list[app_commands.Choice[Any]]:
        """`/cop command:` suggestions: command paths matching what is typed, then its usage once named."""
        text = " ".join(typed.split()).lower()
        words = text.split()
        cmd, used = self.core.registry.lookup(words) if words else (None, 0)
        if cmd is not None and (len(words) > used or typed.endswith(" ")):
            return [
                app_commands.Choice(name=clip(f"{typed.strip()}   ({cmd.usage()})", 100), value=typed[:100])
            ]
        found = [c for c in self.core.registry if c.path.startswith(text)] or [
            c for c in self.core.registry if text in c.path
        ]
        return [
            app_commands.Choice(name=clip(f"{c.path} — {c.summary}", 100), value=c.path) for c in found[:25]
        ]

    # ---- answering ---------------------------------------------------------------------------------------

    async def _run(
        self, i: discord.Interaction, incoming: Incoming, pending: PendingForm | None = None
    ) -> None:
        """Dispatch; defer (privately) if the core takes longer than `defer_after`; then answer."""
        task = asyncio.create_task(self.core.dispatch(incoming))
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        deferred = not done
        if deferred:
            await i.response.defer(ephemeral=True, thinking=True)
        replies = await task or [Reply("Done.")]
        if pending is not None:
            replies = self._after_submit(pending, replies)
        first = replies[0]
        if first.form is not None and not deferred:
            opened = self.forms.open(i.user.id, first.form, link=incoming.link)
            await i.response.send_modal(opened.modal(1))
            return
        for n, reply in enumerate(replies):
            extra: discord.ui.Button[Any] | None = None
            if (
                reply.form is not None
            ):  # too late for a modal (deferred, or not the first reply): a button opens it
                opened = self.forms.open(i.user.id, reply.form, link=incoming.link)
                extra = page_button(opened.key, 1, "Open the form")
            elif pending is not None and reply.is_error and reply.error_field:
                extra = page_button(pending.key, pending.page_of(reply.error_field) or 1, "Fix it")
            await self._send(i, reply, first=n == 0, deferred=deferred, extra=extra)

    def _after_submit(self, pending: PendingForm, replies: list[Reply]) -> list[Reply]:
        """A form was submitted: on an error about one field, keep the values so "Fix it" reopens that page
        filled in; otherwise the form is finished."""
        first = replies[0]
        page = pending.page_of(first.error_field) if first.is_error and first.error_field else None
        if page is None:
            self.forms.drop(pending.key)
            return replies
        self.forms.keep(pending)  # also a one-page form submitted after a restart, so "Fix it" can reopen it
        pending.done.discard(page)
        label = pending.label_of(first.error_field or "")
        return [replace(first, text=f"Please fix “{label}”: {first.text}")] + replies[1:]

    async def _send(
        self,
        i: discord.Interaction,
        reply: Reply,
        *,
        first: bool,
        deferred: bool,
        extra: discord.ui.Button[Any] | None = None,
    ) -> None:
        kwargs, private = await outgoing(self.core, reply)
        if extra is not None:
            view = kwargs.get("view") or discord.ui.View(timeout=None)
            view.add_item(extra)
            view.stop()
            kwargs["view"] = view
        if first and not deferred:
            await i.response.send_message(**kwargs, ephemeral=private)
            return
        if first and not private:
            await i.delete_original_response()  # the private "thinking…" placeholder; this reply is public
        await i.followup.send(**kwargs, ephemeral=private, wait=True)

    async def _say(self, i: discord.Interaction, reply: Reply) -> None:
        """One reply, whatever state the interaction is in (used for errors)."""
        try:
            if i.response.is_done():
                kwargs, private = await outgoing(self.core, reply)
                await i.followup.send(**kwargs, ephemeral=private, wait=True)
            else:
                await self._send(i, reply, first=True, deferred=False)
        except discord.HTTPException:
            log.warning("could not answer Discord interaction %s", i.id)
