"""Takes an `Incoming`, runs the command it names, returns `Reply`s. Knows no platform."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import Any

from bot.commands import OUT_OF_DATE, SAY_HELP, Command, CommandRegistry
from bot.context import Context, Services, write_audit
from bot.errors import ArgumentError, CommandError
from bot.members import guests
from bot.members.roles import cached_role, remembered_role
from bot.messages import Incoming, Member, Reply, error, mention
from bot.permissions import Role

log = logging.getLogger(__name__)


def _as_replies(result: Any) -> list[Reply]:
    if result is None:
        return []
    if isinstance(result, Reply):
        return [result]
    if isinstance(result, str):
        return [Reply(result)]
    return [r if isinstance(r, Reply) else Reply(str(r)) for r in result]


def refusal(cmd: Command, role: Role, member: Member) -> str:
    article = "an" if role == Role.ADMIN else "a"
    return (
        f"Only {cmd.role.label}s can use {cmd.path}; you are {article} {role.label}. "
        f"An admin can give you the role with: role grant {mention(member)} {cmd.role.label}"
    )


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def registry(self) -> CommandRegistry:
        return self.services.registry

    async def role_for(self, incoming: Incoming) -> Role:
        settings = self.services.settings
        hint = incoming.platform_role
        stored = remembered_role(self.services.store.engine, incoming.member, hint)
        if stored is None:
            stored = await self.services.store.run(lambda s: cached_role(s, settings, incoming.member, hint))
        return stored if hint is None else max(stored, hint)

    def _served(self, value: Any) -> Any:
        """A member named by a stable id without a workspace (`slack:U123`, as buttons made before ids
        carried one) is that user in the workspace this installation serves, like COPBOT_ADMINS entries."""
        if isinstance(value, list):
            return [self._served(v) for v in value]
        if isinstance(value, Member) and not value.workspace:
            return replace(value, workspace=self.services.settings.workspace(value.platform))
        return value

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Run one request. Member mistakes become a clear message; our bugs are logged, not shown."""
        try:
            async with self.services.foreground.serving():
                return await self._handle(incoming)
        except ArgumentError as exc:
            return [Reply(str(exc), is_error=True, error_field=exc.field)]
        except CommandError as exc:
            return [error(str(exc))]
        except Exception:
            ref = secrets.token_hex(3)
            # The command's name only: what a member typed can be theirs to keep out of logs.
            named = incoming.command or " ".join(incoming.text.split()[:2])[:60]
            log.exception("command failed (ref %s): %s", ref, named)
            return [
                error(
                    f"Something went wrong on our side and nothing was changed. "
                    f"Please try again; if it keeps happening, tell an admin (ref {ref})."
                )
            ]

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        role = await self.role_for(incoming)
        ctx = Context(incoming=incoming, role=role, services=self.services)
        if incoming.command is not None:
            cmd = self.registry.commands.get(incoming.command)
            if cmd is None:
                raise CommandError(OUT_OF_DATE)
            if cmd.role > role:
                raise CommandError(refusal(cmd, role, incoming.member))
            parsed = self.registry.bind_values(cmd, incoming.values or {}, incoming.mentions)
            detail = ", ".join(f"{k}={v}" for k, v in (incoming.values or {}).items())
        else:
            words = self.registry.read(incoming.text)
            if not words:
                raise CommandError(f"Say a command. {SAY_HELP}")
            cmd, used = self.registry.lookup(words)
            if cmd is None:
                raise CommandError(self.registry.unknown_message(words, role))
            if cmd.role > role:
                raise CommandError(refusal(cmd, role, incoming.member))
            rest = words[used:]
            if cmd.form and not rest:
                return [Reply(f"{cmd.summary} Fill in the form.", form=cmd.to_form())]
            parsed = self.registry.bind(cmd, rest, incoming.mentions, line=incoming.text)
            detail = " ".join(rest)
        if incoming.guest and cmd.host_only and await self.services.store.run(guests.host_only):
            raise CommandError(guests.REFUSED.format(path=cmd.path))
        args = {name: self._served(value) for name, value in parsed.args.items()}
        if cmd.scope is not None:
            await cmd.scope.allows(ctx, args[cmd.scope.param])
        result = await cmd.func(ctx, **args)
        if cmd.audited:
            member = incoming.member
            await self.services.store.run(lambda s: write_audit(s, member, cmd.path, detail))
        return _as_replies(result)
